package ids

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// officialVectors were produced by the official restate-server 1.7.12 (compat/ts/node_modules)
// with a TypeScript SDK 1.17.2 deployment whose handlers returned ctx.request().id and the id of
// a fresh ctx.awakeable(). The awakeable id is "sign_1" + base64url(raw invocation id ‖ u32 17),
// so its payload gives the 24 raw bytes the server's own inv_ string stands for (decoded with
// Python's base64 module, not with our code). The x-restate-id header carried the same inv_ id.
var officialVectors = []struct {
	name string
	raw  string // 24 bytes: partition key (u64 BE) ‖ UUID
	id   string
}{
	{"Vec/pair", "c345f39a05111978b9a5dff0d853b3882c92b3d82d32f98a", "inv_1ajhg7OHrqoP4eeP5x1VDdknw4fXI42Vol"},
	{"Vec/pair", "40be47b9900c067e88fc20778354c416bb37e22bf92c1c32", "inv_1aOOTeGELP6U1wyuxOZyjwJjg75MTEAnOg"},
	{"Vec/pair", "24b36bc623537a8833fa054d35a2bf45d336b40262aab0a7", "inv_1bIt27e8ImUs56qscZrdXbXhNwesLiRdyH"},
	{"Vec/pair idempotency-key k1", "ce89dcf8a82fea6e2cd2f3bda3d0bbbd7d9fd276e394106c", "inv_19woBo43XaSW3hUKrDtc5FtVf4UkK3s4TW"},
	// PROTOCOL.md §5: partition-key bytes fc790b5848624bf5 encode as l3Hc716hrBy.
	{"VecObj/alice/pair", "fc790b5848624bf59852b30f61b8369787c46a2206373f9f", "inv_1l3Hc716hrBy4QuFuMs3UZDMdiSM4Y5LUQ"},
	{"VecObj/bob/pair", "49b9c1f37386e9e5509f7d5285cd4cd8c7eb37153dba2e48", "inv_1jJOFEtKQPi12ccNJ9clbQ6hTEip5PndVS"},
	{"VecObj//pair (empty key)", "d6bcec3c6b29d72e543a423a1f0ce62cf7b305d5f39ec4fb", "inv_141kvpM925267F4VFe3ukiqGUseCtU8G6o"},
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOfficialServerVectors: both directions between the raw bytes and the string the official
// server printed for them.
func TestOfficialServerVectors(t *testing.T) {
	for _, v := range officialVectors {
		t.Run(v.id, func(t *testing.T) {
			raw := mustHex(t, v.raw)
			id, err := FromBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := id.String(); got != v.id {
				t.Errorf("String() = %s, want %s (the official server's)", got, v.id)
			}
			parsed, err := ParseInvocationID(v.id)
			if err != nil {
				t.Fatalf("ParseInvocationID: %v", err)
			}
			if got := hex.EncodeToString(parsed.Bytes()); got != v.raw {
				t.Errorf("ParseInvocationID(%s).Bytes() = %s, want %s", v.id, got, v.raw)
			}
		})
	}
}

// TestPartitionKeyPrefix: the 11 characters after inv_1 depend on the partition key only
// (PROTOCOL.md §5), so ids of one object key share them whatever their UUID.
func TestPartitionKeyPrefix(t *testing.T) {
	var pk PartitionKey = 0xfc790b5848624bf5
	for _, uuid := range [][16]byte{{}, {0: 0xff, 15: 0xff}, {7: 42}} {
		if got := (InvocationID{PartitionKey: pk, UUID: uuid}).String()[5:16]; got != "l3Hc716hrBy" {
			t.Errorf("partition key %x with uuid %x encoded as %s, want l3Hc716hrBy", uint64(pk), uuid, got)
		}
	}
}

// TestEncodingBoundaries: the extremes of both integers, whose base62 forms are known by hand
// (0 is all zeros; 2^64-1 is lYGhA16ahyf in base62 with the alphabet 0-9a-zA-Z, 2^128-1 is
// 7N42dgm5tFLK9N8MT7fHC7; computed with Python).
func TestEncodingBoundaries(t *testing.T) {
	ones := [16]byte{}
	for i := range ones {
		ones[i] = 0xff
	}
	tests := []struct {
		id   InvocationID
		want string
	}{
		{InvocationID{}, "inv_1" + strings.Repeat("0", 33)},
		{InvocationID{PartitionKey: ^PartitionKey(0), UUID: ones}, "inv_1lYGhA16ahyf7N42dgm5tFLK9N8MT7fHC7"},
		// UUID byte 0 is the least significant digit position (read little-endian).
		{InvocationID{UUID: [16]byte{0: 1}}, "inv_1" + strings.Repeat("0", 32) + "1"},
		{InvocationID{PartitionKey: 1 << 56}, "inv_1" + strings.Repeat("0", 10) + "1" + strings.Repeat("0", 22)},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("%x %x: %s, want %s", uint64(tt.id.PartitionKey), tt.id.UUID, got, tt.want)
		}
		back, err := ParseInvocationID(tt.want)
		if err != nil || back != tt.id {
			t.Errorf("ParseInvocationID(%s) = %+v, %v; want %+v", tt.want, back, err, tt.id)
		}
	}
}

func TestInvocationIDRoundTrip(t *testing.T) {
	for i := 0; i < 200; i++ {
		var e [16]byte
		for j := range e {
			e[j] = byte(i*31 + j*7)
		}
		id := NewInvocationID(PartitionKey(uint64(i)*0x9e3779b97f4a7c15), e)
		s := id.String()
		if len(s) != InvocationIDLength || !strings.HasPrefix(s, "inv_1") {
			t.Fatalf("bad form %q", s)
		}
		back, err := ParseInvocationID(s)
		if err != nil || back != id {
			t.Fatalf("round trip %q: %v %v", s, back, err)
		}
		raw, err := FromBytes(id.Bytes())
		if err != nil || raw != id {
			t.Fatalf("bytes round trip: %v", err)
		}
	}
}

func TestParseInvocationIDErrors(t *testing.T) {
	for _, s := range []string{
		"", "inv_bogus", "inv_1abc", "xyz_1" + strings.Repeat("0", 33), "inv_1" + strings.Repeat("-", 33),
		// Restate's own bad ids (restate crates/types/src/identifiers.rs, bad_invocation_id_str).
		"mxvgUOrwIb8cYrGPHkAAKSKY3O!6IEy_g", "mxvgUOrwIb8", "inv_ub23411ba", "inv_1b234d1ba",
		// A partition key above 2^64-1 (lYGhA16ahyf is the largest; this is 2^64) does not fit.
		"inv_1lYGhA16ahyg" + strings.Repeat("0", 22),
		// 23 UUID digits: one too many.
		"inv_1" + strings.Repeat("0", 34),
		// A UUID above 2^128-1 does not fit.
		"inv_1" + strings.Repeat("0", 11) + strings.Repeat("Z", 22),
	} {
		if _, err := ParseInvocationID(s); !errors.Is(err, ErrBadInvocationID) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestDerivedIDVectors pins the ids the state machine derives for calls and idempotent requests.
// They are stored in the replicated log's effects, so a change to them would make a replay of an
// existing log derive different ids. The expected values were computed outside Go (Python's
// hashlib) from the definitions in invocation.go: Derive = sha256("call" ‖ parent bytes ‖ index
// u32 BE)[:16]; Idempotent = sha256 of "ik", service, key, handler, idempotency key, each followed
// by a zero byte, [:16]; partition keys = splitmix64 finalizer of FNV-1a 64 (service ‖ 0 ‖ key, or
// the idempotency key); then UUID byte 6 = 0x7_, byte 8 = 0b10______.
func TestDerivedIDVectors(t *testing.T) {
	parent := NewInvocationID(7, [16]byte{1})
	tests := []struct {
		name string
		got  InvocationID
		want string
	}{
		{"Derive(parent, 3, 9)", Derive(parent, 3, 9), "00000000000000091de27c303e897c229d241d1f3fc4d143"},
		{"Derive(parent, 4, 9)", Derive(parent, 4, 9), "0000000000000009e2824ffc4b3876108b9d5e3c6560d48d"},
		{"Idempotent(Greeter/greet, k1)", Idempotent(Target{"Greeter", "", "greet"}, false, "k1"), "1f015d6af2b2eec6659fd2de73d8759f97878952bb4f6a0a"},
		{"Idempotent(Counter/a/add, k1, keyed)", Idempotent(Target{"Counter", "a", "add"}, true, "k1"), "ae6a04dbf09b9089b1df1672f34d7cc0af45d651faf0c9ef"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.got.Bytes()); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, got, tt.want)
		}
	}
	pks := []struct {
		name string
		got  PartitionKey
		want uint64
	}{
		{"KeyedPartitionKey(Counter, a)", KeyedPartitionKey("Counter", "a"), 0xae6a04dbf09b9089},
		// The separator keeps (a, bc) and (ab, c) apart.
		{"KeyedPartitionKey(a, bc)", KeyedPartitionKey("a", "bc"), 0x82a144826e72d59e},
		{"KeyedPartitionKey(ab, c)", KeyedPartitionKey("ab", "c"), 0x9291f5e7171dc35a},
		{"HashPartitionKey(k1)", HashPartitionKey("k1"), 0x1f015d6af2b2eec6},
	}
	for _, tt := range pks {
		if uint64(tt.got) != tt.want {
			t.Errorf("%s = %016x, want %016x", tt.name, uint64(tt.got), tt.want)
		}
	}
}

// TestIdempotentIDInputs: every part of the target and the key changes the id, and the fields do
// not run into each other.
func TestIdempotentIDInputs(t *testing.T) {
	base := Idempotent(Target{"Counter", "a", "add"}, true, "k1")
	for name, other := range map[string]InvocationID{
		"service":         Idempotent(Target{"Kounter", "a", "add"}, true, "k1"),
		"key":             Idempotent(Target{"Counter", "b", "add"}, true, "k1"),
		"handler":         Idempotent(Target{"Counter", "a", "get"}, true, "k1"),
		"idempotency key": Idempotent(Target{"Counter", "a", "add"}, true, "k2"),
		"field boundary":  Idempotent(Target{"Counter", "", "aadd"}, true, "k1"),
	} {
		if other.UUID == base.UUID {
			t.Errorf("changing the %s kept the UUID %x", name, base.UUID)
		}
	}
	if base.PartitionKey != KeyedPartitionKey("Counter", "a") {
		t.Errorf("keyed idempotent id in partition key %x, want the object key's %x", uint64(base.PartitionKey), uint64(KeyedPartitionKey("Counter", "a")))
	}
	if id := Idempotent(Target{"Greeter", "", "greet"}, false, "k1"); id.PartitionKey != HashPartitionKey("k1") {
		t.Errorf("unkeyed idempotent id in partition key %x, want HashPartitionKey(k1)", uint64(id.PartitionKey))
	}
}

func TestPartition(t *testing.T) {
	tests := []struct {
		pk   PartitionKey
		n    int
		want int
	}{
		{0, 8, 0},
		{1<<61 - 1, 8, 0}, // last key of partition 0
		{1 << 61, 8, 1},   // first key of partition 1
		{^PartitionKey(0), 8, 7},
		{^PartitionKey(0), 1, 0},
		{1 << 63, 2, 1},
		{1<<63 - 1, 2, 0},
	}
	for _, tt := range tests {
		if got := tt.pk.Partition(tt.n); got != tt.want {
			t.Errorf("PartitionKey(%x).Partition(%d) = %d, want %d", uint64(tt.pk), tt.n, got, tt.want)
		}
	}
}

func TestDeploymentID(t *testing.T) {
	// Ids the official server printed: restate's identifiers.rs test vector and one from
	// restate-server 1.7.12 (POST /deployments). Each must survive a parse and print.
	for _, s := range []string{"dp_11nGQpCRmau6ypL82KH2TnP", "dp_17JHFrG30DpmdO1pBpBHAR3"} {
		d, err := ParseDeploymentID(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDeploymentID(%s) = %s, %v", s, d, err)
		}
	}
	// Bytes read little-endian, as invocation UUIDs.
	if got := NewDeploymentID([16]byte{0: 1}).String(); got != "dp_1"+strings.Repeat("0", 21)+"1" {
		t.Errorf("deployment id with first byte 1: %s", got)
	}
	for _, s := range []string{"dp_11nGQpCRmau6ypL82KH2TnP123456", "dp_2" + strings.Repeat("0", 22), "inv_1" + strings.Repeat("0", 22)} {
		if _, err := ParseDeploymentID(s); !errors.Is(err, ErrBadDeploymentID) {
			t.Errorf("ParseDeploymentID(%s): %v, want ErrBadDeploymentID", s, err)
		}
	}
}
