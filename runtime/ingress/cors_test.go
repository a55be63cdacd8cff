package ingress

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCORS: the headers of restate-server's ingress (tower-http's CorsLayer::very_permissive),
// checked against what restate-server 1.7.12 answered to the same requests.
func TestCORS(t *testing.T) {
	for _, tt := range []struct {
		name    string
		method  string
		req     http.Header
		status  int  // of the answer
		reached bool // the wrapped handler was called
		want    map[string]string
	}{
		{
			name: "preflight", method: "OPTIONS",
			req: http.Header{"Origin": {"http://app.example"}, "Access-Control-Request-Method": {"POST"},
				"Access-Control-Request-Headers": {"content-type,idempotency-key,x-restateclient-retry-attempt"}},
			status: 200,
			want: map[string]string{"Vary": corsVary, "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Origin": "http://app.example", "Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "content-type,idempotency-key,x-restateclient-retry-attempt", "Content-Length": "0"},
		},
		{
			name: "preflight, first of several values", method: "OPTIONS",
			req:    http.Header{"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"X-A, x-b", "x-c"}},
			status: 200,
			want: map[string]string{"Vary": corsVary, "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "",
				"Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Headers": "X-A, x-b"},
		},
		{
			name: "options without origin", method: "OPTIONS", status: 200,
			want: map[string]string{"Vary": corsVary, "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "",
				"Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": ""},
		},
		{
			name: "request with origin", method: "POST", req: http.Header{"Origin": {"null"}}, status: 418, reached: true,
			want: map[string]string{"Vary": corsVary, "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "null",
				"Access-Control-Allow-Methods": "", "X-Inner": "yes"},
		},
		{
			name: "request without origin", method: "GET", status: 418, reached: true,
			want: map[string]string{"Vary": corsVary, "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "", "X-Inner": "yes"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			h := CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				w.Header().Set("X-Inner", "yes")
				w.WriteHeader(http.StatusTeapot)
			}))
			req := httptest.NewRequest(tt.method, "/Svc/handler", nil)
			req.Header = tt.req
			if req.Header == nil {
				req.Header = http.Header{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || reached != tt.reached {
				t.Fatalf("status %d, handler reached %v; want %d, %v", rec.Code, reached, tt.status, tt.reached)
			}
			if tt.method == "OPTIONS" && rec.Body.Len() != 0 {
				t.Fatalf("preflight body %q, want none", rec.Body)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}
