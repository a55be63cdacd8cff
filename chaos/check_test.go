//go:build linux

package chaos

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// The checks must catch what they claim to catch: each case plants one
// violation in a consistent history and expects exactly the named checks
// to fail, through check, the function Run uses.

// t0 is the fixture's workload start; op times count from it.
var t0 = time.Unix(1_700_000_000, 0)

func ms(n int) int64 { return int64(n) * int64(time.Millisecond) }

// wall is the Unix ns time of n ms after t0.
func wall(n int) int64 { return t0.UnixNano() + ms(n) }

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// called is an acknowledged idempotent call answered out, between call and
// ret ms, attached to later with the same answer.
func called(id string, k kind, key string, delta, call, ret int, out any) *op {
	body := jsonOf(out)
	return &op{id: id, kind: k, key: key, delta: delta, idem: true, acked: true, tries: 1,
		call: ms(call), ret: ms(ret), invID: "inv-" + id, body: body,
		attached: true, attachRet: ms(ret + 1000), attachID: "inv-" + id, attachBody: body}
}

func readOp(id, key string, call, ret, value int) *op {
	return &op{id: id, kind: kindGet, key: key, acked: true, tries: 1, call: ms(call), ret: ms(ret), body: jsonOf(deployment.ReadOut{Value: value})}
}

// sent is an acknowledged one-way send of delta to key, delayed by delay
// ms, whose add ran at ran ms, attached to at att ms.
func sent(id, key string, delta, delay, call, att int, value int) *op {
	return &op{id: id, kind: kindSend, key: key, delta: delta, delay: delay, idem: true, acked: true, tries: 1,
		call: ms(call), ret: ms(call + 1), invID: "inv-" + id,
		attached: true, attachRet: ms(att), attachID: "inv-" + id,
		attachBody: jsonOf(deployment.AddOut{ID: id, Value: value, Token: "t-" + id, At: wall(call + delay + 5)})}
}

// history is what check reads of a run.
type history struct {
	r     *run
	execs []deployment.Exec
}

// goodHistory is consistent: on hot key k, add a (its Run step executed
// twice, the second result journaled), nap n (sleeps 100ms, then adds), a
// read, flow w; on cold key c, a send delayed 50ms and a fanout's sub sent
// with a 50ms delay; one kill while the nap slept, no Run after the drain.
func goodHistory() history {
	ops := []*op{
		called("a", kindAdd, "k", 2, 0, 10, deployment.AddOut{ID: "a", Value: 2, Token: "t1", At: wall(1)}),
		called("n", kindNap, "k", 3, 20, 200, deployment.NapOut{
			Before: deployment.Stamp{Token: "tn0", At: wall(21)},
			After:  deployment.Stamp{Token: "tn1", At: wall(122)},
			Add:    deployment.AddOut{ID: "n", Value: 5, Token: "tna", At: wall(123)}}),
		readOp("r", "k", 300, 310, 5),
		called("w", kindFlow, "k", 1, 350, 400, deployment.FlowOut{Tokens: []string{"tw0", "tw1"},
			Add: deployment.AddOut{ID: "w", Value: 6, Token: "twa", At: wall(390)}}),
		sent("s", "c", 4, 50, 0, 400, 4),
		called("F", kindFanout, "", 0, 500, 510, deployment.FanOut{Token: "tf", At: wall(501), SendIDs: []string{"inv-F.0"}}),
		called("A", kindAwait, "c", 2, 800, 900, deployment.AwaitOut{Awakeable: "sign_1A", Value: "A/r1",
			After: deployment.Stamp{Token: "tA1", At: wall(840)}, Add: deployment.AddOut{ID: "A", Value: 7, Token: "tAa", At: wall(850)}}),
	}
	ops[1].delay, ops[3].steps = 100, 2
	ops[5].subs = []deployment.Sub{{Key: "c", ID: "F.0", Delta: 1, DelayMs: 50}}
	ops = append(ops, promisedOp())
	ops = withSubs(ops)
	sub := ops[len(ops)-1]
	sub.attached, sub.attachRet, sub.attachID = true, ms(700), "inv-F.0"
	sub.attachBody = jsonOf(deployment.AddOut{ID: "F.0", Value: 5, Token: "tsub", At: wall(560)})
	execs := []deployment.Exec{
		{Op: "a", Step: deployment.StepAdd, Token: "t0"}, {Op: "a", Step: deployment.StepAdd, Token: "t1"},
		{Op: "s", Step: deployment.StepAdd, Token: "t-s"},
		{Op: "n", Step: deployment.StepNapBefore, Token: "tn0"}, {Op: "n", Step: deployment.StepNapAfter, Token: "tn1"},
		{Op: "n", Step: deployment.StepAdd, Token: "tna"},
		{Op: "w", Step: deployment.FlowStep(0), Token: "tw0"}, {Op: "w", Step: deployment.FlowStep(1), Token: "tw1"},
		{Op: "w", Step: deployment.StepAdd, Token: "twa"},
		{Op: "F", Step: deployment.StepFan, Token: "tf"}, {Op: "F.0", Step: deployment.StepAdd, Token: "tsub"},
		{Op: "A", Step: deployment.NoteAwakeable, Token: "sign_1A"}, {Op: "A", Step: deployment.NoteAwakeable, Token: "sign_1A"},
		{Op: "A", Step: deployment.StepAwoken, Token: "tA1"}, {Op: "A", Step: deployment.StepAdd, Token: "tAa"},
		{Op: "P", Step: deployment.StepPromisedBefore, Token: "tP0"}, {Op: "P", Step: deployment.StepPromisedAfter, Token: "tP1"},
		{Op: "P", Step: deployment.StepAdd, Token: "tPa"},
	}
	r := &run{ops: ops, start: t0, keys: keys{hot: []string{"k"}, cold: []string{"c"}},
		kills: []Kill{{Kind: KillAll, At: time.Duration(ms(60)), InFlight: 1, Downtime: 30 * time.Millisecond}},
		dumps: map[string]deployment.State{
			"k": {Value: 6, Applied: []string{"a", "n", "w"}, Deltas: []int{2, 3, 1}},
			"c": {Value: 10, Applied: []string{"s", "F.0", "A", "P"}, Deltas: []int{4, 1, 2, 3}},
		},
		// A's awakeable: resolved at 810 (acknowledged at 820), resolved again
		// at 830, after the first was acknowledged; A completed with the first.
		awaited: map[string]*awaited{"A": {ids: []string{"sign_1A"}, res: []*resolution{
			{tag: "A/r1", sent: ms(810), acked: ms(820), tries: 1},
			{tag: "A/r2", second: true, sent: ms(830), acked: ms(835), tries: 1},
		}}}}
	r.drained.execs = len(execs)
	return history{r: r, execs: execs}
}

func (h history) op(id string) *op {
	for _, o := range h.r.ops {
		if o.id == id {
			return o
		}
	}
	panic("no op " + id)
}

// setAwait rewrites the output of the await op A, in its answer and its
// attach.
func setAwait(h *history, f func(v *deployment.AwaitOut)) {
	o := h.op("A")
	var v deployment.AwaitOut
	if err := json.Unmarshal(o.body, &v); err != nil {
		panic(err)
	}
	f(&v)
	o.body, o.attachBody = jsonOf(v), jsonOf(v)
}

// promisedOp is a workflow run P on cold key c, adding 3: its promise
// completed at 1010 ms (answered at 1015), completed again at 1020 and
// refused, the run sent again and answered PreviouslyAccepted.
func promisedOp() *op {
	out := deployment.PromisedOut{Value: "P/p1", Before: deployment.Stamp{Token: "tP0", At: wall(1005)},
		After: deployment.Stamp{Token: "tP1", At: wall(1030)}, Add: deployment.AddOut{ID: "P", Value: 10, Token: "tPa", At: wall(1035)}}
	return &op{id: "P", kind: kindPromised, key: "c", delta: 3, idem: true, sent: true, acked: true, tries: 1,
		call: ms(1000), ret: ms(1002), invID: "inv-P",
		attached: true, attachRet: ms(1100), attachID: "inv-P", attachBody: jsonOf(out),
		wf: &promised{again: true, resub: resubSend,
			completes: []*completion{
				{value: "P/p1", sent: ms(1010), ret: ms(1015), out: deployment.CompleteOut{OK: true}},
				{value: "P/p2", sent: ms(1020), ret: ms(1025), out: deployment.CompleteOut{Error: "promise was already completed"}},
			},
			resubbed: answer{status: 202, body: []byte(`{"invocationId":"inv-P","status":"PreviouslyAccepted"}`)}}}
}

// setPromised rewrites the output of the workflow op P.
func setPromised(h *history, f func(v *deployment.PromisedOut)) {
	o := h.op("P")
	var v deployment.PromisedOut
	if err := json.Unmarshal(o.attachBody, &v); err != nil {
		panic(err)
	}
	f(&v)
	o.attachBody = jsonOf(v)
}

// failedChecks names the checks that failed, and says why.
func failedChecks(checks []Check) (names, details []string) {
	for _, c := range checks {
		if !c.OK {
			names = append(names, c.Name)
			details = append(details, c.Name+": "+c.Detail)
		}
	}
	return names, details
}

func TestChecks(t *testing.T) {
	const (
		failures  = "no failed requests"
		kills     = "kills (SIGKILL, restart)"
		once      = "acknowledged ops: one output, one invocation"
		runs      = "journaled Run results never recomputed"
		fold      = "final state = fold of acknowledged ops"
		linHot    = "linearizable k"
		linCold   = "linearizable 1 cold keys"
		timersChk = "timers fire once, never early"
		awake     = "awakeables: first acknowledged resolution wins"
		wf        = "workflows: run once per key, promise value reaches it"
		stuck     = "no stuck invocations"
		orphan    = "every running invocation has an attempt"
	)
	cases := []struct {
		name  string
		plant func(h *history)
		fails []string // the checks that must fail, in report order
	}{
		{"consistent", func(*history) {}, nil},
		{"an invocation failed", func(h *history) {
			h.r.ops = append(h.r.ops, &op{id: "x", kind: kindAdd, key: "k", delta: 1, idem: true, tries: 1, fail: "status 500: boom"})
		}, []string{failures}},
		{"no kill", func(h *history) { h.r.kills = nil }, []string{kills}},
		{"running invocation without an attempt", func(h *history) { h.r.orphans.ids = []string{"inv_1"} }, []string{orphan}},
		{"orphans not readable", func(h *history) { h.r.orphans.err = errors.New("connection refused") }, []string{orphan}},
		{"different answer on attach", func(h *history) {
			h.op("a").attachBody = jsonOf(deployment.AddOut{ID: "a", Value: 9, Token: "t1", At: wall(1)})
		}, []string{once}},
		{"second invocation on attach", func(h *history) { h.op("s").attachID = "inv-other" }, []string{once}},
		{"Run recomputed after journaling", func(h *history) {
			h.execs = append(h.execs[:2], append([]deployment.Exec{{Op: "a", Step: deployment.StepAdd, Token: "t2"}}, h.execs[2:]...)...)
			h.r.drained.execs++
		}, []string{runs}},
		{"nap's first step recomputed after the sleep", func(h *history) {
			h.execs = append(h.execs[:5], append([]deployment.Exec{{Op: "n", Step: deployment.StepNapBefore, Token: "tn0b"}}, h.execs[5:]...)...)
			h.r.drained.execs++
		}, []string{runs}},
		{"journaled token never recorded", func(h *history) {
			h.execs = slices.DeleteFunc(h.execs, func(e deployment.Exec) bool { return e.Token == "tw1" })
			h.r.drained.execs--
		}, []string{runs}},
		{"applied twice", func(h *history) {
			h.r.dumps["k"] = deployment.State{Value: 8, Applied: []string{"a", "a", "n", "w"}, Deltas: []int{2, 2, 3, 1}}
		}, []string{fold}},
		{"unacknowledged add applied twice", func(h *history) {
			h.r.ops = append(h.r.ops, &op{id: "u", kind: kindAdd, key: "c", delta: 2, idem: true, tries: 1, fail: "status 400: x"})
			h.r.dumps["c"] = deployment.State{Value: 14, Applied: []string{"s", "F.0", "A", "P", "u", "u"}, Deltas: []int{4, 1, 2, 3, 2, 2}}
		}, []string{failures, fold}},
		{"acknowledged add lost", func(h *history) {
			h.r.dumps["k"] = deployment.State{Value: 5, Applied: []string{"a", "n"}, Deltas: []int{2, 3}}
		}, []string{fold}},
		{"unknown op applied", func(h *history) {
			h.r.dumps["c"] = deployment.State{Value: 17, Applied: []string{"s", "F.0", "A", "P", "zz"}, Deltas: []int{4, 1, 2, 3, 7}}
		}, []string{fold}},
		{"value is not the sum of the deltas", func(h *history) {
			s := h.r.dumps["c"]
			s.Value = 11
			h.r.dumps["c"] = s
		}, []string{fold}},
		{"answer is not the running sum at its place", func(h *history) {
			h.r.dumps["k"] = deployment.State{Value: 6, Applied: []string{"n", "a", "w"}, Deltas: []int{3, 2, 1}}
		}, []string{fold}},
		{"stale read on a hot key", func(h *history) { h.op("r").body = jsonOf(deployment.ReadOut{Value: 2}) }, []string{linHot}},
		{"stale read on a cold key", func(h *history) {
			h.r.ops = append(h.r.ops, readOp("rc", "c", 900, 910, 0))
		}, []string{linCold}},
		{"sleep fired early", func(h *history) {
			o := h.op("n")
			var v deployment.NapOut
			_ = json.Unmarshal(o.body, &v)
			v.After.At = v.Before.At + ms(98) // 2ms early: beyond the 1ms grain of timer times
			o.body, o.attachBody = jsonOf(v), jsonOf(v)
		}, []string{timersChk}},
		{"sleep fired within the 1ms grain of timer times", func(h *history) {
			o := h.op("n")
			var v deployment.NapOut
			_ = json.Unmarshal(o.body, &v)
			v.After.At = v.Before.At + ms(99)
			o.body, o.attachBody = jsonOf(v), jsonOf(v)
		}, nil},
		{"sent nap fired early (its output comes from the attach)", func(h *history) {
			o := h.op("n")
			var v deployment.NapOut
			_ = json.Unmarshal(o.body, &v)
			v.After.At = v.Before.At + ms(50)
			o.sent, o.body, o.attachBody = true, nil, jsonOf(v)
		}, []string{timersChk}},
		{"delayed send fired early", func(h *history) {
			o := h.op("s")
			o.attachBody = jsonOf(deployment.AddOut{ID: "s", Value: 4, Token: "t-s", At: wall(48)})
		}, []string{timersChk}},
		{"delayed send from a handler fired early", func(h *history) {
			h.op("F.0").attachBody = jsonOf(deployment.AddOut{ID: "F.0", Value: 5, Token: "tsub", At: wall(540)})
		}, []string{timersChk}},
		{"nap answered without its output", func(h *history) {
			o := h.op("n")
			o.body, o.attachBody = []byte("garbage"), []byte("garbage")
		}, []string{timersChk}},
		{"delayed send fired twice", func(h *history) {
			h.r.dumps["c"] = deployment.State{Value: 14, Applied: []string{"s", "s", "F.0", "A", "P"}, Deltas: []int{4, 4, 1, 2, 3}}
		}, []string{fold, timersChk}},
		{"awakeable completed with the second resolution, sent after the first was acknowledged", func(h *history) {
			setAwait(h, func(v *deployment.AwaitOut) { v.Value = "A/r2" })
		}, []string{awake}},
		{"awakeable completed with a value never sent", func(h *history) {
			setAwait(h, func(v *deployment.AwaitOut) { v.Value = "A/r9" })
		}, []string{awake}},
		{"awakeable rejected with what was sent as a value", func(h *history) {
			setAwait(h, func(v *deployment.AwaitOut) { v.Value, v.Rejected = "", "A/r1" })
		}, []string{awake}},
		{"awakeable completed before its resolution was sent", func(h *history) {
			setAwait(h, func(v *deployment.AwaitOut) { v.After.At = wall(805) })
		}, []string{awake}},
		{"awakeable id changed on replay", func(h *history) {
			h.r.awaited["A"].ids = append(h.r.awaited["A"].ids, "sign_1B")
		}, []string{awake}},
		{"output names another awakeable", func(h *history) {
			setAwait(h, func(v *deployment.AwaitOut) { v.Awakeable = "sign_1B" })
		}, []string{awake}},
		{"resolution answered 400", func(h *history) { h.r.awaited["A"].res[1].fail = "status 400: bad id" }, []string{awake}},
		{"resolution never acknowledged", func(h *history) { h.r.awaited["A"].res[1].acked = 0 }, []string{awake}},
		{"resolved await lost", func(h *history) {
			o := h.op("A")
			o.sent, o.body, o.attached, o.attachBody = true, nil, false, nil
		}, []string{awake, stuck}},
		{"awaited add applied twice", func(h *history) {
			h.r.dumps["c"] = deployment.State{Value: 12, Applied: []string{"s", "F.0", "A", "A", "P"}, Deltas: []int{4, 1, 2, 2, 3}}
		}, []string{fold}},
		{"await answered by a second invocation on attach", func(h *history) { h.op("A").attachID = "inv-other" }, []string{once}},
		{"Run after the awakeable recomputed after journaling", func(h *history) {
			h.execs = append(h.execs, deployment.Exec{Op: "A", Step: deployment.StepAwoken, Token: "tA2"})
			h.r.drained.execs++
		}, []string{runs}},
		{"two resolutions at once, the second won", func(h *history) {
			aw := h.r.awaited["A"]
			aw.res[0].race, aw.res[1].race, aw.res[1].second = true, true, false
			aw.res[1].sent, aw.res[1].acked = ms(811), ms(822)
			setAwait(h, func(v *deployment.AwaitOut) { v.Value = "A/r2" })
		}, nil},
		{"two resolutions at once, the second won, though the first was acknowledged before it was sent", func(h *history) {
			aw := h.r.awaited["A"]
			aw.res[0].race, aw.res[1].race, aw.res[1].second = true, true, false
			aw.res[1].reject, aw.res[1].tag = true, "A/x2"
			setAwait(h, func(v *deployment.AwaitOut) { v.Value, v.Rejected = "", "A/x2" })
		}, []string{awake}},
		{"workflow run got the second completion's value", func(h *history) {
			setPromised(h, func(v *deployment.PromisedOut) { v.Value = "P/p2" })
		}, []string{wf}},
		{"promise completed twice", func(h *history) { h.op("P").wf.completes[1].out = deployment.CompleteOut{OK: true} }, []string{wf}},
		{"first completion refused", func(h *history) {
			h.op("P").wf.completes[0].out = deployment.CompleteOut{Error: "promise was already completed"}
		}, []string{wf}},
		{"completion never answered", func(h *history) { h.op("P").wf.completes[1].ret = 0 }, []string{wf}},
		{"run sent again accepted anew", func(h *history) {
			h.op("P").wf.resubbed.body = []byte(`{"invocationId":"inv-P","status":"Accepted"}`)
		}, []string{wf}},
		{"run sent again got another invocation", func(h *history) {
			h.op("P").wf.resubbed.body = []byte(`{"invocationId":"inv-P2","status":"PreviouslyAccepted"}`)
		}, []string{wf}},
		{"run called again answered its output", func(h *history) {
			p := h.op("P").wf
			p.resub, p.resubbed = resubCall, answer{status: 200, body: h.op("P").attachBody}
		}, []string{wf}},
		{"run called again refused", func(h *history) {
			p := h.op("P").wf
			p.resub, p.resubbed = resubCall, answer{status: 409, body: []byte(`{"code":409,"message":"the workflow method was already invoked"}`)}
		}, nil},
		{"workflow run went on before the promise was completed", func(h *history) {
			setPromised(h, func(v *deployment.PromisedOut) { v.After.At = wall(1008) })
		}, []string{wf}},
		{"workflow run executed twice", func(h *history) {
			h.execs = append(h.execs, deployment.Exec{Op: "P", Step: deployment.StepPromisedBefore, Token: "tP0b"})
			h.r.drained.execs++
			h.r.dumps["c"] = deployment.State{Value: 13, Applied: []string{"s", "F.0", "A", "P", "P"}, Deltas: []int{4, 1, 2, 3, 3}}
		}, []string{runs, fold}},
		{"workflow run lost", func(h *history) {
			o := h.op("P")
			o.attached, o.attachBody = false, nil
		}, []string{wf, stuck}},
		{"workflow output attached through a handler carries its id", func(h *history) {
			o := h.op("P")
			o.wf.viaHandler, o.attachID = true, "inv-attacher"
		}, nil},
		{"workflow output attached from another invocation", func(h *history) { h.op("P").attachID = "inv-other" }, []string{once}},
		{"never acknowledged", func(h *history) {
			h.r.ops = append(h.r.ops, &op{id: "x", kind: kindAdd, key: "k", delta: 1, idem: true, tries: 9})
		}, []string{stuck}},
		{"attach unanswered", func(h *history) { h.op("w").attached = false }, []string{stuck}},
		{"Run executed after the drain", func(h *history) {
			h.r.drained.execs--
		}, []string{stuck}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHistory()
			tc.plant(&h)
			names, details := failedChecks(check(h.r, h.execs))
			if !slices.Equal(names, tc.fails) {
				t.Fatalf("want failing %q, got:\n%s", tc.fails, strings.Join(details, "\n"))
			}
		})
	}
}

// TestStuckOps: the drain's own selection (withSubs, toAttach) and the
// check's stuckOps and lateRuns, on the states an op can be left in.
func TestStuckOps(t *testing.T) {
	fan := func(acked bool) *op {
		return &op{id: "F", kind: kindFanout, idem: true, acked: acked, attached: acked,
			subs: []deployment.Sub{{Key: "c", ID: "F.0", Delta: 1, DelayMs: 50}}}
	}
	cases := []struct {
		name   string
		ops    []*op
		attach []string // ids toAttach picks
		stuck  []string
	}{
		{"answered and attached", []*op{{id: "a", idem: true, acked: true, attached: true}}, []string{"a"}, nil},
		{"never acknowledged", []*op{{id: "a", idem: true}}, nil, []string{"a (never acknowledged)"}},
		{"not idempotent, unanswered", []*op{{id: "g", kind: kindGet}}, nil, nil},
		{"failed", []*op{{id: "a", idem: true, fail: "status 400: bad"}}, nil, nil},
		{"attach unanswered", []*op{{id: "a", idem: true, acked: true}}, []string{"a"}, []string{"a (attach unanswered)"}},
		{"attach failed", []*op{{id: "a", idem: true, acked: true, fail: "attach: status 500"}}, []string{"a"}, nil},
		{"sub of an unacknowledged fanout", []*op{fan(false)}, nil, []string{"F (never acknowledged)"}},
		{"sub of an acknowledged fanout, unattached", []*op{fan(true)}, []string{"F", "F.0"}, []string{"F.0 (attach unanswered)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops := withSubs(tc.ops)
			var attach []string
			for _, o := range toAttach(ops) {
				attach = append(attach, o.id)
			}
			if !slices.Equal(attach, tc.attach) {
				t.Errorf("toAttach = %q, want %q", attach, tc.attach)
			}
			if got := stuckOps(ops); !slices.Equal(got, tc.stuck) {
				t.Errorf("stuckOps = %q, want %q", got, tc.stuck)
			}
		})
	}
}

func TestLateRuns(t *testing.T) {
	execs := []deployment.Exec{{Op: "a", Step: "a", Token: "1"}, {Op: "w", Step: "s0", Token: "2"}, {Op: "w", Step: "s1", Token: "3"}}
	for _, tc := range []struct {
		mark int
		want []string
	}{{3, nil}, {1, []string{"w/s0", "w/s1"}}, {0, []string{"a/a", "w/s0", "w/s1"}}, {4, nil}} {
		if got := lateRuns(execs, tc.mark); !slices.Equal(got, tc.want) {
			t.Errorf("lateRuns(mark %d) = %q, want %q", tc.mark, got, tc.want)
		}
	}
}

// TestTimerStats: timers armed before a kill are counted by when they fell
// due: n (armed at 21ms, due at 121ms) and s (armed at 0, due at 50ms).
func TestTimerStats(t *testing.T) {
	for _, tc := range []struct {
		name     string
		at, down int // ms
		want     TimerStats
	}{
		{"n due after the restart, s due before the kill", 60, 30, TimerStats{Sleeps: 1, Delayed: 2, Before: 1, After: 1}},
		{"n due while down", 100, 50, TimerStats{Sleeps: 1, Delayed: 2, Before: 1, During: 1}},
		{"both due while down", 10, 200, TimerStats{Sleeps: 1, Delayed: 2, During: 1, After: 0}},
		{"kill before both were armed", 0, 10, TimerStats{Sleeps: 1, Delayed: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHistory()
			h.r.kills = []Kill{{Kind: KillServer, At: time.Duration(ms(tc.at)), Downtime: time.Duration(ms(tc.down))}}
			if got := timerStats(h.r, timers(h.r, decodeOutputs(h.r.ops))); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTallyIsolations: the requests counted for an isolation are those sent to the isolated
// node's ingress while it was cut off, each under how it ended; other nodes' requests, those sent
// before or after the cut, and other faults count nothing.
func TestTallyIsolations(t *testing.T) {
	c := &client{}
	c.mu.exchanges = []exchange{
		{ingress: 1, sent: ms(200), done: ms(300), status: 200},   // 2xx before the heal
		{ingress: 1, sent: ms(500), done: ms(600), status: 503},   // 5xx before the heal
		{ingress: 1, sent: ms(700), done: ms(800), status: 409},   // another status
		{ingress: 1, sent: ms(900), done: ms(2000), status: 200},  // answered after the heal
		{ingress: 1, sent: ms(1000), done: ms(1050)},              // no answer
		{ingress: 0, sent: ms(200), done: ms(300), status: 503},   // another node
		{ingress: 1, sent: ms(50), done: ms(300), status: 503},    // before the cut
		{ingress: 1, sent: ms(1100), done: ms(1200), status: 503}, // at the heal
	}
	r := &run{client: c, kills: []Kill{
		{Kind: KillIsolate, Node: 2, At: time.Duration(ms(100)), Cut: time.Second},
		{Kind: KillNode, Node: 2, At: time.Duration(ms(100))},
	}}
	r.tallyIsolations()
	want := IngressTally{OK: 1, Unavailable: 1, Other: 1, AfterHeal: 1, NoAnswer: 1, Longest: 1100 * time.Millisecond}
	if got := r.kills[0].Isolated; got != want {
		t.Errorf("isolation of node 2: %+v, want %+v", got, want)
	}
	if got := r.kills[1].Isolated; got != (IngressTally{}) {
		t.Errorf("a kill counted requests: %+v", got)
	}
}
