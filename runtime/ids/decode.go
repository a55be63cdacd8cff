package ids

import (
	"slices"
	"strings"
)

// idResourceTypes are the id prefixes the official server knows: any of them other than "inv"
// is a type mismatch, anything else an unrecognized resource type.
var idResourceTypes = []string{"inv", "dp", "sub", "prom", "sign", "snap", "mut", "vq"}

// Base62 widths of an invocation id's parts after "inv_1".
const (
	idPartitionKeyWidth = 11
	idUUIDWidth         = 22
)

// DecodeInvocationID parses an invocation id as restate-server's decoder does and, for a bad one,
// returns its reason in the official wording (for error messages that match the official ones):
// it checks, in order, empty (bad length), no '_' (bad format), the resource type, the codec
// version, then the partition key and the uuid part by part (bad length when a part is short,
// base62 decode error when it does not decode), then nothing left over (bad length).
func DecodeInvocationID(s string) (InvocationID, string) {
	const (
		badLength = "bad length"
		badCodec  = "base62 decode error"
	)
	if s == "" {
		return InvocationID{}, badLength
	}
	typ, rest, ok := strings.Cut(s, "_")
	switch {
	case !ok:
		return InvocationID{}, "bad format"
	case !slices.Contains(idResourceTypes, typ):
		return InvocationID{}, "unrecognized resource type: " + typ
	case rest == "" || rest[0] >= 0x80: // the version is one character, read as a byte slice
		return InvocationID{}, badLength
	case rest[0] != '1':
		return InvocationID{}, "unrecognized codec version"
	case typ != "inv":
		return InvocationID{}, "id doesn't match the expected type"
	}
	body := rest[1:]
	zeros := strings.Repeat("0", idUUIDWidth)
	if len(body) < idPartitionKeyWidth {
		return InvocationID{}, badLength
	}
	// ParseInvocationID decodes both parts at once: the partition key is tried alone first
	// (with a zero uuid), so that a bad key in a short id is a decode error, as officially.
	if _, err := ParseInvocationID("inv_1" + body[:idPartitionKeyWidth] + zeros); err != nil {
		return InvocationID{}, badCodec
	}
	if len(body) < idPartitionKeyWidth+idUUIDWidth {
		return InvocationID{}, badLength
	}
	id, err := ParseInvocationID("inv_1" + body[:idPartitionKeyWidth+idUUIDWidth])
	if err != nil {
		return InvocationID{}, badCodec
	}
	if len(body) > idPartitionKeyWidth+idUUIDWidth {
		return InvocationID{}, badLength
	}
	return id, ""
}
