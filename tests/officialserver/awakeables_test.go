package officialserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// parked is what a waiting handler leaves in its Mailbox: its awakeable's id and its own
// invocation id (for signals).
type parked struct {
	Awakeable  string `json:"awakeable"`
	Invocation string `json:"invocation"`
}

type raceIn struct {
	Box        string `json:"box"`
	SleepMs    int    `json:"sleepMs"`
	TimerFirst bool   `json:"timerFirst"` // list the timer first in WaitFirst
}

type completeIn struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Code  uint16 `json:"code"` // non-zero: reject with this code
}

type signalIn struct {
	Invocation, Name, Value string
}

// mailbox keeps the last parked handler per key, for the test to read.
var mailbox = sdk.NewObject("Mailbox").
	Handler("put", sdk.ObjectHandler(func(ctx sdk.ObjectContext, p parked) (sdk.Void, error) {
		return sdk.Void{}, sdk.Set(ctx, "p", p)
	})).
	Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (parked, error) {
		return sdk.Get[parked](ctx, "p")
	}))

// park creates an awakeable and posts its id to the mailbox box.
func park(ctx sdk.Context, box string) *sdk.AwakeableFuture[string] {
	a := sdk.Awakeable[string](ctx)
	sdk.Send(ctx, sdk.ToObject("Mailbox", box, "put"), parked{a.ID(), ctx.InvocationID()})
	return a
}

// awake waits on awakeables and signals, and resolves them.
var awake = sdk.NewService("Awake").
	Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		return park(ctx, box).Result()
	})).
	Handler("race", sdk.ServiceHandler(func(ctx sdk.Context, in raceIn) (string, error) {
		a := park(ctx, in.Box)
		timer := sdk.After(ctx, time.Duration(in.SleepMs)*time.Millisecond)
		futs := []sdk.Future{a, timer}
		if in.TimerFirst {
			futs = []sdk.Future{timer, a}
		}
		first, err := sdk.WaitFirst(ctx, futs...)
		switch {
		case err != nil:
			return "", err
		case first == timer:
			return "timer", nil
		}
		v, err := a.Result()
		return "awakeable " + v, err
	})).
	Handler("timeout", sdk.ServiceHandler(func(ctx sdk.Context, in raceIn) (string, error) {
		return sdk.OrTimeout(ctx, park(ctx, in.Box), time.Duration(in.SleepMs)*time.Millisecond)
	})).
	Handler("both", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		a := park(ctx, box)
		s := sdk.Signal[string](ctx, "go")
		if err := sdk.Wait(ctx, a, s); err != nil {
			return "", err
		}
		av, err := a.Result()
		if err != nil {
			return "", err
		}
		sv, err := s.Result()
		return av + "+" + sv, err
	})).
	Handler("slowRun", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		park(ctx, box)
		run := sdk.RunAsync(ctx, func(rc sdk.RunContext) (string, error) {
			runsOf(rc.InvocationID()).Add(1)
			select {
			case <-gate(rc.InvocationID()):
				return "ran", nil
			case <-rc.Done():
				return "", rc.Err()
			}
		})
		first, err := sdk.WaitFirst(ctx, run, sdk.After(ctx, time.Hour))
		if err != nil || first != run {
			return "", sdk.TerminalErrorf(500, "first %v, %v", first, err)
		}
		return run.Result()
	})).
	Handler("complete", sdk.ServiceHandler(func(ctx sdk.Context, in completeIn) (sdk.Void, error) {
		if in.Code != 0 {
			sdk.RejectAwakeable(ctx, in.ID, sdk.TerminalError(errors.New(in.Value), in.Code))
			return sdk.Void{}, nil
		}
		return sdk.Void{}, sdk.ResolveAwakeable(ctx, in.ID, in.Value)
	})).
	Handler("runThenWait", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		run := sdk.RunAsync(ctx, func(rc sdk.RunContext) (string, error) {
			runsOf(rc.InvocationID()).Add(1)
			select {
			case <-gate(rc.InvocationID()):
				return "ran", nil
			case <-rc.Done():
				return "", rc.Err()
			}
		})
		v, err := park(ctx, box).Result() // suspends while the run still executes
		if err != nil {
			return "", err
		}
		r, err := run.Result()
		return v + "+" + r, err
	})).
	Handler("resolvedEarly", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		a := park(ctx, box)
		if _, err := sdk.Signal[string](ctx, "go").Result(); err != nil {
			return "", err
		}
		return a.Result() // resolved before it was awaited
	})).
	Handler("attach", sdk.ServiceHandler(func(ctx sdk.Context, invocation string) (string, error) {
		// Look first (still running), then wait for the result.
		if _, ready, err := sdk.Output[string](ctx, invocation); err != nil || ready {
			return "", sdk.TerminalErrorf(500, "output before the end: ready %v, %v", ready, err)
		}
		v, err := sdk.Attach[string](ctx, invocation).Result()
		if err != nil {
			return "", err
		}
		after, ready, err := sdk.Output[string](ctx, invocation)
		return fmt.Sprintf("%s/%s %v", v, after, ready), err
	})).
	Handler("attachIdempotent", sdk.ServiceHandler(func(ctx sdk.Context, box string) (string, error) {
		// Start Awake/wait under an idempotency key, then wait for it through that key.
		sdk.Send(ctx, sdk.ToService("Awake", "wait"), box, sdk.WithIdempotencyKey("k-"+box))
		return sdk.AttachIdempotent[string](ctx, sdk.ToService("Awake", "wait"), "k-"+box).Result()
	})).
	Handler("cancel", sdk.ServiceHandler(func(ctx sdk.Context, invocation string) (sdk.Void, error) {
		sdk.CancelInvocation(ctx, invocation)
		return sdk.Void{}, nil
	})).
	Handler("signal", sdk.ServiceHandler(func(ctx sdk.Context, in signalIn) (sdk.Void, error) {
		return sdk.Void{}, sdk.ResolveSignal(ctx, in.Invocation, in.Name, in.Value)
	}))

// slowRun's closures, by invocation id: how many times each ran, and a gate each waits on.
var slowRuns, gates sync.Map

func runsOf(invocation string) *atomic.Int64 {
	n, _ := slowRuns.LoadOrStore(invocation, new(atomic.Int64))
	return n.(*atomic.Int64)
}

func gate(invocation string) chan struct{} {
	g, _ := gates.LoadOrStore(invocation, make(chan struct{}))
	return g.(chan struct{})
}

// shortInactivity gives service a 100 ms inactivity timeout on the official server, so a handler
// left waiting suspends at once.
func shortInactivity(t *testing.T, env officialEnv, service string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]string{"inactivity_timeout": "100ms"})
	req, _ := http.NewRequest(http.MethodPatch, env.admin+"/services/"+service, bytes.NewReader(patch))
	req.Header.Set("content-type", "application/json")
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /services/%s: %s", service, resp.Status)
	}
}

// officialEnv is what the awakeable scenarios need from runAgainstOfficial.
type officialEnv struct {
	ingress, admin string
	tap            *testenv.Wiretap
	version        int // the negotiated protocol version
}

// checkAwakeables runs the awakeable, signal and combinator scenarios of our SDK on the official
// server. Awake gets a short inactivity timeout, so a handler left waiting suspends, and each
// resolution below is sent only once the wiretap saw that suspension: the value reaches the
// handler through a new attempt that replays the journal.
func checkAwakeables(t *testing.T, env officialEnv) {
	shortInactivity(t, env, "Awake")

	tests := []struct {
		name    string
		handler string
		input   func(box string) any
		act     func(*testing.T, officialEnv, parked) // after the handler suspended
		status  int                                   // of the handler's answer
		want    string                                // contained in its answer
		suspend bool                                  // wait for a suspension before act
	}{
		{"resolved over HTTP", "wait", boxInput, resolveHTTP(`"hello"`), 200, `"hello"`, true},
		{"rejected over HTTP", "wait", boxInput, rejectHTTP("nope, rejected"), 500, "nope, rejected", true},
		{"resolved by a handler", "wait", boxInput, complete("from a handler", 0), 200, `"from a handler"`, true},
		{"rejected by a handler", "wait", boxInput, complete("short and stout", 418), 418, "short and stout", true},
		{"awakeable before timer", "race", raceInput(3_600_000, false), resolveHTTP(`"x"`), 200, `"awakeable x"`, true},
		{"awakeable before timer, timer listed first", "race", raceInput(3_600_000, true), resolveHTTP(`"y"`), 200, `"awakeable y"`, true},
		{"timer before awakeable", "race", raceInput(1, false), nil, 200, `"timer"`, false},
		{"timer before awakeable, timer listed first", "race", raceInput(1, true), nil, 200, `"timer"`, false},
		{"OrTimeout in time", "timeout", raceInput(3_600_000, false), resolveHTTP(`"z"`), 200, `"z"`, true},
		{"OrTimeout times out", "timeout", raceInput(1, false), nil, 408, "Timeout", false},
		{"signal and awakeable, all", "both", boxInput, signalThenResolve(), 200, `"a+s"`, true},
		{"resolved before awaited", "resolvedEarly", boxInput, resolveThenSignal, 200, `"early"`, true},
		{"attached by a handler", "wait", boxInput, attachThenResolve, 200, `"attached"`, true},
		{"attached by idempotency key", "attachIdempotent", boxInput, resolveHTTP(`"by key"`), 200, `"by key"`, true},
		{"cancelled by a handler", "wait", boxInput, cancelFromHandler, 409, "Cancelled", true},
		{"cancelled over the admin API", "wait", boxInput, cancelFromAdmin, 409, "Cancelled", true},
		{"RunAsync left behind by a suspension", "runThenWait", boxInput, resolveThenRelease, 200, `"a+ran"`, true},
		{"RunAsync outlives the input", "slowRun", boxInput, releaseAfterInputClosed(), 200, `"ran"`, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			box := fmt.Sprintf("box%d", i)
			in, _ := json.Marshal(tc.input(box))
			done := make(chan testenv.Reply, 1)
			errc := make(chan error, 1)
			go func() {
				r, err := testenv.Invoke(env.ingress, "/Awake/"+tc.handler, string(in))
				if err != nil {
					errc <- err
					return
				}
				done <- r
			}()
			p := parkedIn(t, env, box)
			a, err := promises.Parse(p.Awakeable)
			if err != nil || a.Invocation.String() != p.Invocation || a.Index != 17 {
				t.Fatalf("awakeable id %s of %s: parsed %+v, %v; want that invocation, signal 17", p.Awakeable, p.Invocation, a, err)
			}
			if tc.suspend {
				waitSuspensions(t, env, p.Invocation, 1)
			}
			if tc.act != nil {
				tc.act(t, env, p)
			}
			select {
			case err := <-errc:
				t.Fatal(err)
			case r := <-done:
				if r.Status != tc.status || !strings.Contains(string(r.Body), tc.want) {
					t.Fatalf("Awake/%s: %s, want %d containing %s", tc.handler, r, tc.status, tc.want)
				}
			}
		})
	}
}

func boxInput(box string) any { return box }

func raceInput(sleepMs int, timerFirst bool) func(string) any {
	return func(box string) any { return raceIn{Box: box, SleepMs: sleepMs, TimerFirst: timerFirst} }
}

// parkedIn polls the mailbox until the handler left its ids there.
func parkedIn(t *testing.T, env officialEnv, box string) parked {
	var p parked
	testenv.WaitReady(t, "mailbox "+box, 30*time.Second, func() error {
		r, err := testenv.Invoke(env.ingress, "/Mailbox/"+box+"/get", "")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || p.Awakeable == "" {
			return fmt.Errorf("mailbox: %s", r)
		}
		return nil
	})
	return p
}

func expectPost(t *testing.T, url, body string, status int) {
	t.Helper()
	r, err := testenv.Post(testenv.HTTPClient, url, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != status {
		t.Fatalf("POST %s: %s, want %d", url, r, status)
	}
}

func resolveHTTP(body string) func(*testing.T, officialEnv, parked) {
	return func(t *testing.T, env officialEnv, p parked) {
		expectPost(t, env.ingress+"/restate/awakeables/"+p.Awakeable+"/resolve", body, http.StatusAccepted)
	}
}

func rejectHTTP(reason string) func(*testing.T, officialEnv, parked) {
	return func(t *testing.T, env officialEnv, p parked) {
		expectPost(t, env.ingress+"/restate/awakeables/"+p.Awakeable+"/reject", reason, http.StatusAccepted)
	}
}

// complete resolves (code 0) or rejects the parked awakeable from our Awake/complete handler.
func complete(value string, code uint16) func(*testing.T, officialEnv, parked) {
	return func(t *testing.T, env officialEnv, p parked) {
		in, _ := json.Marshal(completeIn{ID: p.Awakeable, Value: value, Code: code})
		expectPost(t, env.ingress+"/Awake/complete", string(in), http.StatusOK)
	}
}

// signalThenResolve sends the named signal from our Awake/signal handler to the handler waiting
// for it and an awakeable (sdk.Wait), then resolves the awakeable over HTTP. Before that: on V6
// the runtime resumes on any of the suspension's set, so a second attempt replays the signal and
// suspends again on the awakeable alone; on V7 the suspension said ALL_COMPLETED, so once the
// signal is in the journal the invocation is still suspended, with one attempt so far.
func signalThenResolve() func(*testing.T, officialEnv, parked) {
	return func(t *testing.T, env officialEnv, p parked) {
		before := invocationRow(t, env, p.Invocation)
		in, _ := json.Marshal(signalIn{Invocation: p.Invocation, Name: "go", Value: "s"})
		expectPost(t, env.ingress+"/Awake/signal", string(in), http.StatusOK)
		if env.version < 7 {
			waitSuspensions(t, env, p.Invocation, 2)
		} else {
			after := journalGrown(t, env, p.Invocation, before)
			if after.Status != "suspended" || len(env.tap.Attempts(p.Invocation)) != 1 {
				t.Fatalf("after the signal: %+v (before %+v), %d attempts; want still suspended, 1 attempt",
					after, before, len(env.tap.Attempts(p.Invocation)))
			}
		}
		resolveHTTP(`"a"`)(t, env, p)
	}
}

// journalGrown waits until the official server journaled something more for invocation than
// before shows, and returns its row then.
func journalGrown(t *testing.T, env officialEnv, invocation string, before row) row {
	t.Helper()
	var after row
	testenv.WaitReady(t, "journal of "+invocation+" grown", 30*time.Second, func() error {
		after = invocationRow(t, env, invocation)
		if after.JournalSize <= before.JournalSize {
			return fmt.Errorf("journal size %d", after.JournalSize)
		}
		return nil
	})
	return after
}

// row is an invocation's line in the official server's sys_invocation table.
type row struct {
	Status      string `json:"status"`
	JournalSize int    `json:"journal_size"`
}

func invocationRow(t *testing.T, env officialEnv, invocation string) row {
	t.Helper()
	q, _ := json.Marshal(map[string]string{
		"query": fmt.Sprintf("SELECT status, journal_size FROM sys_invocation WHERE id = '%s'", invocation),
	})
	r, err := testenv.Post(testenv.HTTPClient, env.admin+"/query", string(q), http.Header{"Accept": {"application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Rows []row }
	if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Rows) != 1 {
		t.Fatalf("query %s: %s (%v)", q, r, err)
	}
	return out.Rows[0]
}

// waitSuspensions waits until n attempts of invocation ended in a Suspension.
func waitSuspensions(t *testing.T, env officialEnv, invocation string, n int) {
	t.Helper()
	testenv.WaitReady(t, fmt.Sprintf("%d suspensions of %s", n, invocation), 30*time.Second, func() error {
		got := 0
		for _, s := range env.tap.Attempts(invocation) {
			if s.Has(testenv.FrameSuspension) {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d suspensions", got)
		}
		return nil
	})
}

// releaseAfterInputClosed lets slowRun's closure return only once the official server closed its
// side of the stream (the Awake inactivity timeout): the handler, waiting for the run, must not
// suspend then, but propose the run's result. Had it suspended, nothing would ever complete the
// run and the call would hang; a second attempt would execute the closure again.
func releaseAfterInputClosed() func(*testing.T, officialEnv, parked) {
	return func(t *testing.T, env officialEnv, p parked) {
		testenv.WaitReady(t, "input of "+p.Invocation+" closed", 30*time.Second, func() error {
			for _, s := range env.tap.Attempts(p.Invocation) {
				if s.RuntimeDone {
					return nil
				}
			}
			return errors.New("still open")
		})
		close(gate(p.Invocation))
		t.Cleanup(func() {
			if n := runsOf(p.Invocation).Load(); n != 1 {
				t.Errorf("slowRun's closure ran %d times, want 1", n)
			}
		})
	}
}

// cancelFromHandler cancels the waiting invocation from our Awake/cancel handler (CancelInvocation).
func cancelFromHandler(t *testing.T, env officialEnv, p parked) {
	in, _ := json.Marshal(p.Invocation)
	expectPost(t, env.ingress+"/Awake/cancel", string(in), http.StatusOK)
}

// cancelFromAdmin cancels the waiting invocation over the official admin API.
func cancelFromAdmin(t *testing.T, env officialEnv, p parked) {
	req, _ := http.NewRequest(http.MethodPatch, env.admin+"/invocations/"+p.Invocation+"/cancel", nil)
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PATCH /invocations/%s/cancel: %s", p.Invocation, resp.Status)
	}
}

// attachThenResolve starts our Awake/attach on the waiting invocation, waits until that attach
// handler suspended too, resolves the awakeable, and checks what the attach handler saw: the
// result, and the output once it ended.
func attachThenResolve(t *testing.T, env officialEnv, p parked) {
	in, _ := json.Marshal(p.Invocation)
	attached := make(chan testenv.Reply, 1)
	go func() {
		r, err := testenv.Invoke(env.ingress, "/Awake/attach", string(in))
		if err != nil {
			r = testenv.Reply{Body: []byte(err.Error())}
		}
		attached <- r
	}()
	testenv.WaitReady(t, "attach suspended", 30*time.Second, func() error {
		for id, attempts := range env.tap.Invocations("Awake", "attach", "*") {
			for _, s := range attempts {
				if s.Has(testenv.FrameSuspension) && id != "" {
					return nil
				}
			}
		}
		return errors.New("not yet")
	})
	resolveHTTP(`"attached"`)(t, env, p)
	if r := <-attached; r.Status != 200 || string(r.Body) != `"attached/attached true"` {
		t.Errorf("Awake/attach: %s", r)
	}
}

// resolveThenRelease resolves runThenWait's awakeable once it suspended with its RunAsync still
// executing (no result journaled, later commands journaled), then lets the closure return: the
// next attempt replays, executes the run again and proposes its result. The closure runs twice.
func resolveThenRelease(t *testing.T, env officialEnv, p parked) {
	resolveHTTP(`"a"`)(t, env, p)
	close(gate(p.Invocation))
	t.Cleanup(func() {
		if n := runsOf(p.Invocation).Load(); n != 2 {
			t.Errorf("runThenWait's closure ran %d times, want 2 (once per attempt)", n)
		}
	})
}

// resolveThenSignal resolves resolvedEarly's awakeable while it is suspended on the signal "go"
// only, then sends that signal. The resolution must not wake the invocation (the suspension
// names only what the handler awaits), so there are exactly two attempts, and the second one
// finds the awakeable's value in its journal.
func resolveThenSignal(t *testing.T, env officialEnv, p parked) {
	before := invocationRow(t, env, p.Invocation)
	resolveHTTP(`"early"`)(t, env, p)
	after := journalGrown(t, env, p.Invocation, before)
	if after.Status != "suspended" || len(env.tap.Attempts(p.Invocation)) != 1 {
		t.Fatalf("after the resolution: %+v (before %+v), %d attempts; want still suspended, 1 attempt",
			after, before, len(env.tap.Attempts(p.Invocation)))
	}
	in, _ := json.Marshal(signalIn{Invocation: p.Invocation, Name: "go", Value: "now"})
	expectPost(t, env.ingress+"/Awake/signal", string(in), http.StatusOK)
	t.Cleanup(func() {
		if n := len(env.tap.Attempts(p.Invocation)); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
}
