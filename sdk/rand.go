package sdk

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// xoshiro is the random source of the official Restate SDKs (TypeScript utils/rand.ts, Go
// internal/randsource): xoshiro256++ whose state is the first four outputs of splitmix64 started
// at the invocation's seed. Using the same generator, a handler draws the same numbers from a seed
// whichever of these SDKs runs it.
type xoshiro struct{ s [4]uint64 }

var _ rand.Source = (*xoshiro)(nil)

func newXoshiro(seed uint64) *xoshiro {
	var x xoshiro
	for i := range x.s {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		x.s[i] = z ^ z>>31
	}
	return &x
}

func (x *xoshiro) Uint64() uint64 {
	s := &x.s
	r := bits.RotateLeft64(s[0]+s[3], 23) + s[0]
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return r
}

// uuidFrom is a version-4 UUID made as the official SDKs make it: two draws written little-endian,
// then the version and variant bits set.
func uuidFrom(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant RFC 4122
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
