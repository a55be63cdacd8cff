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

func TestObservedID(t *testing.T) {
	a, err := Parse(observed)
	if err != nil {
		t.Fatal(err)
	}
	if a.Index != 0x11 || a.Legacy {
		t.Fatalf("index %#x legacy %v, want 0x11 false", a.Index, a.Legacy)
	}
	if got := hex.EncodeToString(a.Invocation.Bytes()); len(got) != 48 {
		t.Fatalf("invocation id bytes %s", got)
	}
	if got := Encode(a.Invocation, 17); got != observed {
		t.Fatalf("Encode = %s, want %s", got, observed)
	}
	if len(observed) != 44 {
		t.Fatalf("observed id has %d chars", len(observed))
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
