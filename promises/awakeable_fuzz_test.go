package promises

import (
	"errors"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
)

// FuzzParse checks that Parse never panics, that every error is a ParseError naming the id, and
// that decoding is one-to-one: an accepted id re-encodes to itself (padding trimmed). Seeds live
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(observed)
	f.Add(observed + "==")
	f.Add("prom_1" + strings.TrimPrefix(observed, "sign_1"))
	f.Add("sign_1bogus")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.ID != s || !errors.Is(err, ErrBadAwakeableID) {
				t.Fatalf("Parse(%q): malformed error %v", s, err)
			}
			return
		}
		if got, want := a.String(), strings.TrimSuffix(s, "=="); got != want {
			t.Fatalf("Parse(%q) re-encodes as %q", s, got)
		}
	})
}

// FuzzEncode checks Parse∘Encode is the identity for every invocation id and signal index.
func FuzzEncode(f *testing.F) {
	f.Add(uint64(0), make([]byte, 16), uint32(17), false)
	f.Add(^uint64(0), []byte(strings.Repeat("\xff", 16)), ^uint32(0), true)
	f.Fuzz(func(t *testing.T, pk uint64, uuid []byte, index uint32, legacy bool) {
		var in AwakeableID
		in.Invocation.PartitionKey = ids.PartitionKey(pk)
		copy(in.Invocation.UUID[:], uuid)
		in.Index, in.Legacy = index, legacy
		out, err := Parse(in.String())
		if err != nil || out != in {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v", in.String(), out, err, in)
		}
	})
}
