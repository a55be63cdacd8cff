package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Until Start has done everything (the configuration file's Kafka clusters recorded among
// it), the health endpoints answer 503: a client that waits for health must not read the
// admin API half started. Other routes are served.
func TestHealthWaitsForStart(t *testing.T) {
	s := &Server{}
	h := s.withHealth("/health", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, tc := range []struct {
		path string
		want int
	}{{"/health", http.StatusServiceUnavailable}, {"/kafka-clusters", http.StatusOK}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.want || (tc.want == 503 && !strings.Contains(rec.Body.String(), "starting")) {
			t.Errorf("GET %s while starting: %d %s, want %d", tc.path, rec.Code, rec.Body, tc.want)
		}
	}
}
