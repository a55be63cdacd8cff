package admin

import (
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/storage"
)

// An invocation the invoker holds is backing off only once an attempt failed and the next one
// waits; before its first attempt it is not (the status the pinning test once saw with 0
// attempts).
func TestInvocationStatusOfAttempts(t *testing.T) {
	st := &storage.InvocationStatus{Phase: storage.Running, Invocation: command.Invocation{Target: command.Target{Service: "S", Handler: "h", ServiceType: command.Service}}}
	next := time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		info      *invoker.AttemptInfo
		status    string
		retries   int
		nextRetry bool
	}{
		{nil, storage.Running.String(), 0, false},
		{&invoker.AttemptInfo{}, storage.Running.String(), 0, false},
		{&invoker.AttemptInfo{Attempt: 1, Running: true}, storage.Running.String(), 1, false},
		{&invoker.AttemptInfo{Attempt: 1, NextRetryAt: next, LastFailure: "boom"}, "backing-off", 1, true},
	} {
		got := toInvocationStatus(ids.NewInvocationID(1, [16]byte{1}), st, tc.info)
		if got.Status != tc.status || got.RetryCount != tc.retries || (got.NextRetryAt != nil) != tc.nextRetry {
			t.Errorf("%+v: status %q, %d retries, next retry %v; want %q, %d, %v", tc.info, got.Status, got.RetryCount, got.NextRetryAt, tc.status, tc.retries, tc.nextRetry)
		}
	}
}
