package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The Kafka request bodies are read field by field from json.RawMessage, so that what is
// refused is named in restate-server's (serde's) words: "properties.a: invalid type: integer
// `1`, expected a string", "missing field `sink`".

// serdeKind describes a JSON value as serde's "invalid type" errors do.
func serdeKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return fmt.Sprintf("boolean `%s`", raw)
	case '"':
		return fmt.Sprintf("string %s", raw)
	case '[':
		return "sequence"
	case '{':
		return "map"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return fmt.Sprintf("floating point `%s`", raw)
	}
	return fmt.Sprintf("integer `%s`", raw)
}

// stringField reads field name: (nil, "") when absent; a refusal says why in serde's words.
func stringField(name string, raw json.RawMessage) (*string, string) {
	if raw == nil {
		return nil, ""
	}
	var s string
	if bytes.TrimSpace(raw)[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, fmt.Sprintf("%s: invalid type: %s, expected a string", name, serdeKind(raw))
	}
	return &s, ""
}

// stringMapField reads field name, a map of strings: (nil, "") when absent, or null when
// nullable; a refusal says why in serde's words.
func stringMapField(name string, raw json.RawMessage, nullable bool) (map[string]string, string) {
	if raw == nil || nullable && string(bytes.TrimSpace(raw)) == "null" {
		return nil, ""
	}
	var m map[string]json.RawMessage
	if bytes.TrimSpace(raw)[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, fmt.Sprintf("%s: invalid type: %s, expected a map", name, serdeKind(raw))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]string, len(m))
	for _, k := range keys {
		v, why := stringField(name+"."+k, m[k])
		if why != "" {
			return nil, why
		}
		out[k] = *v
	}
	return out, ""
}

func deserializeError(why string) string {
	return "Failed to deserialize the JSON body into the target type: " + strings.TrimSpace(why)
}
