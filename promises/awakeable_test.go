package promises

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
)

// observed is the awakeable id PROTOCOL.md §2.4 saw the official TypeScript SDK hand out (signal 17).
const observed = "sign_1kkR97i6AYm7JBi95f9pa5tNJjqSKaEKkAAAAEQ"

// officialIDs were handed out by the official TypeScript SDK 1.17.2 under restate-server 1.7.12:
// each handler returned ctx.awakeable().id (the first awakeable, signal 17) and
// ctx.request().id, which the x-restate-id header confirmed. raw is the invocation id's 24 bytes,
// from the awakeable payload decoded with Python's base64 module.
var officialIDs = []struct {
	awakeable, invocation, raw string
}{
	{observed, "", "92447dee2e80626ec9062f797fda5ae6d3498ea48a6842a4"},
	{"sign_1w0XzmgURGXi5pd_w2FOziCySs9gtMvmKAAAAEQ", "inv_1ajhg7OHrqoP4eeP5x1VDdknw4fXI42Vol", "c345f39a05111978b9a5dff0d853b3882c92b3d82d32f98a"},
	{"sign_1QL5HuZAMBn6I_CB3g1TEFrs34iv5LBwyAAAAEQ", "inv_1aOOTeGELP6U1wyuxOZyjwJjg75MTEAnOg", "40be47b9900c067e88fc20778354c416bb37e22bf92c1c32"},
	{"sign_1JLNrxiNTeogz-gVNNaK_RdM2tAJiqrCnAAAAEQ", "inv_1bIt27e8ImUs56qscZrdXbXhNwesLiRdyH", "24b36bc623537a8833fa054d35a2bf45d336b40262aab0a7"},
	{"sign_1_HkLWEhiS_WYUrMPYbg2l4fEaiIGNz-fAAAAEQ", "inv_1l3Hc716hrBy4QuFuMs3UZDMdiSM4Y5LUQ", "fc790b5848624bf59852b30f61b8369787c46a2206373f9f"},
	{"sign_1SbnB83OG6eVQn31Shc1M2MfrNxU9ui5IAAAAEQ", "inv_1jJOFEtKQPi12ccNJ9clbQ6hTEip5PndVS", "49b9c1f37386e9e5509f7d5285cd4cd8c7eb37153dba2e48"},
	{"sign_11rzsPGsp1y5UOkI6HwzmLPezBdXznsT7AAAAEQ", "inv_141kvpM925267F4VFe3ukiqGUseCtU8G6o", "d6bcec3c6b29d72e543a423a1f0ce62cf7b305d5f39ec4fb"},
	{"sign_1zonc-Kgv6m4s0vO9o9C7vX2f0nbjlBBsAAAAEQ", "inv_19woBo43XaSW3hUKrDtc5FtVf4UkK3s4TW", "ce89dcf8a82fea6e2cd2f3bda3d0bbbd7d9fd276e394106c"},
}

// TestOfficialIDs decodes ids the official SDK produced into the invocation the official server
// named, and encodes them back byte for byte.
func TestOfficialIDs(t *testing.T) {
	for _, v := range officialIDs {
		t.Run(v.awakeable, func(t *testing.T) {
			a, err := Parse(v.awakeable)
			if err != nil {
				t.Fatal(err)
			}
			if a.Index != 17 || a.Legacy {
				t.Errorf("index %d legacy %v, want 17 (the first awakeable's signal) false", a.Index, a.Legacy)
			}
			if got := hex.EncodeToString(a.Invocation.Bytes()); got != v.raw {
				t.Errorf("invocation bytes %s, want %s", got, v.raw)
			}
			if v.invocation != "" && a.Invocation.String() != v.invocation {
				t.Errorf("invocation %s, want %s (the official server's x-restate-id)", a.Invocation, v.invocation)
			}
			if got := Encode(a.Invocation, 17); got != v.awakeable {
				t.Errorf("Encode = %s, want %s", got, v.awakeable)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		inv    ids.InvocationID
		index  uint32
		legacy bool
	}{
		{"zero", ids.InvocationID{}, 0, false},
		{"first awakeable", ids.NewInvocationID(42, [16]byte{1, 2, 3}), 17, false},
		{"max", ids.InvocationID{PartitionKey: ^ids.PartitionKey(0), UUID: [16]byte{0: 0xff, 15: 0xff}}, ^uint32(0), false},
		{"legacy", ids.NewInvocationID(7, [16]byte{9}), 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := AwakeableID{Invocation: tt.inv, Index: tt.index, Legacy: tt.legacy}
			s := in.String()
			wantPrefix := "sign_1"
			if tt.legacy {
				wantPrefix = "prom_1"
			}
			if !strings.HasPrefix(s, wantPrefix) || len(s) != 44 || strings.Contains(s, "=") {
				t.Fatalf("bad form %q", s)
			}
			out, err := Parse(s)
			if err != nil || out != in {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", s, out, err, in)
			}
		})
	}
}

func TestParseAcceptsPadding(t *testing.T) {
	a, err := Parse(observed + "==")
	if err != nil || a.Index != 17 {
		t.Fatalf("padded: %+v, %v", a, err)
	}
	if _, err := Parse(observed + "="); err == nil {
		t.Fatal("half padding accepted")
	}
}

func TestParseErrors(t *testing.T) {
	valid := strings.TrimPrefix(observed, "sign_1")
	tests := []struct {
		in     string
		reason error
		msg    string
	}{
		{"sign_1bogus", ErrCodec, "bad awakeable id 'sign_1bogus': base64 decode error"},
		{"", ErrFormat, "bad awakeable id '': bad format"},
		{"sign1" + valid, ErrFormat, ""},
		{"inv_1" + valid, ErrTypeMismatch, "id doesn't match the expected type"},
		{"awk_1" + valid, ErrUnrecognizedType, "unrecognized resource type: awk"},
		{"sign_2" + valid, ErrVersion, "unrecognized codec version"},
		{"sign_", ErrVersion, ""},
		{"sign_1", ErrLength, "bad length"},
		{"sign_1" + valid[:len(valid)-4], ErrLength, ""},
		{"sign_1" + valid + "AAAA", ErrLength, ""},
		{"sign_1" + valid[:len(valid)-1] + "R", ErrCodec, ""},    // non-zero trailing bits
		{"sign_1" + valid[:10] + "+" + valid[11:], ErrCodec, ""}, // standard, not URL, alphabet
		{"sign_1" + valid[:10] + "\n" + valid[10:], ErrCodec, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if !errors.Is(err, ErrBadAwakeableID) || !errors.Is(err, tt.reason) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "bad awakeable id '"+tt.in+"': ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("message %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}
