package sdk

import (
	"bytes"
	"fmt"
)

// Binary is a Codec for raw bytes: a []byte value is the payload as it is, with the content type
// application/octet-stream (sdk-go's restate.WithBinary, the TypeScript SDK's serde.binary). Use
// it for a handler (WithCodec(sdk.Binary), with []byte input and output) or for one call
// (WithCallCodec(sdk.Binary)), e.g. to forward a payload without decoding it.
var Binary Codec = binaryCodec{}

type binaryCodec struct{}

func (binaryCodec) ContentType() string { return "application/octet-stream" }

func (binaryCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("sdk: the binary codec encodes []byte, not %T", v)
}

func (binaryCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("sdk: the binary codec decodes into *[]byte, not %T", v)
	}
	*p = bytes.Clone(data)
	return nil
}
