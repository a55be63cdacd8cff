package ids

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseInvocationID checks that ParseInvocationID never panics, that its errors wrap
// ErrBadInvocationID, and that an accepted string is canonical: it re-encodes to itself, and the
// 24-byte form round-trips. Seeds live in testdata/fuzz/FuzzParseInvocationID.
func FuzzParseInvocationID(f *testing.F) {
	f.Add(NewInvocationID(42, [16]byte{1, 2, 3}).String())
	f.Add(InvocationID{PartitionKey: ^PartitionKey(0), UUID: [16]byte{0: 0xff, 15: 0xff}}.String())
	f.Add("inv_bogus")
	f.Add("inv_1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseInvocationID(s)
		if err != nil {
			if !errors.Is(err, ErrBadInvocationID) {
				t.Fatalf("ParseInvocationID(%q): %v does not wrap ErrBadInvocationID", s, err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseInvocationID(%q) re-encodes as %q", s, got)
		}
		if back, err := FromBytes(id.Bytes()); err != nil || back != id {
			t.Fatalf("bytes round trip of %q: %v, %v", s, back, err)
		}
	})
}

// FuzzInvocationIDBytes checks the 24-byte form: FromBytes never panics, accepts exactly 24
// bytes, and every id survives String and ParseInvocationID.
func FuzzInvocationIDBytes(f *testing.F) {
	f.Add(make([]byte, RawLength))
	f.Add(bytes.Repeat([]byte{0xff}, RawLength))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := FromBytes(b)
		if (err == nil) != (len(b) == RawLength) {
			t.Fatalf("FromBytes(%d bytes): %v", len(b), err)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(id.Bytes(), b) {
			t.Fatalf("Bytes() = %x, want %x", id.Bytes(), b)
		}
		back, err := ParseInvocationID(id.String())
		if err != nil || back != id {
			t.Fatalf("string round trip of %x via %q: %v, %v", b, id.String(), back, err)
		}
	})
}
