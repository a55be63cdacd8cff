//go:build linux

package crash

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// Timer classes: when a timer was due relative to the server's kill.
const (
	dueBefore = iota // before SIGKILL was sent
	dueDuring        // while the server was down or restarting
	dueAfter         // after the restarted server was ready
)

var classNames = [3]string{"before the kill", "while down", "after the restart"}

// timersReport is what the run did, for the log and the non-vacuity checks.
type timersReport struct {
	classes         map[string]*[3]int // timer kind -> count per class
	reexecuted      map[string]int     // kill -> Run bodies (or fired attempts) it made run again
	callsAcrossKill int                // relays waiting for their call when their deployment was killed
	calleesInWork   map[string]int     // kill -> Tally.apply Run bodies it interrupted
}

// history indexes the deployment events by handler and tag.
type history map[string][]event // "handler/tag" -> events in time order

func newHistory(evs []event) history {
	h := history{}
	for _, e := range evs {
		k := e.Handler + "/" + e.Tag
		h[k] = append(h[k], e)
	}
	for _, es := range h {
		slices.SortStableFunc(es, func(a, b event) int { return int(a.At - b.At) })
	}
	return h
}

// of returns the events of handler and tag of kind (and step, if not empty).
func (h history) of(handler, tag, kind, step string) []event {
	var out []event
	for _, e := range h[handler+"/"+tag] {
		if e.Kind == kind && (step == "" || e.Step == step) {
			out = append(out, e)
		}
	}
	return out
}

// host is the deployment role serving handler.
func host(handler string) string {
	if handler == "apply" || handler == "fired" {
		return roleBack
	}
	return roleFront
}

// killBetween returns the kill of the server or of the process serving
// handler that fell between two events, or false.
func killBetween(kills []killRecord, handler string, a, b event) (killRecord, bool) {
	for _, k := range kills {
		if (k.what == "server" || k.what == host(handler)) && a.At <= k.after && k.before <= b.At {
			return k, true
		}
	}
	return killRecord{}, false
}

// checkTimersAndCalls checks the results, the Tally counts and the
// deployment events against what was armed and submitted.
func checkTimersAndCalls(t *testing.T, items []timerItem, relays []relayIn, out settled, kills []killRecord, evs []event) timersReport {
	t.Helper()
	h := newHistory(evs)
	rep := timersReport{classes: map[string]*[3]int{}, reexecuted: map[string]int{}, calleesInWork: map[string]int{}}
	expected := map[string]bool{}
	for _, it := range items {
		if due, ok := checkTimer(t, h, it, out); ok {
			rep.classify(it.kind, due, kills[0])
		}
		if it.kind != kindSleep {
			expected[it.tag] = true
		}
	}
	for _, r := range relays {
		checkRelay(t, h, r, out, kills, &rep)
		expected[r.Tag] = true
	}
	for tag, n := range out.counts {
		if !expected[tag] {
			t.Errorf("Tally counts %d effects of %s, which nothing sent", n, tag)
		}
	}
	for tag := range expected {
		if n := out.counts[tag]; n != 1 {
			t.Errorf("%s: Tally applied it %d times, want exactly once", tag, n)
		}
	}
	checkReexecutions(t, h, kills, &rep)
	return rep
}

// checkTimer checks one timer's result and events and returns its due time
// (Unix ms).
func checkTimer(t *testing.T, h history, it timerItem, out settled) (int64, bool) {
	t.Helper()
	r := out.results[it.tag]
	if r.Status != 200 {
		t.Errorf("%s %s: attach answered %v, want 200 with its result", it.kind, it.tag, r)
		return 0, false
	}
	switch it.kind {
	case kindSleep:
		var o sleepOut
		if !decode(t, it.tag, r, &o) {
			return 0, false
		}
		oneInvocation(t, h, "sleep", it.tag, "")
		woke := h.of("sleep", it.tag, evRun, "woke")
		lastToken(t, it.tag+" woke", woke, o.Woke.Token)
		for _, e := range woke {
			if ms(e.At) < o.Due {
				t.Errorf("%s: woke at %v, %v before its due time", it.tag, time.Unix(0, e.At), time.UnixMilli(o.Due).Sub(time.Unix(0, e.At)))
			}
		}
		return o.Due, true
	case kindLater:
		var o laterOut
		if !decode(t, it.tag, r, &o) {
			return 0, false
		}
		checkFired(t, h, it.tag, o.Callee, o.Due)
		return o.Due, true
	default:
		var n int
		if !decode(t, it.tag, r, &n) {
			return 0, false
		}
		if n != 1 {
			t.Errorf("%s: Tally.fired returned count %d, want 1", it.tag, n)
		}
		checkFired(t, h, it.tag, it.id, it.due)
		return it.due, true
	}
}

// checkFired: the delayed Tally.fired of tag ran as invocation id only, and
// not before due.
func checkFired(t *testing.T, h history, tag, id string, due int64) {
	t.Helper()
	enters := oneInvocation(t, h, "fired", tag, id)
	if len(enters) > 0 && ms(enters[0].At) < due {
		t.Errorf("%s: delayed send started at %v, %v before its due time", tag, time.Unix(0, enters[0].At), time.UnixMilli(due).Sub(time.Unix(0, enters[0].At)))
	}
}

// checkRelay checks one call between services.
func checkRelay(t *testing.T, h history, r relayIn, out settled, kills []killRecord, rep *timersReport) {
	t.Helper()
	res := out.results[r.Tag]
	var o relayOut
	if res.Status != 200 {
		t.Errorf("relay %s: attach answered %v, want 200 with its result", r.Tag, res)
		return
	}
	if !decode(t, r.Tag, res, &o) {
		return
	}
	oneInvocation(t, h, "relay", r.Tag, "")
	oneInvocation(t, h, "apply", r.Tag, "")
	work := h.of("apply", r.Tag, evRun, "work")
	lastToken(t, r.Tag+" callee work", work, o.Callee.Token)
	lastToken(t, r.Tag+" pre", h.of("relay", r.Tag, evRun, "pre"), o.Pre)
	lastToken(t, r.Tag+" post", h.of("relay", r.Tag, evRun, "post"), o.Post)
	if o.Callee.Count != 1 {
		t.Errorf("relay %s: callee answered count %d, want 1", r.Tag, o.Callee.Count)
	}
	for i := 1; i < len(work); i++ {
		if k, ok := killBetween(kills, "apply", work[i-1], work[i]); ok {
			rep.calleesInWork[k.what]++
		}
	}
	// A relay waiting for its call when the caller's deployment was killed.
	calls, returns := h.of("relay", r.Tag, evCall, ""), h.of("relay", r.Tag, evReturn, "")
	for _, k := range kills {
		if k.what == roleFront && len(calls) > 0 && calls[0].At < k.before && len(returns) > 0 && returns[0].At > k.after {
			rep.callsAcrossKill++
		}
	}
}

// checkReexecutions: a handler is attempted again, and a Run body runs
// again, only when a kill of the server or of its deployment fell between
// the two: otherwise a timer fired, or an invocation started, twice (the
// invocations here never suspend: none waits as long as the inactivity
// timeout).
func checkReexecutions(t *testing.T, h history, kills []killRecord, rep *timersReport) {
	t.Helper()
	for key, es := range h {
		handler, tag, _ := strings.Cut(key, "/")
		runs := map[string][]event{}
		for _, e := range es {
			switch e.Kind {
			case evEnter:
				runs["attempt"] = append(runs["attempt"], e)
			case evRun:
				runs["Run "+e.Step] = append(runs["Run "+e.Step], e)
			}
		}
		for what, rs := range runs {
			for i := 1; i < len(rs); i++ {
				k, ok := killBetween(kills, handler, rs[i-1], rs[i])
				if !ok {
					t.Errorf("%s %s: %s again at %v (before: %v) with no kill of the server or its deployment in between",
						handler, tag, what, time.Unix(0, rs[i].At), time.Unix(0, rs[i-1].At))
					continue
				}
				rep.reexecuted[k.what+" ("+what+")"]++
			}
		}
	}
}

// oneInvocation returns the attempts of handler for tag, failing unless they
// are all one invocation (id, if not empty) and there is at least one.
func oneInvocation(t *testing.T, h history, handler, tag, id string) []event {
	t.Helper()
	enters := h.of(handler, tag, evEnter, "")
	ids := map[string]bool{}
	for _, e := range enters {
		ids[e.Inv] = true
	}
	switch {
	case len(enters) == 0:
		t.Errorf("%s %s: never ran", handler, tag)
	case len(ids) != 1:
		t.Errorf("%s %s: ran as %d invocations %v, want one", handler, tag, len(ids), keys(ids))
	case id != "" && !ids[id]:
		t.Errorf("%s %s: ran as %v, want %s", handler, tag, keys(ids), id)
	}
	return enters
}

// lastToken: the journaled token is the one the last execution produced.
func lastToken(t *testing.T, what string, runs []event, journaled string) {
	t.Helper()
	if len(runs) == 0 {
		t.Errorf("%s: journaled token %q but the Run body never ran", what, journaled)
		return
	}
	if last := runs[len(runs)-1].Token; last != journaled {
		t.Errorf("%s: journaled token %q is not the last execution's %q (the body ran again after its result was journaled)", what, journaled, last)
	}
}

func decode(t *testing.T, tag string, r testenv.Reply, v any) bool {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Errorf("%s: result %s: %v", tag, r.Body, err)
		return false
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func ms(unixNano int64) int64 { return time.Unix(0, unixNano).UnixMilli() }

func (r *timersReport) classify(kind string, due int64, k killRecord) {
	c := dueAfter
	switch {
	case due < ms(k.before):
		c = dueBefore
	case due <= ms(k.ready):
		c = dueDuring
	}
	if r.classes[kind] == nil {
		r.classes[kind] = &[3]int{}
	}
	r.classes[kind][c]++
}

func (r timersReport) log(t *testing.T, kills []killRecord) {
	t.Helper()
	var b strings.Builder
	b.WriteString("timers and calls across kills:\n")
	for _, k := range kills {
		fmt.Fprintf(&b, "  kill of %s: down for %v\n", k.what, time.Duration(k.ready-k.before).Round(time.Millisecond))
	}
	for _, kind := range []string{kindSleep, kindLater, kindIngress} {
		c := r.classes[kind]
		if c == nil {
			c = &[3]int{}
		}
		fmt.Fprintf(&b, "  %s timers due %s: %d, %s: %d, %s: %d\n", kind, classNames[0], c[0], classNames[1], c[1], classNames[2], c[2])
	}
	fmt.Fprintf(&b, "  executions repeated, by the kill that caused them: %v\n", r.reexecuted)
	fmt.Fprintf(&b, "  callee Run bodies interrupted, by kill: %v; relays waiting for their call when the caller was killed: %d",
		r.calleesInWork, r.callsAcrossKill)
	t.Log(b.String())
}

// assertNotVacuous: timers of each kind fell due before, during and after the
// server's kill, and each kill interrupted a call.
func (r timersReport) assertNotVacuous(t *testing.T) {
	t.Helper()
	var delayed [3]int
	for _, kind := range []string{kindLater, kindIngress} {
		if c := r.classes[kind]; c != nil {
			for i := range delayed {
				delayed[i] += c[i]
			}
		}
	}
	sleeps := r.classes[kindSleep]
	for i, name := range classNames {
		if sleeps == nil || sleeps[i] == 0 {
			t.Errorf("no sleep was due %s", name)
		}
		if delayed[i] == 0 {
			t.Errorf("no delayed send was due %s", name)
		}
	}
	if r.calleesInWork["server"] == 0 || r.calleesInWork[roleBack] == 0 {
		t.Errorf("callee Run bodies interrupted by kill %v: want some by the server's and the callee deployment's", r.calleesInWork)
	}
	if r.callsAcrossKill == 0 {
		t.Errorf("no relay was waiting for its call when the caller's deployment was killed")
	}
}
