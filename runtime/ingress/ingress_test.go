package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/registry"
)

const testManifest = `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[
{"name":"Greeter","ty":"SERVICE","handlers":[
  {"name":"greet","input":{"required":false,"contentType":"application/json"},"output":{"contentType":"application/json"}},
  {"name":"noop","input":{"required":false},"output":{"setContentTypeIfEmpty":false}},
  {"name":"any"},
  {"name":"fail"}]},
{"name":"Counter","ty":"VIRTUAL_OBJECT","handlers":[
  {"name":"add","ty":"EXCLUSIVE","input":{"required":true,"contentType":"application/json"},"output":{"contentType":"application/json"}},
  {"name":"get","ty":"SHARED","input":{"required":false}}]},
{"name":"Signup","ty":"WORKFLOW","handlers":[{"name":"run","ty":"WORKFLOW"},{"name":"click","ty":"SHARED"}]},
{"name":"Blob","ty":"SERVICE","handlers":[{"name":"put","input":{"required":true,"contentType":"application/octet-stream"},"output":{"contentType":"application/octet-stream","setContentTypeIfEmpty":true}}]},
{"name":"Hidden","ty":"SERVICE","ingressPrivate":true,"handlers":[{"name":"h"}]}]}`

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	m, err := discovery.ParseManifest([]byte(testManifest), "application/vnd.restate.endpointmanifest.v4+json")
	if err != nil {
		t.Fatal(err)
	}
	c := registry.Client{Propose: reg.ProposeLocal}
	if _, err := c.Register(context.Background(), registry.RegisterRequest{URI: "http://sdk:9080", Manifest: m}); err != nil {
		t.Fatal(err)
	}
	return reg
}

// fakeDispatcher records invocations; Call answers from results by handler name. It does not
// deduplicate: Send reports "previously accepted" only when the test sets duplicate, so these
// tests check what the ingress does with the partition's answer, and the dedup itself is tested
// through the real server (runtime/server/idempotency_test.go).
type fakeDispatcher struct {
	mu        sync.Mutex
	invs      []command.Invocation
	duplicate bool
	results   map[string]command.Result
	err       error
	signals   []command.Signal
}

func (f *fakeDispatcher) Signal(_ context.Context, sig command.Signal) error {
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, sig)
	return nil
}

func (f *fakeDispatcher) record(inv command.Invocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invs = append(f.invs, inv)
}

func (f *fakeDispatcher) setDuplicate(d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.duplicate = d
}

func (f *fakeDispatcher) Send(_ context.Context, inv command.Invocation) (bool, int64, error) {
	if f.err != nil {
		return false, 0, f.err
	}
	f.record(inv)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.duplicate, inv.ExecutionTime, nil
}

func (f *fakeDispatcher) Call(_ context.Context, inv command.Invocation) (command.Result, error) {
	if f.err != nil {
		return command.Result{}, f.err
	}
	f.record(inv)
	if r, ok := f.results[inv.Target.Handler]; ok {
		return r, nil
	}
	return command.Result{Value: []byte(`"hello"`)}, nil
}

func (f *fakeDispatcher) last() (command.Invocation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.invs) == 0 {
		return command.Invocation{}, false
	}
	return f.invs[len(f.invs)-1], true
}

type errBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

var fixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newHandler(t *testing.T, d *fakeDispatcher) *ingress.Handler {
	return ingress.New(ingress.Config{MaxBodySize: 64, Now: func() time.Time { return fixedNow }}, newRegistry(t), d)
}

func TestErrors(t *testing.T) {
	h := newHandler(t, &fakeDispatcher{results: map[string]command.Result{
		"fail": {Failure: &command.Failure{Code: 418, Message: "teapot"}},
	}})
	jsonCT := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		source  string
		message string // substring
	}{
		{"unknown service", "POST", "/Nope/x", nil, "", 404, "ingress", "service 'Nope' not found, make sure to register the service before calling it."},
		{"unknown handler", "POST", "/Greeter/nope", nil, "", 404, "ingress", "the service 'Greeter' exists, but the handler 'nope' was not found, check that the handler exists in the latest registered service version."},
		{"object without key", "POST", "/Counter/add", nil, "", 400, "ingress", "bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler"},
		{"service with key", "POST", "/Greeter/k/greet", nil, "", 400, "ingress", "bad path, expected either"},
		{"too many segments", "POST", "/Greeter/greet/send/x", nil, "", 400, "ingress", "bad path, expected either"},
		{"trailing slash", "POST", "/Greeter/greet/", nil, "", 400, "ingress", "bad path, expected either"},
		{"one segment", "GET", "/health", nil, "", 400, "ingress", "bad path: /health"},
		{"root", "GET", "/", nil, "", 400, "ingress", "bad path: /"},
		{"too deep", "GET", "/a/b/c/d/e/f/g/h", nil, "", 400, "ingress", "bad path: /a/b/c/d/e/f/g/h"},
		{"openapi", "GET", "/openapi/x", nil, "", 404, "ingress", "not found"},
		{"unknown restate verb", "GET", "/restate/nope", nil, "", 404, "ingress", "not found"},
		{"put", "PUT", "/Greeter/greet", nil, "", 405, "ingress", "method not allowed"},
		{"delete", "DELETE", "/Counter/k/add", nil, "", 405, "ingress", "method not allowed"},
		{"patch send", "PATCH", "/Greeter/greet/send", nil, "", 405, "ingress", "method not allowed"},
		{"private", "POST", "/Hidden/h", nil, "", 400, "ingress", "not public"},
		{"body to no-input handler", "POST", "/Greeter/noop", jsonCT, "1", 400, "ingress", "input validation error: Expected body and content-type to be empty"},
		{"missing required body", "POST", "/Counter/k/add", nil, "", 400, "ingress", "input validation error: Empty content-type"},
		{"wrong content type", "POST", "/Greeter/greet", map[string]string{"Content-Type": "text/plain"}, "hi", 400, "ingress", "input validation error: Content-type 'text/plain' does not match 'application/json'"},
		{"body without content type", "POST", "/Greeter/any", nil, "x", 400, "ingress", "Empty content-type"},
		{"bad json", "POST", "/Greeter/greet", jsonCT, `{"a":1,bad}`, 400, "ingress", "invalid JSON body at offset 8"},
		{"truncated json", "POST", "/Counter/k/add", jsonCT, `{"a":`, 400, "ingress", "invalid JSON body"},
		{"json trailing garbage", "POST", "/Greeter/greet", jsonCT, `1 2`, 400, "ingress", "invalid JSON body"},
		{"too large", "POST", "/Blob/put", map[string]string{"Content-Type": "application/octet-stream"}, strings.Repeat("x", 65), 413, "ingress", "request body too large: the limit is 64 bytes"},
		{"delay on call", "POST", "/Greeter/greet?delay=10s", nil, "", 400, "ingress", "cannot use the delay query parameter with calls"},
		{"bad delay on send", "POST", "/Greeter/greet/send?delay=soon", nil, "", 400, "ingress", "bad delay query parameter, must be a ISO8601 duration: failed to parse input in the \"friendly\" duration format: expected duration to start with a unit value"},
		{"negative delay on send", "POST", "/Greeter/greet/send?delay=-5s", nil, "", 400, "ingress", "bad delay query parameter, must be a ISO8601 duration: negative signed durations cannot be converted to an unsigned duration"},
		{"idempotency key on workflow run", "POST", "/Signup/k/run", map[string]string{"Idempotency-Key": "a"}, "", 400, "ingress", "cannot use the idempotency key with workflow handlers"},
		{"empty idempotency key", "POST", "/Greeter/greet", map[string]string{"Idempotency-Key": " "}, "", 400, "ingress", "idempotency-key"},
		{"invocation failure", "POST", "/Greeter/fail", nil, "", 418, "invocation", "teapot"},
		{"bad header value", "POST", "/Greeter/greet", map[string]string{"X-Bin": "caf\xc3\xa9"}, "", 400, "ingress", "bad header x-bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			var e errBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if e.Code != tt.status || e.Source != tt.source || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("error %+v, want code %d source %s message ~%q", e, tt.status, tt.source, tt.message)
			}
			if got := rec.Header().Get("x-restate-error-source"); got != tt.source {
				t.Fatalf("x-restate-error-source %q", got)
			}
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "GET, POST" {
				t.Fatalf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestErrorBodyExactShape(t *testing.T) {
	h := newHandler(t, &fakeDispatcher{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/Nope/x", nil))
	want := `{"code":404,"message":"service 'Nope' not found, make sure to register the service before calling it.","source":"ingress"}`
	if rec.Body.String() != want {
		t.Fatalf("body %s\nwant %s", rec.Body, want)
	}
}

func TestInvocationFailureStatus(t *testing.T) {
	for _, tt := range []struct {
		code   uint16
		status int
	}{{418, 418}, {500, 500}, {409, 409}, {99, 500}, {1000, 500}, {0, 500}, {999, 999}} {
		d := &fakeDispatcher{results: map[string]command.Result{"fail": {Failure: &command.Failure{Code: tt.code, Message: "m"}}}}
		rec := httptest.NewRecorder()
		newHandler(t, d).ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/fail", nil))
		var e errBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != tt.status || e.Code != int(tt.code) || e.Source != "invocation" || rec.Header().Get("x-restate-id") == "" {
			t.Errorf("code %d: status %d body %s", tt.code, rec.Code, rec.Body)
		}
	}
}

func TestDispatcherError(t *testing.T) {
	d := &fakeDispatcher{err: errors.New("no leader")}
	rec := httptest.NewRecorder()
	newHandler(t, d).ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/greet", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "no leader") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestCall(t *testing.T) {
	d := &fakeDispatcher{}
	h := newHandler(t, d)
	req := httptest.NewRequest("POST", "/Greeter/greet?x=1", strings.NewReader(`"Ada"`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Custom", "v")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Header.Set("Connection", "keep-alive")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != `"hello"` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %v", rec.Code, rec.Body, rec.Header())
	}
	inv, _ := d.last()
	if rec.Header().Get("x-restate-id") != inv.ID.String() || rec.Header().Get("idempotency-expires") != "" {
		t.Fatalf("headers %v", rec.Header())
	}
	want := []command.Header{
		{Key: "x-restate-ingress-path", Value: "/Greeter/greet?x=1"},
		{Key: "content-type", Value: "application/json"},
		{Key: "x-custom", Value: "v"},
		{Key: "x-multi", Value: "1"}, {Key: "x-multi", Value: "2"},
	}
	if !equalHeaders(inv.Headers, want) {
		t.Fatalf("headers %v\nwant %v", inv.Headers, want)
	}
	if inv.Target != (command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}) || string(inv.Input) != `"Ada"` || inv.IdempotencyKey != "" {
		t.Fatalf("invocation %+v", inv)
	}
}

// A +json content type other than application/json is the deployment's serde's, not JSON: the
// ingress passes it through unparsed, as restate-server does (sdk-typescript's
// ingress_default_serde e2e services read "ingress-default:{…}" as
// application/x-ingress-default+json).
func TestCustomJSONSerdeNotParsed(t *testing.T) {
	d := &fakeDispatcher{}
	h := newHandler(t, d)
	req := httptest.NewRequest("POST", "/Greeter/any", strings.NewReader(`ingress-default:{"value":"x"}`))
	req.Header.Set("Content-Type", "application/x-ingress-default+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d, body %s; want 200", rec.Code, rec.Body)
	}
	if inv, _ := d.last(); string(inv.Input) != `ingress-default:{"value":"x"}` {
		t.Fatalf("input %q", inv.Input)
	}
}

func equalHeaders(a, b []command.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCallOutputContentType(t *testing.T) {
	d := &fakeDispatcher{results: map[string]command.Result{"put": {}, "get": {Value: []byte("7")}, "noop": {}}}
	h := newHandler(t, d)
	for _, tt := range []struct{ path, ct, body, want string }{
		{"/Blob/put", "application/octet-stream", "x", "application/octet-stream"}, // set even if empty
		{"/Counter/k/get", "", "", "application/json"},                             // default output
		{"/Greeter/noop", "", "", ""},                                              // no output content type
	} {
		req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
		if tt.ct != "" {
			req.Header.Set("Content-Type", tt.ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tt.want {
			t.Errorf("%s: %d content type %q, want %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.want)
		}
	}
}

func TestGetCallAndKeyDecoding(t *testing.T) {
	d := &fakeDispatcher{}
	h := newHandler(t, d)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/Counter/a%2Fb%20c/get", nil))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	inv, _ := d.last()
	if inv.Target.Key != "a/b c" || inv.Target.HandlerType != command.Shared || inv.Target.ServiceType != command.VirtualObject {
		t.Fatalf("target %+v", inv.Target)
	}
	if inv.ID.PartitionKey != ids.KeyedPartitionKey("Counter", "a/b c") {
		t.Fatal("keyed invocation not in its key's partition")
	}
	if inv.Headers[0].Value != "/Counter/a%2Fb%20c/get" {
		t.Fatalf("ingress path %q", inv.Headers[0].Value)
	}
}

// TestSendAndIdempotency: the ingress derives the invocation id from the target and the
// idempotency key (so a retry names the same invocation), never forwards the key as a header,
// and reports the partition's "already there" answer as PreviouslyAccepted.
func TestSendAndIdempotency(t *testing.T) {
	d := &fakeDispatcher{}
	h := newHandler(t, d)
	send := func(path, key string) (int, map[string]string, http.Header) {
		req := httptest.NewRequest("POST", path, bytes.NewReader([]byte(`1`)))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out, rec.Header()
	}
	code, first, hdr := send("/Counter/k/add/send", "key-1")
	if code != 202 || first["status"] != "Accepted" || !strings.HasPrefix(first["invocationId"], "inv_1") || hdr.Get("x-restate-id") != first["invocationId"] {
		t.Fatalf("first send %d %v", code, first)
	}
	inv, _ := d.last()
	want := ids.Idempotent(ids.Target{Service: "Counter", Key: "k", Handler: "add"}, true, "key-1")
	if inv.ID != want || inv.IdempotencyKey != "key-1" || first["invocationId"] != want.String() {
		t.Fatalf("id %v (answered %s), want %v", inv.ID, first["invocationId"], want)
	}
	for _, hd := range inv.Headers {
		if hd.Key == "idempotency-key" {
			t.Fatal("idempotency-key forwarded")
		}
	}
	d.setDuplicate(true)
	_, again, _ := send("/Counter/k/add/send", "key-1")
	if again["status"] != "PreviouslyAccepted" || again["invocationId"] != first["invocationId"] {
		t.Fatalf("second send %v", again)
	}
	if inv, _ := d.last(); inv.ID != want {
		t.Fatalf("retry dispatched %v, want %v", inv.ID, want)
	}
	d.setDuplicate(false)
	_, other, _ := send("/Counter/k/add/send", "key-2")
	if other["invocationId"] == first["invocationId"] || other["invocationId"] != ids.Idempotent(ids.Target{Service: "Counter", Key: "k", Handler: "add"}, true, "key-2").String() {
		t.Fatalf("key-2 got %v", other)
	}
	_, plain1, _ := send("/Greeter/greet/send", "")
	_, plain2, _ := send("/Greeter/greet/send", "")
	if plain1["invocationId"] == plain2["invocationId"] || plain1["status"] != "Accepted" {
		t.Fatalf("plain sends %v %v", plain1, plain2)
	}
	if inv, _ := d.last(); inv.IdempotencyKey != "" {
		t.Fatalf("plain send carries idempotency key %q", inv.IdempotencyKey)
	}

	// An idempotent call carries idempotency-expires and the derived id.
	req := httptest.NewRequest("POST", "/Greeter/greet", nil)
	req.Header.Set("Idempotency-Key", "c")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("idempotency-expires") != fixedNow.Add(24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("idempotency-expires %q", rec.Header().Get("idempotency-expires"))
	}
	if rec.Header().Get("x-restate-id") != ids.Idempotent(ids.Target{Service: "Greeter", Handler: "greet"}, false, "c").String() {
		t.Fatal("idempotent call id")
	}
}

func TestWorkflowRunID(t *testing.T) {
	d := &fakeDispatcher{}
	h := newHandler(t, d)
	var got []string
	for i := range 2 {
		d.setDuplicate(i == 1) // the partition's answer the second time
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/Signup/u1/run/send", nil))
		var out map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		got = append(got, out["invocationId"]+" "+out["status"])
	}
	inv, _ := d.last()
	if !strings.HasSuffix(got[0], " Accepted") || !strings.HasSuffix(got[1], " PreviouslyAccepted") || strings.Fields(got[0])[0] != inv.ID.String() ||
		strings.Fields(got[1])[0] != inv.ID.String() || inv.ID != ids.Workflow("Signup", "u1") {
		t.Fatalf("workflow run sends %v", got)
	}
	if inv.Target.HandlerType != command.WorkflowHandler || inv.Target.ServiceType != command.Workflow {
		t.Fatalf("target %+v", inv.Target)
	}
}

func TestHealth(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(t, &fakeDispatcher{}).ServeHTTP(rec, httptest.NewRequest("GET", "/restate/health", nil))
	if rec.Code != 200 || rec.Body.String() != `{"services":["Blob","Counter","Greeter","Hidden","Signup"]}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestBodyLimitReadsAtMostLimitPlusOne checks that an oversized body without Content-Length is cut
// off after limit+1 bytes.
func TestBodyLimitReadsAtMostLimitPlusOne(t *testing.T) {
	r := &countingReader{}
	req := httptest.NewRequest("POST", "/Blob/put", r)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/octet-stream")
	rec := httptest.NewRecorder()
	newHandler(t, &fakeDispatcher{}).ServeHTTP(rec, req)
	if rec.Code != 413 || r.n != 65 {
		t.Fatalf("status %d, read %d bytes", rec.Code, r.n)
	}
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > 1<<20 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'x'
	}
	c.n += len(p)
	return len(p), nil
}

func TestDelayedSend(t *testing.T) {
	d := &fakeDispatcher{}
	now := time.Date(2026, 11, 23, 14, 20, 23, 761e6, time.UTC)
	h := ingress.New(ingress.Config{Now: func() time.Time { return now }}, newRegistry(t), d)
	for _, tt := range []struct {
		delay string
		want  time.Duration
	}{{"10s", 10 * time.Second}, {"1m30s", 90 * time.Second}, {"2d", 48 * time.Hour}, {"1d1h", 25 * time.Hour}} {
		req := httptest.NewRequest("POST", "/Counter/k/add/send?delay="+tt.delay, bytes.NewReader([]byte(`1`)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		inv, _ := d.last()
		at := now.Add(tt.want)
		if rec.Code != 202 || inv.ExecutionTime != at.UnixMilli() || out["executionTime"] != at.Format("2006-01-02T15:04:05.000000000Z") {
			t.Errorf("delay %s: %d %v, execution time %d", tt.delay, rec.Code, out, inv.ExecutionTime)
		}
	}
}

// A terminal failure's metadata (protocol V6+) is answered in the error body, as restate-server
// writes it ({"code","message","metadata":{…},"source"}); a failure without metadata has no such
// field.
func TestFailureMetadataAnswered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failure *command.Failure
		want    string
	}{
		{"with metadata", &command.Failure{Code: 402, Message: "declined", Metadata: []command.MetadataEntry{{Key: "reason", Value: "funds"}, {Key: "try", Value: "2"}}},
			`{"code":402,"message":"declined","metadata":{"reason":"funds","try":"2"},"source":"invocation"}`},
		{"without", &command.Failure{Code: 402, Message: "declined"}, `{"code":402,"message":"declined","source":"invocation"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, &fakeDispatcher{results: map[string]command.Result{"fail": {Failure: tc.failure}}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/Greeter/fail", nil))
			if rec.Code != 402 || rec.Body.String() != tc.want {
				t.Fatalf("%d %s, want 402 %s", rec.Code, rec.Body, tc.want)
			}
		})
	}
}
