package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a service protocol version.
type Version int

// Versions this package speaks.
const (
	V5 Version = 5
	V6 Version = 6
	V7 Version = 7

	MinVersion = V5
	MaxVersion = V7
)

const contentTypePrefix = "application/vnd.restate.invocation.v"

// ContentType is the content type (and accept value) of an invocation stream at version v.
func (v Version) ContentType() string { return contentTypePrefix + strconv.Itoa(int(v)) }

// ParseContentType reads the version from an invocation content type.
func ParseContentType(ct string) (Version, error) {
	ct = strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])
	if !strings.HasPrefix(ct, contentTypePrefix) {
		return 0, fmt.Errorf("protocol: unsupported content type %q", ct)
	}
	n, err := strconv.Atoi(ct[len(contentTypePrefix):])
	if err != nil {
		return 0, fmt.Errorf("protocol: unsupported content type %q", ct)
	}
	v := Version(n)
	if v < MinVersion || v > MaxVersion {
		return v, fmt.Errorf("protocol: unsupported protocol version V%d, not within [V%d to V%d]", n, MinVersion, MaxVersion)
	}
	return v, nil
}

// Negotiate picks the highest version within both [MinVersion, limit] and the deployment's
// [min, max] range.
func Negotiate(min, max int, limit Version) (Version, error) {
	hi := Version(max)
	if hi > limit {
		hi = limit
	}
	if hi > MaxVersion {
		hi = MaxVersion
	}
	lo := Version(min)
	if lo < MinVersion {
		lo = MinVersion
	}
	if hi < lo {
		return 0, fmt.Errorf("protocol: deployment speaks V%d–V%d, runtime speaks V%d–V%d", min, max, MinVersion, limit)
	}
	return hi, nil
}

// Discovery manifest content types, oldest first.
const (
	ManifestV1 = "application/vnd.restate.endpointmanifest.v1+json"
	ManifestV2 = "application/vnd.restate.endpointmanifest.v2+json"
	ManifestV3 = "application/vnd.restate.endpointmanifest.v3+json"
	ManifestV4 = "application/vnd.restate.endpointmanifest.v4+json"
)
