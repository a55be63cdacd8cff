package sdk

import (
	"encoding/json"
	"slices"
)

// Codec turns handler inputs, outputs, state values, run results and call payloads into bytes.
type Codec interface {
	// ContentType is announced in discovery for handler input and output.
	ContentType() string
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) ContentType() string                { return "application/json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Void is the input or output of a handler that takes or returns nothing: it is encoded as an
// empty body whatever the codec.
type Void struct{}

func encode[T any](c Codec, v T) ([]byte, error) {
	if _, ok := any(v).(Void); ok {
		return nil, nil
	}
	return c.Marshal(v)
}

func decode[T any](c Codec, data []byte) (T, error) {
	var v T
	if _, ok := any(v).(Void); ok || len(data) == 0 {
		return v, nil
	}
	err := c.Unmarshal(data, &v)
	return v, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
