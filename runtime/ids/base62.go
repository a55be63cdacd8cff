package ids

import (
	"errors"
	"math/bits"
)

const base62Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

var errBase62 = errors.New("invalid base62 character")

// encodeBase62 writes the 128-bit integer hi:lo as exactly width base62 digits, zero-padded.
func encodeBase62(dst []byte, hi, lo uint64, width int) {
	for i := width - 1; i >= 0; i-- {
		var r uint64
		hi, r = hi/62, hi%62
		lo, r = bits.Div64(r, lo, 62)
		dst[i] = base62Alphabet[r]
	}
}

// decodeBase62 parses base62 digits into a 128-bit integer hi:lo; overflow is an error.
func decodeBase62(s string) (hi, lo uint64, err error) {
	for i := 0; i < len(s); i++ {
		d, ok := base62Digit(s[i])
		if !ok {
			return 0, 0, errBase62
		}
		// (hi:lo)*62 + d
		h1, l1 := bits.Mul64(lo, 62)
		h2, h2hi := bits.Mul64(hi, 62)
		if h2 != 0 {
			return 0, 0, errors.New("base62 value overflows 128 bits")
		}
		var c uint64
		lo, c = bits.Add64(l1, uint64(d), 0)
		var c2 uint64
		hi, c2 = bits.Add64(h2hi, h1, c)
		if c2 != 0 {
			return 0, 0, errors.New("base62 value overflows 128 bits")
		}
	}
	return hi, lo, nil
}

func base62Digit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 36, true
	}
	return 0, false
}
