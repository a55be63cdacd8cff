package ids

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"strings"
)

// ErrBadInvocationID is returned (wrapped) for strings that are not invocation ids.
var ErrBadInvocationID = errors.New("ids: bad invocation id")

// PartitionKey places an invocation in the key space; partitions own ranges of it.
type PartitionKey uint64

// InvocationID identifies one invocation.
type InvocationID struct {
	PartitionKey PartitionKey
	UUID         [16]byte
}

const (
	invocationPrefix = "inv_"
	schemeVersion    = '1'
	// InvocationIDLength is the length of an invocation id string.
	InvocationIDLength = len(invocationPrefix) + 1 + 11 + 22
	// RawLength is the length of the binary form sent in StartMessage.id.
	RawLength = 24
)

// IsZero reports whether id is the zero value.
func (id InvocationID) IsZero() bool { return id == InvocationID{} }

// Bytes is the 24-byte binary form: partition key (u64 BE) then UUID.
func (id InvocationID) Bytes() []byte {
	b := make([]byte, RawLength)
	binary.BigEndian.PutUint64(b, uint64(id.PartitionKey))
	copy(b[8:], id.UUID[:])
	return b
}

// FromBytes parses the 24-byte binary form.
func FromBytes(b []byte) (InvocationID, error) {
	if len(b) != RawLength {
		return InvocationID{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadInvocationID, len(b), RawLength)
	}
	var id InvocationID
	id.PartitionKey = PartitionKey(binary.BigEndian.Uint64(b))
	copy(id.UUID[:], b[8:])
	return id, nil
}

// String is the inv_… form.
func (id InvocationID) String() string {
	buf := make([]byte, InvocationIDLength)
	copy(buf, invocationPrefix)
	buf[4] = schemeVersion
	encodeBase62(buf[5:16], 0, bits.ReverseBytes64(uint64(id.PartitionKey)), 11)
	hi := binary.LittleEndian.Uint64(id.UUID[8:])
	lo := binary.LittleEndian.Uint64(id.UUID[:8])
	encodeBase62(buf[16:], hi, lo, 22)
	return string(buf)
}

// MarshalText implements encoding.TextMarshaler.
func (id InvocationID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *InvocationID) UnmarshalText(b []byte) error {
	p, err := ParseInvocationID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseInvocationID parses the inv_… form.
func ParseInvocationID(s string) (InvocationID, error) {
	rest, ok := strings.CutPrefix(s, invocationPrefix)
	if !ok {
		return InvocationID{}, fmt.Errorf("%w %q: missing prefix %q", ErrBadInvocationID, s, invocationPrefix)
	}
	if len(rest) == 0 || rest[0] != schemeVersion {
		return InvocationID{}, fmt.Errorf("%w %q: unrecognized codec version", ErrBadInvocationID, s)
	}
	if len(s) != InvocationIDLength {
		return InvocationID{}, fmt.Errorf("%w %q: length %d, want %d", ErrBadInvocationID, s, len(s), InvocationIDLength)
	}
	hi, lo, err := decodeBase62(rest[1:12])
	if err != nil || hi != 0 {
		return InvocationID{}, fmt.Errorf("%w %q: bad partition key", ErrBadInvocationID, s)
	}
	var id InvocationID
	id.PartitionKey = PartitionKey(bits.ReverseBytes64(lo))
	hi, lo, err = decodeBase62(rest[12:])
	if err != nil {
		return InvocationID{}, fmt.Errorf("%w %q: bad uuid: %v", ErrBadInvocationID, s, err)
	}
	binary.LittleEndian.PutUint64(id.UUID[:8], lo)
	binary.LittleEndian.PutUint64(id.UUID[8:], hi)
	return id, nil
}

// NewInvocationID makes an id in partition key pk from 16 bytes of entropy supplied by the caller
// (the proposer, never the state machine).
func NewInvocationID(pk PartitionKey, entropy [16]byte) InvocationID {
	entropy[6] = entropy[6]&0x0f | 0x70 // UUID version 7 style marker, as Restate's ids
	entropy[8] = entropy[8]&0x3f | 0x80
	return InvocationID{PartitionKey: pk, UUID: entropy}
}

// Derive makes the id of the invocation created by entry index of parent (a call or send from a
// handler): a pure function, so every replica and every replay derives the same id. pk is the
// callee's partition key.
func Derive(parent InvocationID, index uint32, pk PartitionKey) InvocationID {
	h := sha256.New()
	h.Write([]byte("call"))
	h.Write(parent.Bytes())
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], index)
	h.Write(b[:])
	var e [16]byte
	copy(e[:], h.Sum(nil))
	return NewInvocationID(pk, e)
}

// Target names a handler and, for keyed services, the key.
type Target struct {
	Service string
	Key     string
	Handler string
}

// Idempotent makes the id of an invocation with an idempotency key: the same target and key always
// give the same id, which is how the partition deduplicates retried requests.
func Idempotent(t Target, keyed bool, idempotencyKey string) InvocationID {
	h := sha256.New()
	for _, s := range []string{"ik", t.Service, t.Key, t.Handler, idempotencyKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var e [16]byte
	copy(e[:], h.Sum(nil))
	pk := HashPartitionKey(idempotencyKey)
	if keyed {
		pk = KeyedPartitionKey(t.Service, t.Key)
	}
	return NewInvocationID(pk, e)
}

// Workflow is the id of a workflow's run invocation: one per (workflow, key), whatever its run
// handler is called, so that a second submission, an attach and an output request all find it.
func Workflow(service, key string) InvocationID {
	return Idempotent(Target{Service: service, Key: key}, true, "")
}

// KeyedPartitionKey is the partition key of a Virtual Object or Workflow key: every invocation of
// one (service, key) lands in the same partition.
func KeyedPartitionKey(service, key string) PartitionKey {
	h := fnv.New64a()
	h.Write([]byte(service))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return PartitionKey(mix64(h.Sum64()))
}

// HashPartitionKey spreads an arbitrary string over the key space.
func HashPartitionKey(s string) PartitionKey {
	h := fnv.New64a()
	h.Write([]byte(s))
	return PartitionKey(mix64(h.Sum64()))
}

// mix64 is the splitmix64 finalizer: FNV's high bits are weak, and partitions are chosen by them.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Partition returns which of n partitions owns pk (equal ranges of the key space).
func (pk PartitionKey) Partition(n int) int {
	hi, _ := bits.Mul64(uint64(pk), uint64(n))
	return int(hi)
}

// MarshalBinary implements encoding.BinaryMarshaler (the 24-byte form); msgpack uses it.
func (id InvocationID) MarshalBinary() ([]byte, error) { return id.Bytes(), nil }

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (id *InvocationID) UnmarshalBinary(b []byte) error {
	p, err := FromBytes(b)
	if err != nil {
		return err
	}
	*id = p
	return nil
}
