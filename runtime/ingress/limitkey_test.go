package ingress_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLimitKeyAndHeaderValues: limit keys (the TS client's limitKey option) and header values
// that are not visible ASCII (a non-ASCII idempotencyKey), answered as restate-server 1.7.12
// answered the same requests, message and order of the checks included. No refused request
// reaches the dispatcher.
func TestLimitKeyAndHeaderValues(t *testing.T) {
	const (
		needsScope = "limit-key requires a scope to be set"
		empty      = "invalid limit-key: invalid limit-key component: value cannot be empty"
		chars      = "invalid limit-key: invalid limit-key component: value contains characters outside the allowed set [a-zA-Z0-9_.-]"
		tooMany    = "invalid limit-key: too many path components in the given limit-key (max 2)"
		badIdem    = "bad header idempotency-key: ToStrError { _priv: () }"
		wfIdem     = "cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself."
	)
	const lk, nonASCII = "X-Restate-Limit-Key", "\xc3\xbc" // ü in UTF-8
	for _, tt := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		message            string // "" for a success
	}{
		{"call", "POST", "/Greeter/greet", map[string]string{lk: "tenant"}, 400, needsScope},
		{"two levels", "POST", "/Greeter/greet", map[string]string{lk: "tenant/user42"}, 400, needsScope},
		{"send", "POST", "/Greeter/greet/send", map[string]string{lk: "a"}, 400, needsScope},
		{"object", "POST", "/Counter/k/add", map[string]string{lk: "a", "Content-Type": "application/json"}, 400, needsScope},
		{"workflow", "POST", "/Signup/k/run", map[string]string{lk: "a"}, 400, needsScope},
		{"empty is none", "POST", "/Greeter/greet", map[string]string{lk: ""}, 200, ""},
		{"trailing slash", "POST", "/Greeter/greet", map[string]string{lk: "a/"}, 400, needsScope},
		{"two levels, trailing slash", "POST", "/Greeter/greet", map[string]string{lk: "a/b/"}, 400, needsScope},
		{"allowed characters, 36 bytes", "POST", "/Greeter/greet", map[string]string{lk: "a.b-c_D9" + strings.Repeat("x", 28)}, 400, needsScope},
		{"leading slash", "POST", "/Greeter/greet", map[string]string{lk: "/a"}, 400, empty},
		{"slash", "POST", "/Greeter/greet", map[string]string{lk: "/"}, 400, empty},
		{"empty middle", "POST", "/Greeter/greet", map[string]string{lk: "a//b"}, 400, empty},
		{"37 bytes", "POST", "/Greeter/greet", map[string]string{lk: strings.Repeat("x", 37)}, 400, "invalid limit-key: invalid limit-key component: value too long: 37 bytes (max 36)"},
		{"too long before characters", "POST", "/Greeter/greet", map[string]string{lk: strings.Repeat("x", 36) + " x"}, 400, "invalid limit-key: invalid limit-key component: value too long: 38 bytes (max 36)"},
		{"space", "POST", "/Greeter/greet", map[string]string{lk: "a b/x/y"}, 400, chars},
		{"tab", "POST", "/Greeter/greet", map[string]string{lk: "a\tb"}, 400, chars},
		{"star", "POST", "/Greeter/greet", map[string]string{lk: "a*"}, 400, chars},
		{"three levels", "POST", "/Greeter/greet", map[string]string{lk: "a/b/c"}, 400, tooMany},
		{"third level counted before checked", "POST", "/Greeter/greet", map[string]string{lk: "a/b/c d"}, 400, tooMany},
		{"two trailing slashes", "POST", "/Greeter/greet", map[string]string{lk: "a/b//"}, 400, tooMany},
		{"not ASCII", "POST", "/Greeter/greet", map[string]string{lk: nonASCII}, 400, "bad header x-restate-limit-key: ToStrError { _priv: () }"},
		{"method first", "PUT", "/Greeter/greet", map[string]string{lk: "a b"}, 405, "method not allowed"},
		{"content type first", "POST", "/Greeter/greet", map[string]string{lk: "a b", "Content-Type": "text/plain"}, 400, "input validation error: Content-type 'text/plain' does not match 'application/json'"},
		{"bad delay first", "POST", "/Greeter/greet/send?delay=zz", map[string]string{lk: "a"}, 400, "bad delay query parameter, must be a ISO8601 duration: failed to parse input in the \"friendly\" duration format: expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found"},
		{"limit key as a query parameter", "POST", "/Greeter/greet?limit-key=a", nil, 400, needsScope},
		{"bad limit key as a query parameter", "POST", "/Greeter/greet?x=1&Limit-Key=a+b&limit-key=a", nil, 400, chars},
		{"header before the query parameter", "POST", "/Greeter/greet?limit-key=a+b", map[string]string{lk: "a"}, 400, needsScope},
		{"before other headers", "POST", "/Greeter/greet", map[string]string{lk: "a", "X-Other": nonASCII}, 400, needsScope},
		{"before a call's delay", "POST", "/Greeter/greet?delay=1s", map[string]string{lk: "a"}, 400, needsScope},
		{"other header before a call's delay", "POST", "/Greeter/greet?delay=1s", map[string]string{"X-Other": nonASCII}, 400, "bad header x-other: ToStrError { _priv: () }"},
		{"idempotency key not ASCII", "POST", "/Greeter/greet", map[string]string{"Idempotency-Key": nonASCII}, 400, badIdem},
		{"idempotency key not ASCII, send", "POST", "/Greeter/greet/send", map[string]string{"Idempotency-Key": nonASCII}, 400, badIdem},
		{"idempotency key before the method", "PUT", "/Greeter/greet", map[string]string{"Idempotency-Key": nonASCII}, 400, badIdem},
		{"idempotency key before the workflow rule", "POST", "/Signup/k/run", map[string]string{"Idempotency-Key": nonASCII}, 400, badIdem},
		{"workflow rule before the method", "PUT", "/Signup/k/run", map[string]string{"Idempotency-Key": "a"}, 400, wfIdem},
		{"idempotency key before the limit key", "POST", "/Greeter/greet", map[string]string{"Idempotency-Key": nonASCII, lk: "a"}, 400, badIdem},
		{"unknown handler first", "POST", "/Greeter/nope", map[string]string{"Idempotency-Key": nonASCII}, 404, "the service 'Greeter' exists, but the handler 'nope' was not found, check that the handler exists in the latest registered service version."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDispatcher{}
			h := newHandler(t, d)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			_, dispatched := d.last()
			if rec.Code != tt.status || dispatched != (tt.message == "") {
				t.Fatalf("status %d (dispatched %v), body %s; want %d", rec.Code, dispatched, rec.Body, tt.status)
			}
			if tt.message == "" {
				return
			}
			want, _ := json.Marshal(errBody{Code: tt.status, Message: tt.message, Source: "ingress"})
			if rec.Body.String() != string(want) {
				t.Fatalf("body %s\nwant %s", rec.Body, want)
			}
		})
	}
}
