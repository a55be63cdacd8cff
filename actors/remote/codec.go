package remote

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// encode is the runtime's msgpack encoding of a payload.
func encode(what string, v any) ([]byte, error) {
	data, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("remote: encode %s: %w", what, err)
	}
	return data, nil
}

// decode decodes a payload from another node. As command.Decode does, it skips the value first:
// msgpack v5.4.1 allocates a claimed array length up front, so corrupt bytes could claim 2^32
// elements; skipping allocates nothing and fails on any length the bytes do not back.
func decode(what string, data []byte, v any) error {
	if err := msgpack.NewDecoder(bytes.NewReader(data)).Skip(); err != nil {
		return fmt.Errorf("%w: decode %s: %w", ErrBadRequest, what, err)
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: decode %s: %w", ErrBadRequest, what, err)
	}
	return nil
}
