package server_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

// flaky is a service whose run fails (retryably) while broken is set, and whose wait returns the
// value of an awakeable it publishes in the effect log awakeables.
func flaky(broken *atomic.Bool, attempts *atomic.Int64, awakeables chan<- string) *sdk.Endpoint {
	svc := sdk.NewService("Flaky").
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			attempts.Add(1)
			if broken.Load() {
				return "", errBroken
			}
			return "fixed", nil
		})).
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { awakeables <- a.ID(); return "", nil }); err != nil {
				return "", err
			}
			return a.Result()
		}))
	return sdk.NewEndpoint().Bind(svc)
}

type brokenError struct{}

func (brokenError) Error() string { return "the deployment is broken" }

var errBroken = brokenError{}

// TestPauseResume: an invocation whose attempts are exhausted is paused (restate-server's
// default) with its last failure, and resumed after the deployment is fixed; an operator pauses a
// waiting invocation, whose awakeable resolved meanwhile wakes nothing until the resume; the
// admin API's codes for the other states.
func TestPauseResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{Retry: invoker.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxAttempts: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var broken atomic.Bool
	var attempts atomic.Int64
	awakeables := make(chan string, 4)
	broken.Store(true)
	if err := s.RegisterInProcess(ctx, "flaky", flaky(&broken, &attempts, awakeables)); err != nil {
		t.Fatal(err)
	}
	in, admin := s.IngressURL(), s.AdminURL()
	status := func(id string) storage.InvocationStatus { return statusOf(t, s, id) }

	run := lcSend(t, in, "/Flaky/run/send")
	lcWait(t, ctx, "the exhausted invocation paused", func() string {
		if st := status(run); st.Phase != storage.Paused {
			return st.Phase.String()
		}
		return ""
	})
	st := status(run)
	if st.LastFailure == nil || st.Attempts != 3 || attempts.Load() != 3 {
		t.Fatalf("paused with last failure %+v after %d attempts (%d made), want the deployment's error after 3", st.LastFailure, st.Attempts, attempts.Load())
	}
	lcExpect(t, "pause the paused", lcDo(t, "PATCH", admin+"/invocations/"+run+"/pause", ""), 200, "")
	lcExpect(t, "output while paused", lcDo(t, "GET", in+"/restate/invocation/"+run+"/output", ""), 470, "")
	broken.Store(false)
	lcExpect(t, "resume", lcDo(t, "PATCH", admin+"/invocations/"+run+"/resume", ""), 200, "")
	lcExpect(t, "attach after the resume", lcDo(t, "GET", in+"/restate/invocation/"+run+"/attach", ""), 200, `"fixed"`)
	lcExpect(t, "resume the completed", lcDo(t, "PATCH", admin+"/invocations/"+run+"/resume", ""), 409, "is completed, cannot be resumed")
	lcExpect(t, "pause the completed", lcDo(t, "PATCH", admin+"/invocations/"+run+"/pause", ""), 409, "is not running, cannot be paused")

	// An operator's pause: the resolution is journaled but wakes nothing until the resume.
	wait := lcSend(t, in, "/Flaky/wait/send")
	var awakeable string
	select {
	case awakeable = <-awakeables:
	case <-ctx.Done():
		t.Fatal("no awakeable")
	}
	lcExpect(t, "pause the waiting", lcDo(t, "PATCH", admin+"/invocations/"+wait+"/pause", ""), 202, "")
	lcExpect(t, "resolve while paused", lcDo(t, "POST", in+"/restate/awakeables/"+awakeable+"/resolve", `"late"`), 202, "")
	// The resolution is in the journal once the log applied it; the invocation stays paused.
	lcWait(t, ctx, "the resolution journaled", func() string {
		if st := status(wait); st.Phase != storage.Paused || len(st.Signals) == 0 {
			return st.Phase.String()
		}
		return ""
	})
	lcExpect(t, "output while paused", lcDo(t, "GET", in+"/restate/invocation/"+wait+"/output", ""), 470, "")
	lcExpect(t, "resume on an unknown deployment", lcDo(t, "PATCH", admin+"/invocations/"+wait+"/resume?deployment=dp_11111111111111111111111", ""), 400, "deployment was not found")
	lcExpect(t, "resume the waiting", lcDo(t, "PATCH", admin+"/invocations/"+wait+"/resume", ""), 200, "")
	lcExpect(t, "attach", lcDo(t, "GET", in+"/restate/invocation/"+wait+"/attach", ""), 200, `"late"`)

	// Not started yet: 425; unknown: 404.
	later := lcSend(t, in, "/Flaky/run/send?delay=1h")
	lcExpect(t, "resume the scheduled", lcDo(t, "PATCH", admin+"/invocations/"+later+"/resume", ""), 425, "either inboxed or scheduled")
	lcExpect(t, "pause the scheduled", lcDo(t, "PATCH", admin+"/invocations/"+later+"/pause", ""), 409, "not running")
	lcExpect(t, "kill the scheduled", lcDo(t, "PATCH", admin+"/invocations/"+later+"/kill", ""), 200, "")
	lcExpect(t, "pause unknown", lcDo(t, "PATCH", admin+"/invocations/"+later+"x/pause", ""), 400, "")
	var unknown string
	_ = json.Unmarshal([]byte(`"`+ids.NewInvocationID(7, [16]byte{1}).String()+`"`), &unknown)
	lcExpect(t, "resume unknown", lcDo(t, "PATCH", admin+"/invocations/"+unknown+"/resume", ""), 404, "does not exist")
}

// TestPauseYieldsTheRunningAttempt: an operator's pause of an invocation in the middle of a Run
// lets the attempt end by itself, as restate-server's: the request stream is closed, the Run's
// result is journaled, the SDK suspends, and only then is the invocation paused. Resumed, it
// replays the Run's result instead of running its body again.
func TestPauseYieldsTheRunningAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var runs atomic.Int64
	started, release := make(chan struct{}, 1), make(chan struct{})
	svc := sdk.NewService("Slow").
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			v, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
				runs.Add(1)
				started <- struct{}{}
				<-release
				return "stepped", nil
			})
			if err != nil {
				return "", err
			}
			return v + " and done", nil
		}))
	if err := s.RegisterInProcess(ctx, "slow", sdk.NewEndpoint().Bind(svc)); err != nil {
		t.Fatal(err)
	}
	in, admin := s.IngressURL(), s.AdminURL()
	status := func(id string) storage.InvocationStatus { return statusOf(t, s, id) }

	id := lcSend(t, in, "/Slow/run/send")
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the Run body never started")
	}
	lcExpect(t, "pause in the middle of the Run", lcDo(t, "PATCH", admin+"/invocations/"+id+"/pause", ""), 202, "")
	lcWait(t, ctx, "the pause requested", func() string {
		if st := status(id); st.Phase != storage.Running || !st.PauseRequested {
			return st.Phase.String()
		}
		return ""
	})
	lcExpect(t, "pause again while it yields", lcDo(t, "PATCH", admin+"/invocations/"+id+"/pause", ""), 202, "")
	close(release)
	lcWait(t, ctx, "paused once the attempt ended", func() string {
		if st := status(id); st.Phase != storage.Paused {
			return st.Phase.String()
		}
		return ""
	})
	if st := status(id); st.JournalLength < 3 || st.LastFailure != nil {
		t.Fatalf("paused with %d journal entries and last failure %+v, want the Run and its result journaled (3 entries) and no failure", st.JournalLength, st.LastFailure)
	}
	lcExpect(t, "resume", lcDo(t, "PATCH", admin+"/invocations/"+id+"/resume", ""), 200, "")
	lcExpect(t, "attach after the resume", lcDo(t, "GET", in+"/restate/invocation/"+id+"/attach", ""), 200, `"stepped and done"`)
	if n := runs.Load(); n != 1 {
		t.Fatalf("the Run body ran %d times, want once: its result was journaled before the pause", n)
	}
}
