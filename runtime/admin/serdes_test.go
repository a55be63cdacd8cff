package admin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/protocol"
)

// The serde preview is forwarded to the service's deployment, with the deployment's additional
// headers, and its answer passed back; a refusal by the deployment is a 500, as restate-server
// answers (sdk-typescript's preview_serdes e2e test).
func TestSerdePreview(t *testing.T) {
	e := newEnv(t)
	var gotPath, gotToken, gotCT string
	var gotBody []byte
	sdk := httptest.NewServer(discoverytest.H2CHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/discover") {
			w.Header().Set("Content-Type", protocol.ManifestV4)
			_, _ = io.WriteString(w, sdkGoManifest)
			return
		}
		gotPath, gotToken, gotCT = r.URL.Path, r.Header.Get("x-token"), r.Header.Get("Content-Type")
		gotBody, _ = io.ReadAll(r.Body)
		if strings.Contains(r.URL.Path, "/noPreview/") {
			http.Error(w, `{"message":"No previewable serde"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-prefixed+json")
		_, _ = io.WriteString(w, "prefix:"+string(gotBody))
	})))
	defer sdk.Close()
	if resp, out := e.register(`{"uri":"` + sdk.URL + `","additional_headers":{"x-token":"t"}}`); resp.StatusCode != 201 {
		t.Fatalf("register: %d %v", resp.StatusCode, out)
	}

	resp, body := e.do("POST", "/internal/services/Greeter/serdes/encode/greet/input", "application/json", `{"value":"a"}`)
	if resp.StatusCode != 200 || string(body) != `prefix:{"value":"a"}` || resp.Header.Get("Content-Type") != "application/x-prefixed+json" {
		t.Fatalf("encode: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if gotPath != "/serdes/Greeter/encode/greet/input" || gotToken != "t" || gotCT != "application/json" || string(gotBody) != `{"value":"a"}` {
		t.Fatalf("deployment got %s token %q content type %q body %q", gotPath, gotToken, gotCT, gotBody)
	}
	resp, body = e.do("POST", "/v3/internal/services/Greeter/serdes/decode/greet/output", "", `prefix:1`)
	if resp.StatusCode != 200 || gotPath != "/serdes/Greeter/decode/greet/output" || string(body) != "prefix:prefix:1" {
		t.Fatalf("decode: %d %q, deployment got %s", resp.StatusCode, body, gotPath)
	}
	resp, body = e.do("POST", "/internal/services/Greeter/serdes/encode/noPreview/input", "application/json", `1`)
	if resp.StatusCode != 500 || !strings.Contains(string(body), "No previewable serde") {
		t.Fatalf("serde without preview: %d %q, want 500 with the deployment's answer", resp.StatusCode, body)
	}
	resp, body = e.do("POST", "/internal/services/Nope/serdes/encode/x/input", "application/json", `1`)
	if resp.StatusCode != 404 {
		t.Fatalf("unknown service: %d %q, want 404", resp.StatusCode, body)
	}
}
