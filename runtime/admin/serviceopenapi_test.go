package admin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/registry"
)

// TestServiceOpenAPIMatchesOfficial compares ServiceOpenAPI with what restate-server 1.7.12's
// GET /services/{service}/openapi answered for the same deployment (testdata/serviceopenapi:
// the manifest, registered with the official server, and its four answers): a service with
// JSON schemas, optional and required bodies, no body, no output, a binary input, a handler
// private to the ingress; a Virtual Object; a Workflow; a private service. The documents must be
// the same: the call and send paths under /restate/call and /restate/send, the attach and output
// routes deprecated in favour of /restate/lookup, all of which our ingress serves.
func TestServiceOpenAPIMatchesOfficial(t *testing.T) {
	dir := filepath.Join("testdata", "serviceopenapi")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := discovery.ParseManifest(raw, protocol.ManifestV4)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := registry.ServicesFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	const ingress = "http://127.0.0.1:18080/" // where the official server ran
	for _, s := range svcs {
		t.Run(s.Name, func(t *testing.T) {
			s.Revision = 1
			want := readJSON(t, filepath.Join(dir, s.Name+".official.json"))
			doc, err := admin.ServiceOpenAPI(s, ingress)
			if err != nil {
				t.Fatal(err)
			}
			got := roundTrip(t, doc)
			for _, k := range []string{"info", "openapi", "servers", "tags", "components"} {
				if !reflect.DeepEqual(got[k], want[k]) {
					t.Errorf("%s:\n got %s\nwant %s", k, mustJSON(got[k]), mustJSON(want[k]))
				}
			}
			gp, wp := got["paths"].(map[string]any), want["paths"].(map[string]any)
			for p, item := range wp {
				if !reflect.DeepEqual(gp[p], item) {
					t.Errorf("path %s:\n got %s\nwant %s", p, mustJSON(gp[p]), mustJSON(item))
				}
			}
			for p := range gp {
				if _, ok := wp[p]; !ok {
					t.Errorf("path %s is not in the official document", p)
				}
			}
		})
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(mustJSON(v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
