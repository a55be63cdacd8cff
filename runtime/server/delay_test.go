package server_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

// runLog records each start of Later.run: the tag it was given, its invocation id and when.
type runLog struct {
	mu struct {
		sync.Mutex
		runs []laterRun
	}
}

type laterRun struct {
	tag, id string
	at      time.Time
}

func (l *runLog) endpoint() *sdk.Endpoint {
	later := sdk.NewService("Later").Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, tag string) (string, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.mu.runs = append(l.mu.runs, laterRun{tag: tag, id: ctx.InvocationID(), at: time.Now()})
		return tag, nil
	}))
	return sdk.NewEndpoint().Bind(later)
}

// of returns the runs of tag, in order.
func (l *runLog) of(tag string) []laterRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []laterRun
	for _, r := range l.mu.runs {
		if r.tag == tag {
			out = append(out, r)
		}
	}
	return out
}

// sendAnswer is the ingress's 202 answer to a send.
type sendAnswer struct {
	InvocationID  string `json:"invocationId"`
	ExecutionTime string `json:"executionTime"`
	Status        string `json:"status"`
}

// TestIngressDelayedSend sends POST /Later/run/send?delay=… to the real server: the answer is
// 202 with the invocation id and the execution time; the server holds the invocation as
// scheduled and a call sent without delay after it runs first; it starts no earlier than the
// execution time, and exactly once. Bad delays are refused with 400 and a message, and start
// nothing.
func TestIngressDelayedSend(t *testing.T) {
	runs := &runLog{}
	s := startWith(t, t.TempDir(), runs.endpoint())

	// The messages are restate-server's (jiff's words after its prefix; tests/ingressapi
	// compares them with restate-server's answers).
	const badDelay = "bad delay query parameter, must be a ISO8601 duration: "
	bad := []struct{ path, want string }{
		{"/Later/run/send?delay=soon", badDelay + `failed to parse input in the "friendly" duration format: expected duration to start with a unit value`},
		{"/Later/run/send?delay=1x", badDelay + `failed to parse input in the "friendly" duration format: expected to find unit designator suffix`},
		{"/Later/run/send?delay=xd", badDelay + `failed to parse input in the "friendly" duration format: expected duration to start with a unit value`},
		{"/Later/run/send?delay=-5s", badDelay + "negative signed durations cannot be converted to an unsigned duration"},
		{"/Later/run/send?delay=", badDelay + "an empty string is not a valid duration"},
		{"/Later/run?delay=1s", "cannot use the delay query parameter with calls"},
	}
	for i, b := range bad {
		tag := "bad-" + string(rune('a'+i))
		code, _, body := do(t, s.IngressURL(), exchange{"POST", b.path, "application/json", `"` + tag + `"`})
		var e struct {
			Message string `json:"message"`
		}
		if code != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Message, b.want) {
			t.Errorf("POST %s: %d %s, want 400 with a message saying %q", b.path, code, body, b.want)
		}
	}

	// A delay of days is accepted and stays scheduled.
	far := sendDelayed(t, s, "2d", "far", 48*time.Hour)
	if st := statusOf(t, s, far.InvocationID); st.Phase != storage.Scheduled {
		t.Errorf("send with delay 2d: server reports %s, want scheduled", st.Phase)
	}

	// The one-second delay must still be ahead when the status is read; on a machine so slow
	// that it is not, the run proved nothing and is repeated with a longer delay.
	for _, d := range []string{"1s", "4s", "16s"} {
		if delayedRunsOnce(t, s, runs, d) {
			for i := range bad {
				if r := runs.of("bad-" + string(rune('a'+i))); len(r) != 0 {
					t.Errorf("refused request %s started an invocation: %v", bad[i].path, r)
				}
			}
			if r := runs.of("far"); len(r) != 0 {
				t.Errorf("send with delay 2d ran already: %v", r)
			}
			return
		}
	}
	t.Fatal("the status was never read before the execution time")
}

// delayedRunsOnce sends tag "delayed-<delay>" with delay and checks it; it returns false when the
// server's status could not be read before the execution time.
func delayedRunsOnce(t *testing.T, s *server.Server, runs *runLog, delay string) bool {
	t.Helper()
	d, err := time.ParseDuration(delay)
	if err != nil {
		t.Fatal(err)
	}
	tag := "delayed-" + delay
	ans := sendDelayed(t, s, delay, tag, d)
	due, _ := time.Parse(time.RFC3339Nano, ans.ExecutionTime)

	// Before the execution time, the server holds the invocation as scheduled.
	read := time.Now()
	st := statusOf(t, s, ans.InvocationID)
	if read.Before(due) && st.Phase != storage.Scheduled {
		t.Fatalf("%s: server reports %s %v before the execution time, want scheduled", tag, st.Phase, due.Sub(read))
	}
	// A call sent without delay after it: if it ends before the execution time, it ran first.
	code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Later/run", "application/json", `"sentinel-` + delay + `"`})
	sentinelDone := time.Now()
	if code != 200 {
		t.Fatalf("sentinel call: %d %s", code, body)
	}
	if !sentinelDone.Before(due) {
		t.Logf("%s: the checks before the execution time ended %v after it; retrying with a longer delay", tag, sentinelDone.Sub(due))
		return false
	}
	if r := runs.of(tag); len(r) != 0 {
		t.Fatalf("%s ran at %v, before the call sent after it ended (%v) and before its execution time %v", tag, r[0].at, sentinelDone, due)
	}

	waitFor(t, tag+" to complete", d+30*time.Second, func() bool {
		return statusOf(t, s, ans.InvocationID).Phase == storage.Completed
	})
	// Once completed, nothing runs it again: a later call is a barrier the check comes after.
	if code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Later/run", "application/json", `"barrier-` + delay + `"`}); code != 200 {
		t.Fatalf("barrier call: %d %s", code, body)
	}
	r := runs.of(tag)
	switch {
	case len(r) != 1:
		t.Errorf("%s ran %d times, want once: %v", tag, len(r), r)
	case r[0].id != ans.InvocationID:
		t.Errorf("%s ran as %s, want the invocation the send answered, %s", tag, r[0].id, ans.InvocationID)
	case r[0].at.Before(due):
		t.Errorf("%s ran at %v, %v before its execution time %v", tag, r[0].at, due.Sub(r[0].at), due)
	}
	return true
}

// sendDelayed POSTs tag to /Later/run/send?delay=delay and checks the 202 answer: the invocation
// id (also in x-restate-id), status Accepted, and an execution time d after a moment between the
// request and the answer (whole milliseconds, rounded down).
func sendDelayed(t *testing.T, s *server.Server, delay, tag string, d time.Duration) sendAnswer {
	t.Helper()
	before := time.Now()
	code, hdr, body := do(t, s.IngressURL(), exchange{"POST", "/Later/run/send?delay=" + delay, "application/json", `"` + tag + `"`})
	after := time.Now()
	var ans sendAnswer
	if code != 202 || json.Unmarshal([]byte(body), &ans) != nil {
		t.Fatalf("send %s with delay %s: %d %s, want 202", tag, delay, code, body)
	}
	if _, err := ids.ParseInvocationID(ans.InvocationID); err != nil || hdr.Get("x-restate-id") != ans.InvocationID || ans.Status != "Accepted" {
		t.Fatalf("send %s with delay %s: answer %s, x-restate-id %q: want an invocation id, the same in x-restate-id, status Accepted (%v)",
			tag, delay, body, hdr.Get("x-restate-id"), err)
	}
	due, err := time.Parse(time.RFC3339Nano, ans.ExecutionTime)
	if err != nil {
		t.Fatalf("send %s with delay %s: execution time %q: %v", tag, delay, ans.ExecutionTime, err)
	}
	if due.UnixMilli() < before.Add(d).UnixMilli() || due.After(after.Add(d)) {
		t.Fatalf("send %s with delay %s: execution time %v, want between %v and %v", tag, delay, due, before.Add(d), after.Add(d))
	}
	return ans
}

// statusOf reads the status the server holds for the invocation id.
func statusOf(t *testing.T, s *server.Server, id string) storage.InvocationStatus {
	t.Helper()
	iid, err := ids.ParseInvocationID(id)
	if err != nil {
		t.Fatal(err)
	}
	st, found, err := partitionOf(s, iid).Status(iid)
	if err != nil || !found {
		t.Fatalf("status of %s: found %v, err %v", id, found, err)
	}
	return st
}
