package ids

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrBadDeploymentID is returned (wrapped) for strings that are not deployment ids.
var ErrBadDeploymentID = errors.New("ids: bad deployment id")

// DeploymentID identifies a registered deployment: "dp_1" and 22 base62 characters.
type DeploymentID [16]byte

// NewDeploymentID makes an id from 16 bytes of caller-supplied entropy.
func NewDeploymentID(entropy [16]byte) DeploymentID { return DeploymentID(entropy) }

// String is the dp_… form.
func (d DeploymentID) String() string {
	buf := make([]byte, 4+22)
	copy(buf, "dp_1")
	encodeBase62(buf[4:], binary.LittleEndian.Uint64(d[8:]), binary.LittleEndian.Uint64(d[:8]), 22)
	return string(buf)
}

// ParseDeploymentID parses the dp_… form.
func ParseDeploymentID(s string) (DeploymentID, error) {
	rest, ok := strings.CutPrefix(s, "dp_1")
	if !ok || len(rest) != 22 {
		return DeploymentID{}, fmt.Errorf("%w %q", ErrBadDeploymentID, s)
	}
	hi, lo, err := decodeBase62(rest)
	if err != nil {
		return DeploymentID{}, fmt.Errorf("%w %q: %v", ErrBadDeploymentID, s, err)
	}
	var d DeploymentID
	binary.LittleEndian.PutUint64(d[:8], lo)
	binary.LittleEndian.PutUint64(d[8:], hi)
	return d, nil
}

// MarshalText implements encoding.TextMarshaler.
func (d DeploymentID) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *DeploymentID) UnmarshalText(b []byte) error {
	p, err := ParseDeploymentID(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (d DeploymentID) MarshalBinary() ([]byte, error) { return d[:], nil }

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (d *DeploymentID) UnmarshalBinary(b []byte) error {
	if len(b) != 16 {
		return fmt.Errorf("%w: %d bytes", ErrBadDeploymentID, len(b))
	}
	copy(d[:], b)
	return nil
}
