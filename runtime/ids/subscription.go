package ids

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// ErrBadSubscriptionID is returned (wrapped) for strings that are not subscription ids.
var ErrBadSubscriptionID = errors.New("ids: bad subscription id")

// SubscriptionID identifies a Kafka subscription: a ULID (a 128-bit integer Hi:Lo, 48 bits of
// milliseconds since the Unix epoch, then 80 random bits), so ids compare by creation time. Its
// text is restate-server's: "sub_1" and 22 base62 characters of the ULID's bytes in reverse order
// (restate-server encodes the integer's in-memory bytes of a little-endian machine), so the text
// does not sort by time.
type SubscriptionID struct{ Hi, Lo uint64 }

// NewSubscriptionID makes the id of a subscription created at ms (since the Unix epoch) from 10
// bytes of caller-supplied entropy.
func NewSubscriptionID(ms int64, entropy [10]byte) SubscriptionID {
	hi := uint64(ms)<<16 | uint64(entropy[0])<<8 | uint64(entropy[1])
	var lo uint64
	for _, b := range entropy[2:] {
		lo = lo<<8 | uint64(b)
	}
	return SubscriptionID{Hi: hi, Lo: lo}
}

// Millis is the id's creation time, ms since the Unix epoch.
func (s SubscriptionID) Millis() int64 { return int64(s.Hi >> 16) }

// IsZero reports whether s is the zero id (never made by NewSubscriptionID after 1970).
func (s SubscriptionID) IsZero() bool { return s == SubscriptionID{} }

// Compare orders ids as their 128-bit values (creation time first).
func (s SubscriptionID) Compare(o SubscriptionID) int {
	switch {
	case s.Hi != o.Hi:
		return cmpU64(s.Hi, o.Hi)
	default:
		return cmpU64(s.Lo, o.Lo)
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String is the sub_… form.
func (s SubscriptionID) String() string {
	buf := make([]byte, 5+22)
	copy(buf, "sub_1")
	encodeBase62(buf[5:], bits.ReverseBytes64(s.Lo), bits.ReverseBytes64(s.Hi), 22)
	return string(buf)
}

// ParseSubscriptionID parses the sub_… form.
func ParseSubscriptionID(s string) (SubscriptionID, error) {
	rest, ok := strings.CutPrefix(s, "sub_1")
	if !ok || len(rest) != 22 {
		return SubscriptionID{}, fmt.Errorf("%w %q", ErrBadSubscriptionID, s)
	}
	hi, lo, err := decodeBase62(rest)
	if err != nil {
		return SubscriptionID{}, fmt.Errorf("%w %q: %v", ErrBadSubscriptionID, s, err)
	}
	return SubscriptionID{Hi: bits.ReverseBytes64(lo), Lo: bits.ReverseBytes64(hi)}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (s SubscriptionID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *SubscriptionID) UnmarshalText(b []byte) error {
	p, err := ParseSubscriptionID(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
