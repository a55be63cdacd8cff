package ingress_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/ids"
)

// refused is a Dispatcher error that refused a request before writing anything, as the
// partition router's admission control returns (partition.RefusedError).
type refused struct {
	after       time.Duration
	unavailable bool
}

func (r refused) Error() string             { return "partition 3 is busy" }
func (r refused) RetryAfter() time.Duration { return r.after }
func (r refused) Unavailable() bool         { return r.unavailable }

// TestRefusal: a refusal is 429 (busy) or 503 (cannot run), with Retry-After in whole seconds
// rounded up (at least 1) and the ingress's JSON error saying a retry is safe, for calls, sends
// and awakeable resolutions alike; also when the refusal is wrapped.
func TestRefusal(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        refused
		status     int
		retryAfter string
	}{
		{"busy", refused{after: time.Second}, 429, "1"},
		{"busy, rounded up", refused{after: 1500 * time.Millisecond}, 429, "2"},
		{"busy, at least a second", refused{after: 10 * time.Millisecond}, 429, "1"},
		{"cannot run", refused{after: 3 * time.Second, unavailable: true}, 503, "3"},
	} {
		awakeable := "/restate/awakeables/" + promises.Encode(ids.NewInvocationID(5, [16]byte{1}), 17) + "/resolve"
		for _, path := range []string{"/Greeter/greet", "/Greeter/greet/send", awakeable} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				d := &fakeDispatcher{err: fmt.Errorf("partition 3: invoke: %w", tt.err)}
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", path, strings.NewReader(`"x"`))
				req.Header.Set("Content-Type", "application/json")
				newHandler(t, d).ServeHTTP(rec, req)
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
				}
				var body errBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("body %s: %v", rec.Body, err)
				}
				if body.Code != tt.status || body.Source != "ingress" || !strings.Contains(body.Message, "partition 3 is busy") || !strings.Contains(body.Message, "can be retried as it is") {
					t.Errorf("body %+v", body)
				}
			})
		}
	}
}
