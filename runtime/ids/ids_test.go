package ids

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestPartitionKeyEncodingMatchesRestate(t *testing.T) {
	// PROTOCOL.md: partition-key bytes fc790b5848624bf5 encode as l3Hc716hrBy.
	raw, _ := hex.DecodeString("fc790b5848624bf5" + "00000000000000000000000000000000")
	id, err := FromBytes(append(raw, 0, 0, 0, 0, 0, 0, 0, 0)[:24])
	if err != nil {
		t.Fatal(err)
	}
	s := id.String()
	if s[5:16] != "l3Hc716hrBy" {
		t.Fatalf("partition key encoded as %s", s[5:16])
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
	for _, s := range []string{"", "inv_bogus", "inv_1abc", "xyz_1" + strings.Repeat("0", 33), "inv_1" + strings.Repeat("-", 33)} {
		if _, err := ParseInvocationID(s); !errors.Is(err, ErrBadInvocationID) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestDeterministicIDs(t *testing.T) {
	parent := NewInvocationID(7, [16]byte{1})
	if Derive(parent, 3, 9) != Derive(parent, 3, 9) || Derive(parent, 3, 9) == Derive(parent, 4, 9) {
		t.Fatal("Derive not a function of its inputs")
	}
	a := Idempotent(Target{"Greeter", "", "greet"}, false, "k1")
	if a != Idempotent(Target{"Greeter", "", "greet"}, false, "k1") || a == Idempotent(Target{"Greeter", "", "greet"}, false, "k2") {
		t.Fatal("Idempotent not a function of its inputs")
	}
	if KeyedPartitionKey("Counter", "a") != KeyedPartitionKey("Counter", "a") {
		t.Fatal("keyed partition key unstable")
	}
	if got := PartitionKey(^uint64(0)).Partition(8); got != 7 {
		t.Fatalf("max key in partition %d", got)
	}
}

func TestDeploymentID(t *testing.T) {
	d := NewDeploymentID([16]byte{9, 8, 7})
	back, err := ParseDeploymentID(d.String())
	if err != nil || back != d || len(d.String()) != 26 {
		t.Fatalf("%s: %v", d, err)
	}
}
