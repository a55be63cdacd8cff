package admin_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/registry"
)

const sdkGoManifest = `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[
{"name":"Greeter","documentation":"","ty":"SERVICE","retryPolicyMaxAttempts":4,"abortTimeout":120000,"handlers":[
 {"name":"greet","documentation":"","retryPolicyInitialInterval":250,"retryPolicyMaxAttempts":2,"inactivityTimeout":30000,"input":{"required":true,"contentType":"application/json","jsonSchema":{"type":"string"}},"output":{"contentType":"application/json","jsonSchema":{"type":"string"}}},
 {"name":"noop","input":{"required":false},"output":{"setContentTypeIfEmpty":false}}]},
{"name":"Signup","ty":"WORKFLOW","handlers":[{"name":"run","ty":"WORKFLOW"},{"name":"click","ty":"SHARED"}]}]}`

// testPolicy is the invoker's default policy the admin API must report (values no default has).
var testPolicy = invoker.Policy{
	Retry:             invoker.RetryPolicy{InitialInterval: 123 * time.Millisecond, Factor: 3, MaxInterval: 45 * time.Second},
	InactivityTimeout: 2 * time.Minute, AbortTimeout: 7 * time.Minute,
}

type env struct {
	t   *testing.T
	srv *httptest.Server
	reg *registry.Registry
}

func newEnv(t *testing.T) *env {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := registry.Client{Propose: reg.ProposeLocal, Now: func() time.Time { return time.UnixMilli(1_790_000_000_123) }}
	h := admin.New(admin.Config{Version: "0.1.0", IngressEndpoint: "http://127.0.0.1:8080/", MaxBodySize: 512, Policy: testPolicy},
		admin.Deps{Registry: reg, Register: c.Register, Discovery: discoverytest.Client()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, reg: reg}
}

func (e *env) do(method, path, contentType, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp, buf.Bytes()
}

func (e *env) register(body string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, b := e.do("POST", "/deployments", "application/json", body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("register response %d %q: %v", resp.StatusCode, b, err)
	}
	return resp, out
}

func TestRegisterAndRead(t *testing.T) {
	e := newEnv(t)
	sdk := discoverytest.NewServer(sdkGoManifest, "")
	defer sdk.Close()

	resp, out := e.register(`{"uri":"` + sdk.URL + `","additional_headers":{"x-token":"t"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d %v", resp.StatusCode, out)
	}
	id := out["id"].(string)
	if !strings.HasPrefix(id, "dp_1") || resp.Header.Get("Location") != "deployments/"+id ||
		out["min_protocol_version"].(float64) != 5 || out["sdk_version"] != discoverytest.SDKVersion || out["uri"] != nil {
		t.Fatalf("register response %v %v", resp.Header, out)
	}
	if r := <-sdk.Requests; r.Header.Get("x-token") != "t" || r.ProtoMajor != 2 {
		t.Fatalf("discovery request %v", r.Header)
	}

	// Again: 200, same id.
	resp, again := e.register(`{"uri":"` + sdk.URL + `/","additional_headers":{"x-token":"t"},"force":false}`)
	if resp.StatusCode != 200 || again["id"] != id {
		t.Fatalf("again %d %v", resp.StatusCode, again)
	}

	// Changed services: 409 unless forced; dry run reports without applying.
	sdk.SetManifest(strings.Replace(sdkGoManifest, `"name":"noop"`, `"name":"noop2"`, 1))
	resp, conflict := e.register(`{"uri":"` + sdk.URL + `","additional_headers":{"x-token":"t"}}`)
	if resp.StatusCode != 409 || conflict["restate_code"] != "META0004" || !strings.Contains(conflict["message"].(string), "force") {
		t.Fatalf("conflict %d %v", resp.StatusCode, conflict)
	}
	resp, _ = e.register(`{"uri":"` + sdk.URL + `","additional_headers":{"x-token":"t"},"force":true,"dry_run":true}`)
	if _, ok := e.reg.Handler("Greeter", "noop2"); resp.StatusCode != 200 || ok {
		t.Fatalf("dry run %d applied=%v", resp.StatusCode, ok)
	}
	resp, forced := e.register(`{"uri":"` + sdk.URL + `","additional_headers":{"x-token":"t"},"force":true}`)
	if resp.StatusCode != 200 || forced["id"] != id {
		t.Fatalf("forced %d %v", resp.StatusCode, forced)
	}

	// Reads.
	resp, b := e.do("GET", "/deployments", "", "")
	var list struct {
		Deployments []map[string]any `json:"deployments"`
	}
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 || len(list.Deployments) != 1 {
		t.Fatalf("list %d %s", resp.StatusCode, b)
	}
	d := list.Deployments[0]
	for k, want := range map[string]any{"id": id, "uri": sdk.URL + "/", "protocol_type": "BidiStream", "http_version": "HTTP/2.0",
		"created_at": "2026-09-21T14:13:20.123Z", "max_protocol_version": 7.0, "sdk_version": discoverytest.SDKVersion} {
		if d[k] != want {
			t.Errorf("deployment %s = %v, want %v", k, d[k], want)
		}
	}
	if svcs := d["services"].([]any); len(svcs) != 2 || svcs[0].(map[string]any)["name"] != "Greeter" || svcs[0].(map[string]any)["revision"] != 2.0 {
		t.Errorf("deployment services %v", d["services"])
	}

	resp, b = e.do("GET", "/v3/deployments/"+id, "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"handlers"`) {
		t.Fatalf("get deployment %d %s", resp.StatusCode, b)
	}

	resp, b = e.do("GET", "/services/Signup", "", "")
	var svc map[string]any
	_ = json.Unmarshal(b, &svc)
	for k, want := range map[string]any{"name": "Signup", "ty": "Workflow", "deployment_id": id, "revision": 1.0, "public": true,
		"idempotency_retention": "1d", "journal_retention": "1d", "inactivity_timeout": "2m", "abort_timeout": "7m",
		"enable_lazy_state": false, "workflow_completion_retention": "1d"} {
		if svc[k] != want {
			t.Errorf("service %s = %v, want %v", k, svc[k], want)
		}
	}
	// The retry policy and timeouts are the invoker's, as it applies them (testPolicy): unlimited
	// attempts show as a null max_attempts.
	rp, _ := json.Marshal(svc["retry_policy"])
	if want := `{"exponentiation_factor":3,"initial_interval":"123ms","max_attempts":null,"max_interval":"45s","on_max_attempts":"Pause"}`; string(rp) != want {
		t.Errorf("Signup retry policy %s, want %s", rp, want)
	}
	// Greeter's manifest overrides its service's max attempts and abort timeout, and greet's
	// initial interval, max attempts and inactivity timeout: the service shows its own with the
	// defaults, the handler only what differs from its service.
	resp, b = e.do("GET", "/services/Greeter", "", "")
	var greeter struct {
		InactivityTimeout string          `json:"inactivity_timeout"`
		AbortTimeout      string          `json:"abort_timeout"`
		RetryPolicy       json.RawMessage `json:"retry_policy"`
		Handlers          []struct {
			Name              string          `json:"name"`
			InactivityTimeout string          `json:"inactivity_timeout"`
			AbortTimeout      string          `json:"abort_timeout"`
			RetryPolicy       json.RawMessage `json:"retry_policy"`
		} `json:"handlers"`
	}
	if err := json.Unmarshal(b, &greeter); err != nil || resp.StatusCode != 200 || len(greeter.Handlers) != 2 {
		t.Fatalf("Greeter %d %s", resp.StatusCode, b)
	}
	if want := `{"initial_interval":"123ms","exponentiation_factor":3,"max_attempts":4,"max_interval":"45s","on_max_attempts":"Pause"}`; string(greeter.RetryPolicy) != want ||
		greeter.InactivityTimeout != "2m" || greeter.AbortTimeout != "2m" {
		t.Errorf("Greeter: inactivity %s abort %s retry %s, want 2m 2m %s", greeter.InactivityTimeout, greeter.AbortTimeout, greeter.RetryPolicy, want)
	}
	for _, h := range greeter.Handlers {
		want := `{"initial_interval":null,"exponentiation_factor":null,"max_attempts":null,"max_interval":null,"on_max_attempts":null}`
		inactivity := ""
		if h.Name == "greet" {
			want = `{"initial_interval":"250ms","exponentiation_factor":null,"max_attempts":2,"max_interval":null,"on_max_attempts":null}`
			inactivity = "30s"
		}
		if string(h.RetryPolicy) != want || h.InactivityTimeout != inactivity || h.AbortTimeout != "" {
			t.Errorf("Greeter/%s: inactivity %q abort %q retry %s, want %q \"\" %s", h.Name, h.InactivityTimeout, h.AbortTimeout, h.RetryPolicy, inactivity, want)
		}
	}

	resp, b = e.do("GET", "/services/Greeter/handlers/greet", "", "")
	var h map[string]any
	_ = json.Unmarshal(b, &h)
	if resp.StatusCode != 200 || h["input_description"] != "JSON string" || h["output_description"] != "JSON string" ||
		h["ty"] != nil || h["public"] != true || h["input_json_schema"] == nil {
		t.Fatalf("handler %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/v4/services/Greeter/handlers", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"input_description":"none"`) {
		t.Fatalf("handlers %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/services", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"ty":"Service"`) {
		t.Fatalf("services %d %s", resp.StatusCode, b)
	}

	// A second URI exposing the same services: 201, new id, revision bumped.
	sdk2 := discoverytest.NewServer(sdkGoManifest, "")
	defer sdk2.Close()
	resp, second := e.register(`{"uri":"` + sdk2.URL + `"}`)
	if resp.StatusCode != 201 || second["id"] == id || second["services"].([]any)[0].(map[string]any)["revision"] != 3.0 {
		t.Fatalf("second %d %v", resp.StatusCode, second)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	notSDK := httptest.NewServer(discoverytest.H2CHandler(http.NotFoundHandler()))
	defer notSDK.Close()

	tests := []struct {
		name, method, path, ct, body string
		status                       int
		contentType                  string // prefix
		contains                     string
		code                         string // restate_code, for JSON errors
	}{
		{"discovery refused", "POST", "/deployments", "application/json", `{"uri":"` + refused + `"}`, 500, "application/json", "refused", "META0003"},
		{"discovery 404", "POST", "/deployments", "application/json", `{"uri":"` + notSDK.URL + `"}`, 500, "application/json", "'404'", "META0003"},
		{"relative uri", "POST", "/deployments", "application/json", `{"uri":"localhost:9080"}`, 400, "application/json", "The request field 'uri' is invalid", ""},
		{"lambda", "POST", "/deployments", "application/json", `{"arn":"arn:aws:lambda:x"}`, 400, "application/json", "Lambda", ""},
		{"empty body", "POST", "/deployments", "application/json", ``, 400, "application/json", "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0", ""},
		{"malformed json", "POST", "/deployments", "application/json", `{"uri":`, 400, "application/json", "Failed to parse the request body as JSON: uri: EOF while parsing a value at line 1 column 7", ""},
		{"open object", "POST", "/deployments", "application/json", `{`, 400, "application/json", "Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 1", ""},
		{"wrong type", "POST", "/deployments", "application/json", `{"uri":1}`, 422, "application/json", "data did not match any variant of untagged enum RegisterDeploymentRequest", ""},
		{"missing uri", "POST", "/deployments", "application/json", `{}`, 422, "application/json", "data did not match any variant of untagged enum RegisterDeploymentRequest", ""},
		{"no content type", "POST", "/deployments", "", `{"uri":"http://x"}`, 415, "application/json", "Content-Type: application/json", ""},
		{"too large", "POST", "/deployments", "application/json", `{"uri":"` + strings.Repeat("x", 600) + `"}`, 413, "application/json", "length limit", ""},
		{"unknown service", "GET", "/services/Nope", "", "", 404, "application/json", "The requested service 'Nope' does not exist", ""},
		{"unknown service handlers", "GET", "/services/Nope/handlers", "", "", 404, "application/json", "does not exist", ""},
		{"unknown deployment", "GET", "/deployments/dp_10000000000000000000000", "", "", 404, "application/json", "does not exist", ""},
		{"bad deployment id", "GET", "/deployments/nope", "", "", 400, "application/json", "Invalid URL: Cannot parse `deployment` with value `nope`: bad format", ""},
		{"v1", "GET", "/v1/services", "", "", 400, "application/json", "Unsupported Admin API version V1. This server supports versions between V2 and V4.", ""},
		// restate-server 1.7.12 answers /v5 and unknown routes 404, wrong methods 405, with
		// empty bodies, and the requests refused above as text/plain; ours carry its JSON error
		// shape (tests/officialserver compares them).
		{"v5", "GET", "/v5/services", "", "", 404, "application/json", "no admin API route matches GET /v5/services", ""},
		{"unknown route", "POST", "/nope", "", "", 404, "application/json", "no admin API route matches POST /nope", ""},
		{"method", "DELETE", "/services", "", "", 405, "application/json", "DELETE /services accepts GET, HEAD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(tt.method, tt.path, tt.ct, tt.body)
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(b), tt.contains) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if tt.contentType != "application/json" {
				return
			}
			var er struct {
				Message     string  `json:"message"`
				RestateCode *string `json:"restate_code"`
			}
			if err := json.Unmarshal(b, &er); err != nil {
				t.Fatal(err)
			}
			got := ""
			if er.RestateCode != nil {
				got = *er.RestateCode
			}
			if got != tt.code || (tt.code != "" && !strings.HasPrefix(er.Message, "["+tt.code+"]")) {
				t.Fatalf("restate_code %q message %q, want %q", got, er.Message, tt.code)
			}
		})
	}
	if resp, b := e.do("GET", "/services/Nope", "", ""); string(b) != `{"message":"The requested service 'Nope' does not exist","restate_code":null}` {
		t.Fatalf("exact 404 body %d %s", resp.StatusCode, b)
	}
}

func TestHealthAndVersion(t *testing.T) {
	e := newEnv(t)
	resp, b := e.do("GET", "/health", "", "")
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("health %d %q", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/v2/version", "", "")
	want := `{"version":"0.1.0","min_admin_api_version":2,"max_admin_api_version":4,"ingress_endpoint":"http://127.0.0.1:8080/","features":{"protocol_v7":false}}`
	if resp.StatusCode != 200 || string(b) != want {
		t.Fatalf("version %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/deployments", "", "")
	if resp.StatusCode != 200 || string(b) != `{"deployments":[]}` {
		t.Fatalf("empty list %d %s", resp.StatusCode, b)
	}
}
