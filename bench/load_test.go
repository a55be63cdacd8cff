package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestSendRetriesRefusals: a send refused with 429 (nothing accepted) is sent again after its
// Retry-After until it is accepted; any other failure is not retried.
func TestSendRetriesRefusals(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case r.URL.Path == "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case n <= 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	if err := invokeRetryingRefusals(context.Background(), srv.Client(), srv.URL, call{"/ok/send", ""}); err != nil || calls.Load() != 3 {
		t.Fatalf("after two 429s: %v, %d requests; want accepted at the third", err, calls.Load())
	}
	calls.Store(0)
	if err := invokeRetryingRefusals(context.Background(), srv.Client(), srv.URL, call{"/broken", ""}); err == nil || calls.Load() != 1 {
		t.Fatalf("a 500: %v, %d requests; want the error at once", err, calls.Load())
	}
}
