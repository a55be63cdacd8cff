package ingress_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestScope: scoped calls and sends (the TS client's ingress.scope(…)) answered as
// restate-server 1.7.12 with its default configuration (vqueues off) answered the same requests:
// the path, the target, the idempotency key and the scope are checked in its order, and then the
// invocation is refused; nothing reaches the dispatcher.
func TestScope(t *testing.T) {
	const (
		needsVQueues = "scoped invocations require vqueues to be enabled"
		badAPIPath   = "bad path, expected /restate/call/:service/:handler, /restate/send/:service/:handler, /restate/scope/:scope/call/:service/:handler, /restate/attach/:invocation_id, /restate/output/:invocation_id, or /restate/lookup"
		badChars     = "bad scope value: value contains characters outside the allowed set [a-zA-Z0-9_.-]"
		badIdem      = "bad header idempotency-key: ToStrError { _priv: () }"
		nonASCII     = "\xc3\xbc"
	)
	for _, tt := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		message            string
	}{
		{"call", "POST", "/restate/scope/t1/call/Greeter/greet", nil, 400, needsVQueues},
		{"send", "POST", "/restate/scope/t1/send/Greeter/greet", nil, 400, needsVQueues},
		{"object", "POST", "/restate/scope/t1/call/Counter/k/add", nil, 400, needsVQueues},
		{"workflow", "POST", "/restate/scope/t1/send/Signup/k/run", nil, 400, needsVQueues},
		{"any method, any body", "PUT", "/restate/scope/t1/call/Counter/k/add", map[string]string{"Content-Type": "text/plain"}, 400, needsVQueues},
		{"empty idempotency key", "POST", "/restate/scope/t1/call/Greeter/greet", map[string]string{"Idempotency-Key": ""}, 400, needsVQueues},
		{"limit key", "POST", "/restate/scope/t1/call/Greeter/greet", map[string]string{"X-Restate-Limit-Key": "a b"}, 400, needsVQueues},
		{"escaped scope", "POST", "/restate/scope/%41/call/Greeter/greet", nil, 400, needsVQueues},
		{"scope of 36 bytes", "POST", "/restate/scope/" + strings.Repeat("x", 36) + "/call/Greeter/greet", nil, 400, needsVQueues},
		{"scope of 37 bytes", "POST", "/restate/scope/" + strings.Repeat("x", 37) + "/call/Greeter/greet", nil, 400, "bad scope value: value too long: 37 bytes (max 36)"},
		{"empty scope", "POST", "/restate/scope//call/Greeter/greet", nil, 400, "bad scope value: value cannot be empty"},
		{"space in scope", "POST", "/restate/scope/a%20b/call/Greeter/greet", nil, 400, badChars},
		{"escaped percent in scope", "POST", "/restate/scope/%2541/call/Greeter/greet", nil, 400, badChars},
		{"idempotency key before scope", "POST", "/restate/scope/a%20b/call/Greeter/greet", map[string]string{"Idempotency-Key": nonASCII}, 400, badIdem},
		{"workflow and idempotency key", "POST", "/restate/scope/t1/call/Signup/k/run", map[string]string{"Idempotency-Key": "a"}, 400, "cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself."},
		{"unknown handler before scope", "POST", "/restate/scope/a%20b/call/Greeter/nope", nil, 404, "the service 'Greeter' exists, but the handler 'nope' was not found, check that the handler exists in the latest registered service version."},
		{"unknown service before scope", "POST", "/restate/scope/a%20b/call/Nope/x", nil, 404, "service 'Nope' not found, make sure to register the service before calling it."},
		{"unknown service, short path", "POST", "/restate/scope/t1/call/Nope", nil, 404, "service 'Nope' not found, make sure to register the service before calling it."},
		{"no handler", "POST", "/restate/scope/t1/call/Greeter", nil, 400, badAPIPath},
		{"object without key", "POST", "/restate/scope/t1/call/Counter/add", nil, 400, badAPIPath},
		{"trailing segment", "POST", "/restate/scope/t1/call/Greeter/greet/x", nil, 400, badAPIPath},
		{"trailing send", "POST", "/restate/scope/t1/call/Greeter/greet/send", nil, 400, badAPIPath},
		{"unknown operation", "POST", "/restate/scope/t1/go/Greeter/greet", nil, 400, badAPIPath},
		{"scope only", "POST", "/restate/scope/t1", nil, 400, badAPIPath},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDispatcher{}
			h := newHandler(t, d)
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`"x"`))
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want, _ := json.Marshal(errBody{Code: tt.status, Message: tt.message, Source: "ingress"})
			if rec.Code != tt.status || rec.Body.String() != string(want) {
				t.Fatalf("%d %s\nwant %d %s", rec.Code, rec.Body, tt.status, want)
			}
			if _, dispatched := d.last(); dispatched {
				t.Fatal("a scoped request reached the dispatcher")
			}
		})
	}
}
