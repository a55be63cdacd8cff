package identity

import (
	"errors"
	"fmt"
)

// The Bitcoin base58 alphabet, which restate-server (bs58) and sdk-go (mr-tron/base58) use.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var errBase58 = errors.New("identity: invalid base58")

// base58Encode encodes b; each leading zero byte becomes a leading '1'.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// Big-endian base-58 digits of the number b, least significant last.
	digits := make([]byte, 0, len(b)*138/100+1)
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := len(digits) - 1; i >= 0; i-- {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append([]byte{byte(carry % 58)}, digits...)
			carry /= 58
		}
	}
	out := make([]byte, zeros+len(digits))
	for i := range zeros {
		out[i] = base58Alphabet[0]
	}
	for i, d := range digits {
		out[zeros+i] = base58Alphabet[d]
	}
	return string(out)
}

// base58Decode is the inverse of base58Encode.
func base58Decode(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == base58Alphabet[0] {
		zeros++
	}
	var num []byte // big-endian bytes of the number
	for i := zeros; i < len(s); i++ {
		d := indexBase58(s[i])
		if d < 0 {
			return nil, fmt.Errorf("%w: character %q at %d", errBase58, s[i], i)
		}
		carry := d
		for j := len(num) - 1; j >= 0; j-- {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append([]byte{byte(carry)}, num...)
			carry >>= 8
		}
	}
	return append(make([]byte, zeros), num...), nil
}

func indexBase58(c byte) int {
	for i := range len(base58Alphabet) {
		if base58Alphabet[i] == c {
			return i
		}
	}
	return -1
}
