package discovery_test

import (
	"testing"

	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/protocol"
)

// FuzzParseManifest checks that ParseManifest never panics and that whatever it accepts is valid
// and survives a second validation. Seeds live in testdata/fuzz/FuzzParseManifest.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(discoverytest.Greeter), protocol.ManifestV4)
	f.Add([]byte(`{"protocolMode":"REQUEST_RESPONSE","minProtocolVersion":5,"maxProtocolVersion":5,"services":[]}`), protocol.ManifestV1)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		m, err := discovery.ParseManifest(body, ct)
		if err != nil {
			return
		}
		if err := discovery.Validate(m); err != nil {
			t.Fatalf("accepted manifest fails validation: %v", err)
		}
		if m.Version < 1 || m.Version > 4 {
			t.Fatalf("version %d", m.Version)
		}
	})
}
