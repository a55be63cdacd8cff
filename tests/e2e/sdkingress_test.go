//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestIngress ports restatedev/e2e sdk-tests tests/Ingress.kt (class Ingress; TestIngressTest
// ports e2e-tests' IngressTest.kt), with upstream's RESTATE_WORKER__CLEANUP_INTERVAL=1s (ours
// cleans every second anyway).
func TestIngress(t *testing.T) {
	runClass(t, class{
		services: []string{testUtils},
		suites: []suite{{
			name:     "default",
			official: []string{"RESTATE_WORKER__CLEANUP_INTERVAL=1s"},
		}},
		scenarios: []scenario{
			{name: "headersPassThrough", run: headersPassThrough},
			{name: "rawHandler", run: rawHandler},
		},
	})
}

// "headersPassThrough": a header of the ingress request reaches the handler.
func headersPassThrough(t *testing.T, d *deployment) {
	const name, value = "x-my-custom-header", "x-my-custom-value"
	var got map[string]string
	d.call("/"+testUtils+"/echoHeaders", nil, idempotent(), func(r *http.Request) { r.Header.Set(name, value) }).value(t, &got)
	if got[name] != value {
		t.Fatalf("echoHeaders: %s = %q, want %q (headers %v)", name, got[name], value, got)
	}
}

// "Raw input and raw output": rawEcho answers its 100 random bytes unchanged.
func rawHandler(t *testing.T, d *deployment) {
	in := make([]byte, 100)
	_, _ = rand.Read(in)
	req, err := http.NewRequest(http.MethodPost, d.ingress+"/"+testUtils+"/rawEcho", bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/octet-stream")
	idempotent()(req)
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rawEcho: status %d, body %s", resp.StatusCode, out)
	}
	if !bytes.Equal(out, in) {
		got, _ := json.Marshal(out)
		t.Fatalf("rawEcho answered %d bytes %s, want the 100 sent", len(out), got)
	}
}
