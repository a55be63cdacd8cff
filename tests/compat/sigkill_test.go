//go:build linux

package compat

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// Work submitted to each SDK before the SIGKILL: sleepers journal one effect and sleep past the
// kill; busy invocations journal many effects back to back, so the kill lands mid-journal.
const (
	killSleepers   = 3
	killSleep      = 15 * suspendAfter
	killBusy       = 2
	killBusySteps  = 150
	killBusyBefore = 5 // effect lines each busy invocation must have run before the kill
)

// killAwakeables is how many invocations per SDK are suspended on an awakeable across the kill:
// 1,000 in all by default (a few seconds), fewer or more with -compat.kill-awakeables=N.
var killAwakeables = flag.Int("compat.kill-awakeables", 500, "invocations per SDK waiting on an awakeable across the SIGKILL")

// Frames (runtime → SDK) that tell the SDK a Run result is journaled: RunCompletionNotification
// (V5, V6, and replays), ProposeRunCompletionAck (V7 acknowledges a proposed result instead).
const (
	runCompletion    uint16 = 0x8011
	runCompletionAck uint16 = 0x0007
)

// work is one invocation of steps.work submitted before the kill.
type work struct {
	s          *side
	tag, body  string
	steps      int
	acceptedID string // from the 202 of /send
}

// sigkillMidWork runs our server (a process that keeps its data directory and ports across a
// kill), submits work to both official SDKs with /send and an idempotency key (the 202 is the
// acknowledgement), makes two acknowledged counter calls, waits until every invocation is under
// way, SIGKILLs the server and restarts it. Then every acknowledged invocation must finish with
// its answer, the acknowledged state must be there, and no journaled side effect may run again:
// for each invocation, the effects whose Run completion the wiretap saw the runtime send before
// the kill ran exactly once, the next one (in flight at the kill) at most twice, and the rest
// exactly once.
func sigkillMidWork(t *testing.T, bin, logDir string, ingressPort, adminPort, tsPort, goPort int, effects string, sdks ...*testenv.Proc) {
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bin, LogDir: logDir, IngressPort: ingressPort, AdminPort: adminPort,
		Args: []string{"--inactivity-timeout", suspendAfter.String()}})
	cs := &server{kind: "resolute", ingress: srv.Ingress, admin: srv.Admin, proc: srv.Proc()}
	// Every wait below also watches the SDK processes: one that dies fails the test at once, with
	// its log, instead of leaving its invocations to retry until the wait times out.
	watch := append([]*testenv.Proc{srv.Proc()}, sdks...)
	sides := tapSDKs(t, tsPort, goPort)
	registerSides(t, cs, sides)

	// Acknowledged state: answered 200 before the kill.
	for _, s := range sides {
		mustInvoke(t, cs, "/"+s.counter+"/kill/add", "5", nil, 200)
	}
	// The awakeable waiters first: suspending hundreds of them takes seconds, which would let the
	// sleepers below finish before the kill.
	awakes := submitAwakeables(t, cs, sides)
	waitAwakeablesSuspended(t, awakes, effects, watch)
	var all []*work
	for _, s := range sides {
		for i := range killSleepers + killBusy {
			w := &work{s: s, tag: fmt.Sprintf("kill-sleep-%d", i), steps: 1}
			sleepMs := killSleep.Milliseconds()
			if i >= killSleepers {
				w.tag, w.steps, sleepMs = fmt.Sprintf("kill-busy-%d", i), killBusySteps, 0
			}
			w.body = fmt.Sprintf(`{"tag":%q,"steps":%d,"sleepMs":%d}`, w.tag, w.steps, sleepMs)
			r := mustInvoke(t, cs, "/"+s.steps+"/work/send", w.body, http.Header{"Idempotency-Key": {w.tag}}, 202)
			var acc struct {
				InvocationID string `json:"invocationId"`
			}
			if err := json.Unmarshal(r.Body, &acc); err != nil || acc.InvocationID == "" {
				t.Fatalf("send %s: answer %s: %v", w.tag, r.Body, err)
			}
			w.acceptedID = acc.InvocationID
			all = append(all, w)
		}
	}
	testenv.WaitReady(t, "work under way", 60*time.Second, func() error {
		for _, w := range all {
			need := min(w.steps, killBusyBefore)
			if n := len(effectLines(t, effects, w.prefix())); n < need {
				return fmt.Errorf("%s: %d effects so far, want %d before the kill", w.prefix(), n, need)
			}
		}
		return nil
	}, watch...)

	srv.Kill()
	// What the runtime had sent before it died: once every stream's runtime side has ended, the
	// taps hold every frame it wrote.
	testenv.WaitReady(t, "streams of the killed server ended", 30*time.Second, func() error {
		for _, s := range sides {
			for _, st := range s.tap.Streams() {
				if !st.RuntimeDone {
					return fmt.Errorf("%s still open", st)
				}
			}
		}
		return nil
	})
	before := map[*side][]testenv.Stream{}
	for _, s := range sides {
		before[s] = s.tap.Streams()
	}
	inFlight := 0
	for _, w := range all {
		if !slices.ContainsFunc(before[w.s], func(st testenv.Stream) bool {
			return st.InvocationID == w.acceptedID && st.Has(testenv.FrameOutput)
		}) {
			inFlight++
		}
	}
	t.Logf("killed with %d of %d invocations unfinished", inFlight, len(all))
	if inFlight == 0 {
		t.Errorf("every invocation had finished before the kill; the test exercised no recovery")
	}
	srv.Restart()

	for _, s := range sides {
		r := mustInvoke(t, cs, "/"+s.counter+"/kill/get", "", nil, 200)
		assertJSON(t, r.Body, 5)
	}
	for _, w := range all {
		// The same request with the same idempotency key attaches to the acknowledged invocation.
		r := mustInvoke(t, cs, "/"+w.s.steps+"/work", w.body, http.Header{"Idempotency-Key": {w.tag}}, 200)
		assertJSON(t, r.Body, w.steps)
		if id := r.Header.Get("x-restate-id"); id != w.acceptedID {
			t.Errorf("%s: answered by %s, want the acknowledged %s", w.tag, id, w.acceptedID)
		}
	}
	for _, w := range all {
		checkEffectsAfterKill(t, w, before[w.s], effects)
	}
	resolveAwakeablesAfterKill(t, cs, awakes)
	checkNoDoubleOutput(t, sides)
	for _, s := range sides {
		checkReplays(t, s)
	}
}

// checkReplays: in every journal the runtime replayed, each Run completion follows its Run
// command (the SDK journals the command before it proposes the result), so no replay holds more
// completions than commands at any point.
func checkReplays(t *testing.T, s *side) {
	t.Helper()
	for _, st := range s.tap.Streams() {
		end := min(1+st.KnownEntries, len(st.Sent))
		cmds, done := 0, 0
		for _, f := range st.Sent[1:end] {
			switch f {
			case testenv.FrameRun:
				cmds++
			case runCompletion:
				done++
			}
			if done > cmds {
				t.Errorf("%s: the replayed journal has a Run completion without its Run command: %v", s.name, st)
				break
			}
		}
	}
}

func (w *work) prefix() string { return w.s.name + " " + w.tag + " " }

// checkEffectsAfterKill: journaled = the most Run completions (or V7 acks) one pre-kill stream
// of w carried (a stream replays the whole journal first, so its count is what was journaled by
// its end): the runtime told the SDK these results were durable, so they must not run again.
// Effects 1..journaled ran once, effect journaled+1 at most twice, later ones once.
func checkEffectsAfterKill(t *testing.T, w *work, before []testenv.Stream, effects string) {
	t.Helper()
	journaled := 0
	for _, st := range before {
		if st.InvocationID != w.acceptedID {
			continue
		}
		n := 0
		for _, f := range st.Sent {
			if f == runCompletion || f == runCompletionAck {
				n++
			}
		}
		journaled = max(journaled, n)
	}
	count := map[string]int{}
	for _, l := range effectLines(t, effects, w.prefix()) {
		count[l]++
	}
	names := make([]string, 0, w.steps+1)
	for i := 1; i <= w.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	names = append(names, "done")
	for i, n := range names {
		got, line := count[w.prefix()+n], w.prefix()+n
		delete(count, line)
		switch {
		case i < journaled && got != 1:
			t.Errorf("%q ran %d times; its result was journaled before the kill, want once", line, got)
		case i == journaled && (got < 1 || got > 2):
			t.Errorf("%q ran %d times; it was in flight at the kill, want once or twice", line, got)
		case i > journaled && got != 1:
			t.Errorf("%q ran %d times, want once", line, got)
		}
	}
	for l, n := range count {
		t.Errorf("unexpected effect %q (%d times)", l, n)
	}
	if t.Failed() {
		for i, st := range w.s.tap.Attempts(w.acceptedID) {
			t.Logf("%s attempt %d: %v", w.tag, i+1, st)
		}
	}
	t.Logf("%s: %d of %d effects journaled before the kill", w.tag, journaled, len(names))
}

// awaiting is an invocation of steps.awake submitted before the kill.
type awaiting struct {
	s          *side
	tag, body  string
	acceptedID string
	id         string // its awakeable's id, once published
}

// submitAwakeables sends killAwakeables invocations of steps.awake per SDK (with /send and an
// idempotency key, so that they can be attached to after the restart).
func submitAwakeables(t *testing.T, cs *server, sides []*side) []*awaiting {
	t.Helper()
	var out []*awaiting
	for _, s := range sides {
		for i := range *killAwakeables {
			a := &awaiting{s: s, tag: fmt.Sprintf("kill-awake-%d", i)}
			a.body = fmt.Sprintf(`{"tag":%q,"sleepMs":0}`, a.tag)
			r := mustInvoke(t, cs, "/"+s.steps+"/awake/send", a.body, http.Header{"Idempotency-Key": {a.tag}}, 202)
			var acc struct {
				InvocationID string `json:"invocationId"`
			}
			if err := json.Unmarshal(r.Body, &acc); err != nil || acc.InvocationID == "" {
				t.Fatalf("send %s: answer %s: %v", a.tag, r.Body, err)
			}
			a.acceptedID = acc.InvocationID
			out = append(out, a)
		}
	}
	return out
}

// waitAwakeablesSuspended waits until every awake invocation has published its awakeable's id
// and an attempt of it has suspended, so that the kill finds them all waiting.
func waitAwakeablesSuspended(t *testing.T, awakes []*awaiting, effects string, watch []*testenv.Proc) {
	t.Helper()
	testenv.WaitReady(t, "awakeables published and suspended", 60*time.Second+time.Duration(len(awakes))*100*time.Millisecond, func() error {
		published := map[string]string{} // effect line prefix → the first id published
		for _, l := range effectLines(t, effects, "") {
			if prefix, id, ok := strings.Cut(l, " awakeable "); ok && published[prefix] == "" {
				published[prefix] = id
			}
		}
		for _, a := range awakes {
			a.id = published[a.s.name+" "+a.tag]
			if a.id == "" {
				return fmt.Errorf("%s %s: no awakeable id yet", a.s.name, a.tag)
			}
			attempts := a.s.tap.Attempts(a.acceptedID)
			if !slices.ContainsFunc(attempts, func(st testenv.Stream) bool { return st.Has(testenv.FrameSuspension) }) {
				last := "no attempt yet"
				if len(attempts) > 0 {
					last = fmt.Sprintf("%d attempts, the last: %s", len(attempts), attempts[len(attempts)-1])
				}
				return fmt.Errorf("%s %s: not suspended yet (%s)", a.s.name, a.tag, last)
			}
		}
		return nil
	}, watch...)
	t.Logf("%d invocations suspended on awakeables before the kill", len(awakes))
}

// resolveAwakeablesAfterKill resolves every awakeable over HTTP, each with its own value, after
// the restart; each invocation must answer its own value (attached by its idempotency key) from
// the acknowledged invocation, and later resolutions must change nothing.
func resolveAwakeablesAfterKill(t *testing.T, cs *server, awakes []*awaiting) {
	t.Helper()
	value := func(a *awaiting) string { return a.s.name + " " + a.tag }
	for _, a := range awakes {
		mustInvoke(t, cs, "/restate/awakeables/"+a.id+"/resolve", fmt.Sprintf("%q", value(a)), nil, 202)
	}
	for _, a := range awakes {
		mustInvoke(t, cs, "/restate/awakeables/"+a.id+"/resolve", `"again"`, nil, 202)
	}
	for _, a := range awakes {
		r := mustInvoke(t, cs, "/"+a.s.steps+"/awake", a.body, http.Header{"Idempotency-Key": {a.tag}}, 200)
		assertJSON(t, r.Body, value(a))
		if id := r.Header.Get("x-restate-id"); id != a.acceptedID {
			t.Errorf("%s: answered by %s, want the acknowledged %s", a.tag, id, a.acceptedID)
		}
	}
}
