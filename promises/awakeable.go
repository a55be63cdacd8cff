package promises

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/resolute-run/resolute/runtime/ids"
)

// ErrBadAwakeableID is wrapped by every error Parse returns.
var ErrBadAwakeableID = errors.New("promises: bad awakeable id")

// Reasons a string is not an awakeable id. Their text is the official server's (IdDecodeError), so
// messages read the same through either ingress; hence no package prefix.
var (
	ErrFormat       = errors.New("bad format")
	ErrTypeMismatch = errors.New("id doesn't match the expected type")
	ErrVersion      = errors.New("unrecognized codec version")
	ErrCodec        = errors.New("base64 decode error")
	ErrLength       = errors.New("bad length")
	// ErrUnrecognizedType is followed by the resource type found: "unrecognized resource type: xyz".
	ErrUnrecognizedType = errors.New("unrecognized resource type")
)

const (
	signalPrefix = "sign_1" // V5+: invocation id ‖ signal index
	legacyPrefix = "prom_1" // V1–V4: invocation id ‖ journal entry index
	// rawLength is the decoded payload: a raw invocation id and a u32.
	rawLength = ids.RawLength + 4
)

// Ids are written in base64url without padding; both forms are read (the official decoder is
// padding-indifferent), and non-zero trailing bits are rejected (Strict), so decoding is one-to-one.
var (
	unpadded = base64.RawURLEncoding.Strict()
	padded   = base64.URLEncoding.Strict()
)

// resourceTypes are the other id prefixes the official server knows: naming one of them is a type
// mismatch, anything else an unrecognized resource type.
var resourceTypes = []string{"inv", "dp", "sub", "snap"}

// AwakeableID is a parsed awakeable id.
type AwakeableID struct {
	// Invocation is the invocation that created the awakeable and waits on it.
	Invocation ids.InvocationID
	// Index is the signal index (sign_1 ids) or, for Legacy ids, the journal entry index.
	Index uint32
	// Legacy marks the prom_1 form of protocol V1–V4.
	Legacy bool
}

// Encode returns the sign_1 id of the awakeable with signal index signal of invocation inv.
func Encode(inv ids.InvocationID, signal uint32) string {
	return AwakeableID{Invocation: inv, Index: signal}.String()
}

// String is the id in its form (sign_1, or prom_1 when Legacy), without padding.
func (a AwakeableID) String() string {
	raw := make([]byte, 0, rawLength)
	raw = append(raw, a.Invocation.Bytes()...)
	raw = binary.BigEndian.AppendUint32(raw, a.Index)
	prefix := signalPrefix
	if a.Legacy {
		prefix = legacyPrefix
	}
	return prefix + unpadded.EncodeToString(raw)
}

// Parse reads a sign_1 or legacy prom_1 awakeable id.
func Parse(s string) (AwakeableID, error) {
	legacy, payload, err := splitPrefix(s)
	if err != nil {
		return AwakeableID{}, parseError(s, err)
	}
	raw, err := decode(payload)
	if err != nil {
		return AwakeableID{}, parseError(s, err)
	}
	inv, err := ids.FromBytes(raw[:ids.RawLength])
	if err != nil { // unreachable: the length was checked
		return AwakeableID{}, parseError(s, fmt.Errorf("%w: %v", ErrLength, err))
	}
	return AwakeableID{Invocation: inv, Index: binary.BigEndian.Uint32(raw[ids.RawLength:]), Legacy: legacy}, nil
}

// splitPrefix checks the resource type and codec version and returns the base64 payload.
func splitPrefix(s string) (legacy bool, payload string, err error) {
	typ, rest, ok := strings.Cut(s, "_")
	if !ok {
		return false, "", ErrFormat
	}
	switch {
	case typ == "sign":
	case typ == "prom":
		legacy = true
	case slices.Contains(resourceTypes, typ):
		return false, "", ErrTypeMismatch
	default:
		return false, "", fmt.Errorf("%w: %s", ErrUnrecognizedType, typ)
	}
	payload, ok = strings.CutPrefix(rest, "1")
	if !ok {
		return false, "", ErrVersion
	}
	return legacy, payload, nil
}

// decode reads the base64url payload, padded or not, into exactly rawLength bytes. Go's decoder
// skips CR and LF; the official one does not, and neither do we.
func decode(payload string) ([]byte, error) {
	if strings.ContainsAny(payload, "\r\n") {
		return nil, ErrCodec
	}
	enc := unpadded
	if strings.HasSuffix(payload, "=") {
		enc = padded
	}
	raw, err := enc.DecodeString(payload)
	if err != nil {
		return nil, ErrCodec
	}
	if len(raw) != rawLength {
		return nil, ErrLength
	}
	return raw, nil
}

// parseError says which id is bad and why, like the official ingress.
func parseError(s string, reason error) error {
	return &ParseError{ID: s, Reason: reason}
}

// ParseError is the error Parse returns. errors.Is matches ErrBadAwakeableID and the reason.
type ParseError struct {
	ID     string
	Reason error
}

func (e *ParseError) Error() string { return fmt.Sprintf("bad awakeable id '%s': %v", e.ID, e.Reason) }

// Unwrap returns the reason and ErrBadAwakeableID.
func (e *ParseError) Unwrap() []error { return []error{ErrBadAwakeableID, e.Reason} }
