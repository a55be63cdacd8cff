//go:build linux

package compat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// sleepFor is what the sleep scenario sleeps: ten times the server's inactivity timeout, so the
// stream goes idle and the SDK suspends long before the timer is due.
const sleepFor = 10 * suspendAfter

// side is one official SDK's deployment as the test drives it, seen through its wiretap.
type side struct {
	name      string // "ts" or "go": the prefix of its effect lines
	counter   string // its Virtual Object: add, get, send{Other}, call{Other}Twice
	steps     string // its service: sleep, flaky, work
	sendOther string // handler of counter that sends other.add one way
	callTwice string // handler of counter that calls other.add twice with one idempotency key
	order     string // its workflow: run, approve, reject, peek, status
	brief     string // the same workflow with a workflow retention of 1 s
	lazy      string // its Virtual Object with lazy state: add
	tap       *testenv.Wiretap
	other     *side
}

// tapSDKs puts a fresh wiretap in front of each running SDK service.
func tapSDKs(t *testing.T, tsPort, goPort int) []*side {
	ts := &side{name: "ts", counter: "TsCounter", steps: "TsSteps", sendOther: "sendGo", callTwice: "callGoTwice", order: "TsOrder", brief: "TsBrief", lazy: "TsLazy",
		tap: testenv.StartWiretap(t, fmt.Sprintf("http://%s", testenv.Addr(tsPort)))}
	gs := &side{name: "go", counter: "GoCounter", steps: "GoSteps", sendOther: "sendTs", callTwice: "callTsTwice", order: "GoOrder", brief: "GoBrief", lazy: "GoLazy",
		tap: testenv.StartWiretap(t, fmt.Sprintf("http://%s", testenv.Addr(goPort)))}
	ts.other, gs.other = gs, ts
	return []*side{ts, gs}
}

// registerSides registers both taps (so every invocation stream passes through them).
func registerSides(t *testing.T, srv *server, sides []*side) {
	registerAndWait(t, srv, sides[0].tap.URL, []string{"TsBrief", "TsCounter", "TsFleeting", "TsFragile", "TsKept", "TsLazy", "TsLifeChild", "TsLifeParent", "TsOrder", "TsRerun", "TsSteps"}, "/TsCounter/probe/get")
	registerAndWait(t, srv, sides[1].tap.URL, []string{"GoBrief", "GoCounter", "GoFleeting", "GoFragile", "GoKept", "GoLazy", "GoLifeChild", "GoLifeParent", "GoOrder", "GoRerun", "GoSteps"}, "/GoCounter/probe/get")
}

// runScenarios runs, for both SDKs at once, a sleep that must suspend and resume, a one-way
// send, idempotent calls from the ingress and from a handler, and a handler retried after
// thrown errors. tag keeps keys and effect lines of this server apart from other runs against
// the same SDK processes.
func runScenarios(t *testing.T, srv *server, sides []*side, effects, tag string) {
	env := &scenarioEnv{srv: srv, effects: effects, tag: tag}
	scenarios := []struct {
		name string
		run  func(t *testing.T, env *scenarioEnv, s *side)
	}{
		{"sleep suspends and resumes", sleepScenario},
		{"waiting on a call suspends and resumes", callSleepScenario},
		{"one-way send runs once", sendScenario},
		{"idempotent ingress calls run once", idempotentIngressScenario},
		{"idempotent calls from a handler run once", idempotentCallScenario},
		{"retried after thrown errors", retryScenario},
		{"awakeable resolved over HTTP while suspended", awakeableSuspendedScenario},
		{"awakeable resolved before it is awaited", awakeableEarlyScenario},
		{"awakeable rejected over HTTP", awakeableRejectScenario},
		{"awakeable resolved from the other SDK's handler", awakeableFromHandlerScenario},
		{"awakeable rejected from the other SDK's handler", awakeableRejectFromHandlerScenario},
		{"awakeable ids malformed or unknown", awakeableBadIDScenario},
		{"named signal from the other SDK's handler", namedSignalScenario},
		{"workflow runs once, promise resolved while it waits", workflowScenario},
		{"workflow promise completed before the run", workflowEarlyPromiseScenario},
		{"workflow promise rejected", workflowRejectScenario},
		{"workflow attached from the other SDK's handler", workflowAttachScenario},
		{"workflow removed after its retention runs again", workflowRetentionScenario},
		{"lazy state read on demand", lazyStateScenario},
	}
	// The group returns when every parallel subtest has finished.
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			for _, s := range sides {
				t.Run(sc.name+"/"+s.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t, env, s)
				})
			}
		}
	})
	// Checks that something did not happen again are repeated once every scenario is over.
	t.Run("again after all scenarios", func(t *testing.T) {
		for _, l := range env.late {
			t.Run(l.name, l.check)
		}
	})
}

// scenarioEnv is what the scenarios of one server share.
type scenarioEnv struct {
	srv     *server
	effects string // the SDKs' effects file
	tag     string // prefix of keys, tags and idempotency keys of this server
	mu      sync.Mutex
	late    []lateCheck
}

type lateCheck struct {
	name  string // the scenario's subtest name below "scenarios/"
	check func(t *testing.T)
}

// again runs check now and once more after all scenarios.
func (e *scenarioEnv) again(t *testing.T, check func(t *testing.T)) {
	t.Helper()
	check(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, name, _ := strings.Cut(t.Name(), "/scenarios/")
	e.late = append(e.late, lateCheck{name, check})
}

// sleepScenario: steps.sleep(ms) journals the clock around a durable sleep. The attempt that
// sent the SleepCommand must end in a Suspension (the server closed the idle stream), and a
// later attempt, started by the timer, must produce the output; the journaled clocks must be
// at least ms apart.
func sleepScenario(t *testing.T, env *scenarioEnv, s *side) {
	r := mustInvoke(t, env.srv, "/"+s.steps+"/sleep", fmt.Sprint(sleepFor.Milliseconds()), nil, 200)
	checkSlept(t, r.Body)
	checkSuspended(t, s.tap, r.Header.Get("x-restate-id"), testenv.FrameSleep, "SleepCommand")
}

// callSleepScenario: steps.callSleep(ms) calls the other SDK's steps.sleep(ms) and waits for
// it. The caller's attempt that sent the CallCommand must end in a Suspension and a later one,
// started by the call's completion, must produce the callee's output.
func callSleepScenario(t *testing.T, env *scenarioEnv, s *side) {
	r := mustInvoke(t, env.srv, "/"+s.steps+"/callSleep", fmt.Sprint(sleepFor.Milliseconds()), nil, 200)
	checkSlept(t, r.Body)
	checkSuspended(t, s.tap, r.Header.Get("x-restate-id"), testenv.FrameCall, "CallCommand")
}

// checkSlept decodes a sleep's journaled clocks and checks they are at least sleepFor apart.
func checkSlept(t *testing.T, body []byte) {
	t.Helper()
	var c struct{ Before, After int64 }
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if ms := sleepFor.Milliseconds(); c.After-c.Before < ms {
		t.Errorf("journaled clocks %d ms apart around a sleep of %d ms: the sleep ended early", c.After-c.Before, ms)
	}
}

// checkSuspended: the attempt of invocation id that sent the awaited command (frame type awaited)
// ended in a Suspension, a later attempt produced the output, and no attempt failed.
func checkSuspended(t *testing.T, tap *testenv.Wiretap, id string, awaited uint16, what string) {
	t.Helper()
	atts := tap.Attempts(id)
	sent := slices.IndexFunc(atts, func(a testenv.Stream) bool { return a.Has(awaited) })
	switch {
	case sent < 0:
		t.Fatalf("no attempt sent a %s: %v", what, atts)
	case !atts[sent].Has(testenv.FrameSuspension):
		t.Fatalf("the attempt that sent the %s did not suspend: %v", what, atts[sent])
	case sent == len(atts)-1 || !atts[len(atts)-1].Has(testenv.FrameOutput):
		t.Fatalf("no later attempt resumed and produced the output: %v", atts)
	}
	for _, a := range atts {
		if a.Has(testenv.FrameError) {
			t.Errorf("attempt failed: %v", a)
		}
	}
	t.Logf("%d attempts; attempt %d sent the %s and suspended", len(atts), sent+1, what)
}

// sendScenario: counter.send{Other}(7) answers before other.add(7) runs; once the effect shows,
// the counter must be 7 (not 14), from exactly one invocation, then and after all scenarios.
func sendScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, key := env.srv, env.tag+"-send"
	r := mustInvoke(t, srv, "/"+s.counter+"/"+key+"/"+s.sendOther, "7", nil, 200)
	assertJSON(t, r.Body, "sent")
	get := "/" + s.other.counter + "/" + key + "/get"
	testenv.WaitReady(t, "one-way add applied", 30*time.Second, func() error {
		r, err := testenv.Invoke(srv.ingress, get, "")
		if err != nil || r.Status != 200 || string(r.Body) == "0" {
			return fmt.Errorf("GET %s: %v %v", get, r, err)
		}
		return nil
	}, srv.proc)
	env.again(t, func(t *testing.T) {
		r := mustInvoke(t, srv, get, "", nil, 200)
		assertJSON(t, r.Body, 7)
		assertOnce(t, s.other.tap, s.other.counter, "add", key)
	})
}

// idempotentIngressScenario: two concurrent ingress calls of counter.add(3) with one
// idempotency key both answer 3 from the same invocation, which ran once.
func idempotentIngressScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, key := env.srv, env.tag+"-idem"
	hdr := http.Header{"Idempotency-Key": {env.tag + "-k"}}
	path := "/" + s.counter + "/" + key + "/add"
	replies := make(chan testenv.Reply, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			r, err := testenv.Post(testenv.HTTPClient, srv.ingress+path, "3", hdr)
			replies <- r
			errs <- err
		}()
	}
	var ids []string
	for range 2 {
		r, err := <-replies, <-errs
		if err != nil || r.Status != 200 {
			t.Fatalf("POST %s: %v %v", path, r, err)
		}
		assertJSON(t, r.Body, 3)
		ids = append(ids, r.Header.Get("x-restate-id"))
	}
	if ids[0] != ids[1] {
		t.Errorf("the two callers got invocations %s and %s, want one", ids[0], ids[1])
	}
	env.again(t, func(t *testing.T) {
		r := mustInvoke(t, srv, "/"+s.counter+"/"+key+"/get", "", nil, 200)
		assertJSON(t, r.Body, 3)
		assertOnce(t, s.tap, s.counter, "add", key)
	})
}

// idempotentCallScenario: counter.call{Other}Twice calls other.add(4) twice with one
// idempotency key from inside a handler; both calls answer 4, and other.add ran once.
func idempotentCallScenario(t *testing.T, env *scenarioEnv, s *side) {
	// A key per side: the two sides run at once, and with one key each side's exclusive handler
	// would call the object the other side's handler holds (a deadlock of two Virtual Objects).
	srv, key := env.srv, env.tag+"-idem-call-"+s.name
	r := mustInvoke(t, srv, "/"+s.counter+"/"+key+"/"+s.callTwice, fmt.Sprintf(`{"n":4,"idem":%q}`, env.tag+"-k"), nil, 200)
	assertJSON(t, r.Body, []int{4, 4})
	env.again(t, func(t *testing.T) {
		r := mustInvoke(t, srv, "/"+s.other.counter+"/"+key+"/get", "", nil, 200)
		assertJSON(t, r.Body, 4)
		assertOnce(t, s.other.tap, s.other.counter, "add", key)
	})
}

// retryScenario: steps.flaky throws a retryable error on its first failures attempts. The
// invocation must succeed on attempt failures+1: the service counted that many attempts (its
// answer and its effect lines) and the wire shows failures Error attempts, then one Output.
func retryScenario(t *testing.T, env *scenarioEnv, s *side) {
	const failures = 2
	srv, ftag := env.srv, env.tag+"-flaky"
	r := mustInvoke(t, srv, "/"+s.steps+"/flaky", fmt.Sprintf(`{"tag":%q,"failures":%d}`, ftag, failures), nil, 200)
	assertJSON(t, r.Body, failures+1)
	var want []string
	for i := 1; i <= failures+1; i++ {
		want = append(want, fmt.Sprintf("%s %s attempt %d", s.name, ftag, i))
	}
	id := r.Header.Get("x-restate-id")
	env.again(t, func(t *testing.T) {
		if got := effectLines(t, env.effects, s.name+" "+ftag+" "); !slices.Equal(got, want) {
			t.Errorf("attempts the service saw: %q, want %q", got, want)
		}
		atts := s.tap.Attempts(id)
		if len(atts) != failures+1 {
			t.Fatalf("%d attempts on the wire, want %d: %v", len(atts), failures+1, atts)
		}
		for i, a := range atts {
			last := i == failures
			if a.Has(testenv.FrameError) == last || a.Has(testenv.FrameOutput) != last {
				t.Errorf("attempt %d: want %s: %v", i+1, map[bool]string{false: "an Error and no Output", true: "an Output and no Error"}[last], a)
			}
		}
	})
}

// assertOnce checks that exactly one invocation of service/handler on key reached the tap and
// that exactly one of its attempts produced an output.
func assertOnce(t *testing.T, tap *testenv.Wiretap, service, handler, key string) {
	t.Helper()
	invs := tap.Invocations(service, handler, key)
	if len(invs) != 1 {
		t.Fatalf("%d invocations of %s/%s on key %q, want 1: %v", len(invs), service, handler, key, invs)
	}
	for id, atts := range invs {
		outputs := 0
		for _, a := range atts {
			if a.Has(testenv.FrameOutput) {
				outputs++
			}
		}
		if outputs != 1 {
			t.Errorf("invocation %s produced %d outputs, want 1: %v", id, outputs, atts)
		}
	}
}

// checkNoDoubleOutput is the audit after a server's scenarios: no invocation that passed a tap
// produced an output in two attempts. (The brief workflow's run is the exception: it runs again,
// under the same id, once its first run was removed.)
func checkNoDoubleOutput(t *testing.T, sides []*side) {
	t.Helper()
	for _, s := range sides {
		outputs := map[string]int{}
		for _, st := range s.tap.Streams() {
			if st.Has(testenv.FrameOutput) && st.Service != s.brief {
				outputs[st.InvocationID]++
			}
		}
		for id, n := range outputs {
			if n > 1 {
				t.Errorf("%s: invocation %s produced an output in %d attempts: %v", s.name, id, n, s.tap.Attempts(id))
			}
		}
	}
}

// mustInvoke POSTs to the ingress and fails the test unless the status is want.
func mustInvoke(t *testing.T, srv *server, path, body string, hdr http.Header, want int) testenv.Reply {
	t.Helper()
	r, err := testenv.Post(testenv.HTTPClient, srv.ingress+path, body, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("POST %s %s: %v, want %d", path, body, r, want)
	}
	return r
}

// effectLines returns the lines of the effects file that start with prefix, in file order.
func effectLines(t *testing.T, path, prefix string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read effects: %v", err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// lazyStateScenario: an object with enableLazyState starts its attempts without the key's
// state, so the SDK reads it with GetLazyStateCommand (0x0402); an object without it gets the
// state in the StartMessage and never asks.
func lazyStateScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-lazy"
	for i, want := range []string{"1", "3"} {
		r := mustInvoke(t, env.srv, "/"+s.lazy+"/"+key+"/add", fmt.Sprint(i+1), nil, 200)
		if string(r.Body) != want {
			t.Fatalf("%s/%s/add: %v, want %s", s.lazy, key, r, want)
		}
	}
	const getLazyState = 0x0402
	invs := s.tap.Invocations(s.lazy, "add", key)
	if len(invs) != 2 {
		t.Fatalf("%d invocations of %s/%s/add passed the tap, want 2", len(invs), s.lazy, key)
	}
	for id, attempts := range invs {
		for _, a := range attempts {
			if !a.Has(getLazyState) {
				t.Errorf("%s attempt of %s read no lazy state: %v", s.lazy, id, a)
			}
		}
	}
	for id, attempts := range s.tap.Invocations(s.counter, "add", "*") {
		for _, a := range attempts {
			if a.Has(getLazyState) {
				t.Errorf("%s (eager state) attempt of %s read lazy state: %v", s.counter, id, a)
			}
		}
	}
}
