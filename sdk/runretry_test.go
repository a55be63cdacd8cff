package sdk_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
)

// flakyEndpoint has Retry/run and Retry/async: a Run (or RunAsync) that always fails with a
// retryable error of code 503, with 3 attempts at most, 100ms, factor 3; and Retry/forever,
// without retry options. calls counts the closure's executions.
func flakyEndpoint(calls *atomic.Int32, opts ...sdk.RunOption) *sdk.Endpoint {
	fail := func(sdk.RunContext) (string, error) {
		return "", sdk.RetryableErrorf(503, "flaky %d", calls.Add(1))
	}
	retry := append([]sdk.RunOption{sdk.WithName("flaky"), sdk.WithMaxRetryAttempts(3),
		sdk.WithInitialRetryInterval(100 * time.Millisecond), sdk.WithRetryIntervalFactor(3)}, opts...)
	svc := sdk.NewService("Retry").
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Run(ctx, fail, retry...)
		})).
		Handler("async", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.RunAsync(ctx, fail, retry...).Result()
		})).
		Handler("forever", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Run(ctx, fail, sdk.WithName("flaky"))
		}))
	return sdk.NewEndpoint().Bind(svc)
}

// TestRunRetryAcrossAttempts drives the attempts as the runtime does (StartMessage counts the
// retries since the last stored entry) and checks the shared core's answers: ErrorMessage with
// next_retry_delay 100ms then 300ms, and at the third failure the failure proposed as the Run's
// terminal result with the error's code.
func TestRunRetryAcrossAttempts(t *testing.T) {
	for _, handler := range []string{"run", "async"} {
		t.Run(handler, func(t *testing.T) {
			var calls atomic.Int32
			base := serve(t, flakyEndpoint(&calls))
			path := "/invoke/Retry/" + handler
			runCmd := &pb.RunCommandMessage{ResultCompletionId: 1, Name: "flaky"}
			for retry, wantDelay := range []uint64{100, 300} {
				rt := invoke(t, base, path, protocol.V6)
				st := start(1, "")
				st.RetryCountSinceLastStoredEntry = uint32(retry)
				if retry == 0 {
					rt.send(st, input(""))
					recvAs[*pb.RunCommandMessage](rt)
				} else { // the RunCommand was stored by the first attempt
					st.KnownEntries = 2
					rt.send(st, input(""), runCmd)
				}
				e := recvAs[*pb.ErrorMessage](rt)
				if e.Code != 503 || e.GetNextRetryDelay() != wantDelay || !strings.Contains(e.Message, fmt.Sprint("flaky ", retry+1)) {
					t.Fatalf("attempt %d: %v, want code 503, next_retry_delay %d", retry+1, e, wantDelay)
				}
			}
			rt := invoke(t, base, path, protocol.V6)
			st := start(2, "")
			st.RetryCountSinceLastStoredEntry = 2
			rt.send(st, input(""), runCmd)
			p := recvAs[*pb.ProposeRunCompletionMessage](rt)
			if f := p.GetFailure(); f.GetCode() != 503 || f.GetMessage() != "flaky 3" {
				t.Fatalf("third attempt proposed %v, want the terminal failure 503 flaky 3", p)
			}
			rt.send(&pb.RunCompletionNotificationMessage{CompletionId: 1, Result: &pb.RunCompletionNotificationMessage_Failure{Failure: p.GetFailure()}})
			if out := recvAs[*pb.OutputCommandMessage](rt); out.GetFailure().GetCode() != 503 {
				t.Fatalf("output %v", out)
			}
			if calls.Load() != 3 {
				t.Fatalf("closure ran %d times, want 3", calls.Load())
			}
		})
	}
}

// TestRunRetryBounds: the other limits and the default.
func TestRunRetryBounds(t *testing.T) {
	var calls atomic.Int32
	base := serve(t, flakyEndpoint(&calls, sdk.WithMaxRetryAttempts(100), sdk.WithMaxRetryDuration(5*time.Second), sdk.WithMaxRetryInterval(time.Second)))
	for _, tc := range []struct {
		name        string
		retries     uint32
		elapsed     uint64 // duration_since_last_stored_entry, ms
		wantDelay   uint64 // 0: terminal
		wantHandler string
	}{
		{"under the duration", 1, 1000, 300, "run"},
		{"capped by the max interval", 4, 1000, 1000, "run"},
		{"duration used up", 1, 5000, 0, "run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := invoke(t, base, "/invoke/Retry/"+tc.wantHandler, protocol.V6)
			st := start(2, "")
			st.RetryCountSinceLastStoredEntry, st.DurationSinceLastStoredEntry = tc.retries, tc.elapsed
			rt.send(st, input(""), &pb.RunCommandMessage{ResultCompletionId: 1, Name: "flaky"})
			_, m := rt.recv()
			switch m := m.(type) {
			case *pb.ErrorMessage:
				if tc.wantDelay == 0 || m.GetNextRetryDelay() != tc.wantDelay {
					t.Fatalf("%v, want delay %d", m, tc.wantDelay)
				}
			case *pb.ProposeRunCompletionMessage:
				if tc.wantDelay != 0 || m.GetFailure().GetCode() != 503 {
					t.Fatalf("%v, want delay %d", m, tc.wantDelay)
				}
			default:
				t.Fatalf("got %v", m)
			}
		})
	}
	// Without retry options the attempt fails with no delay of the SDK's: the runtime's policy.
	rt := invoke(t, base, "/invoke/Retry/forever", protocol.V6)
	st := start(2, "")
	st.RetryCountSinceLastStoredEntry = 1000
	rt.send(st, input(""), &pb.RunCommandMessage{ResultCompletionId: 1, Name: "flaky"})
	if e := recvAs[*pb.ErrorMessage](rt); e.NextRetryDelay != nil || e.Code != 503 {
		t.Fatalf("without options: %v", e)
	}
}

// TestRunRetryThroughServer: through the real server, the closure runs three times, then the
// Run's failure is terminal: journaled and the handler's result, with the error's code.
func TestRunRetryThroughServer(t *testing.T) {
	var calls atomic.Int32
	s := optServer(t, flakyEndpoint(&calls))
	for i, h := range []string{"run", "async"} {
		r := post(t, s.IngressURL()+"/Retry/"+h, "")
		if r.status != 503 || !strings.Contains(r.body, fmt.Sprint("flaky ", 3*(i+1))) {
			t.Fatalf("%s: %d %s, want 503 with the third failure", h, r.status, r.body)
		}
		if n := calls.Load(); n != int32(3*(i+1)) {
			t.Fatalf("%s: the closure ran %d times in all, want %d", h, n, 3*(i+1))
		}
	}
}
