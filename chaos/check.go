//go:build linux

package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// maxListed bounds the op ids a failing check lists.
const maxListed = 12

func listed(ids []string) string {
	if len(ids) > maxListed {
		return strings.Join(ids[:maxListed], "; ") + fmt.Sprintf("; … (%d in all)", len(ids))
	}
	return strings.Join(ids, "; ")
}

func check(r *run, execs []deployment.Exec) []Check {
	outs := decodeOutputs(r.ops)
	// The awakeable ids the deployment noted are not Run executions.
	runs := slices.DeleteFunc(slices.Clone(execs), func(e deployment.Exec) bool { return e.Step == deployment.NoteAwakeable })
	checks := []Check{
		checkKills(r, outs),
		checkFailures(r),
		checkExactlyOnce(r),
		checkRuns(r, outs, runs),
		checkFold(r, outs),
		checkTimers(r, outs),
		checkAwakeables(r, outs),
		checkPromised(r, outs),
	}
	checks = append(checks, checkLinearizable(r, outs)...)
	return append(checks, checkStuck(r, execs), checkOrphans(r))
}

// checkKills is informative: it fails only when no kill happened. It says
// how many requests were in flight at each kill, and how many flows and
// naps (which call Counter, served by the other deployment) had not yet got
// their call's add executed.
func checkKills(r *run, outs outputs) Check {
	n := map[string]int{}
	var inFlight, calls, nodes []string
	for _, k := range r.kills {
		n[k.Kind]++
		inFlight = append(inFlight, fmt.Sprint(k.InFlight))
		calls = append(calls, fmt.Sprint(callsPending(r, outs, int64(k.At))))
		switch {
		case k.Kind == KillIsolate:
			nodes = append(nodes, fmt.Sprintf("%s, cut off %v, requests entering by it meanwhile: %v",
				k.name(), k.Cut.Round(time.Millisecond), k.Isolated))
		case k.Node > 0:
			nodes = append(nodes, k.name())
		}
	}
	var counts []string
	for _, kind := range KillKindsFor(r.cfg.Nodes) {
		counts = append(counts, fmt.Sprintf("%s %d", kind, n[kind]))
	}
	if len(nodes) > 0 {
		counts = append(counts, "of one node: "+strings.Join(nodes, ", "))
	}
	return Check{Name: "kills (SIGKILL, restart)", OK: len(r.kills) > 0,
		Detail: fmt.Sprintf("%d: %s; requests in flight at each: %s; calls between services pending at each: %s",
			len(r.kills), strings.Join(counts, ", "), strings.Join(inFlight, ","), strings.Join(calls, ","))}
}

// callsPending counts the flows and naps started before at (ns since the
// start) whose call's add had not run its Run step by then.
func callsPending(r *run, outs outputs, at int64) int {
	n := 0
	for _, o := range r.ops {
		if (o.kind != kindFlow && o.kind != kindNap && o.kind != kindAwait && o.kind != kindPromised) || o.call > at {
			continue
		}
		if v, ok := outs.add[o]; !ok || v.At > r.start.UnixNano()+at {
			n++
		}
	}
	return n
}

// checkFailures: no operation was answered with an error (an invocation
// failure, or a 4xx) — the workload only issues valid requests.
func checkFailures(r *run) Check {
	var bad []string
	for _, o := range r.ops {
		if o.fail != "" {
			bad = append(bad, fmt.Sprintf("%s %s %s: %s", o.id, o.kind, o.key, o.fail))
		}
	}
	return Check{Name: "no failed requests", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d operations", len(r.ops)), listed(bad))}
}

// checkExactlyOnce: every acknowledged idempotent op has one output and one
// invocation id, the same in the first answer and in the final attach.
func checkExactlyOnce(r *run) Check {
	var bad []string
	acked, compared, retried := 0, 0, 0
	for _, o := range r.ops {
		if !o.acked || !o.idem {
			continue
		}
		acked++
		if o.tries > 1 {
			retried++
		}
		if !o.attached {
			continue // reported as stuck or failed
		}
		// Through Workflowish/attachPromised the id is that handler's.
		if o.invID != "" && o.attachID != o.invID && (o.wf == nil || !o.wf.viaHandler) {
			bad = append(bad, fmt.Sprintf("%s: invocation id %s first, %s on attach", o.id, o.invID, o.attachID))
		}
		if !o.oneWay() {
			compared++
			if !bytes.Equal(o.body, o.attachBody) {
				bad = append(bad, fmt.Sprintf("%s: output %s first, %s on attach", o.id, o.body, o.attachBody))
			}
		}
	}
	return Check{Name: "acknowledged ops: one output, one invocation", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d acknowledged (%d after retries with the same idempotency key), %d outputs compared with the attach", acked, retried, compared), listed(bad))}
}

// outputs are the decoded final outputs of the ops that have one.
type outputs struct {
	add      map[*op]deployment.AddOut // adds, sends, subs and the add of flows and naps
	flow     map[*op]deployment.FlowOut
	nap      map[*op]deployment.NapOut
	await    map[*op]deployment.AwaitOut
	promised map[*op]deployment.PromisedOut
	fan      map[*op]deployment.FanOut
	read     map[*op]deployment.ReadOut
}

func decodeOutputs(ops []*op) outputs {
	out := outputs{add: map[*op]deployment.AddOut{}, flow: map[*op]deployment.FlowOut{}, nap: map[*op]deployment.NapOut{}, await: map[*op]deployment.AwaitOut{}, promised: map[*op]deployment.PromisedOut{}, fan: map[*op]deployment.FanOut{}, read: map[*op]deployment.ReadOut{}}
	for _, o := range ops {
		body := o.result()
		if body == nil {
			continue
		}
		switch o.kind {
		case kindAdd, kindSend, kindSub:
			var v deployment.AddOut
			if json.Unmarshal(body, &v) == nil {
				out.add[o] = v
			}
		case kindFlow:
			var v deployment.FlowOut
			if json.Unmarshal(body, &v) == nil {
				out.flow[o] = v
				out.add[o] = v.Add
			}
		case kindNap:
			var v deployment.NapOut
			if json.Unmarshal(body, &v) == nil {
				out.nap[o] = v
				out.add[o] = v.Add
			}
		case kindAwait:
			var v deployment.AwaitOut
			if json.Unmarshal(body, &v) == nil {
				out.await[o] = v
				out.add[o] = v.Add
			}
		case kindPromised:
			var v deployment.PromisedOut
			if json.Unmarshal(body, &v) == nil {
				out.promised[o] = v
				out.add[o] = v.Add
			}
		case kindFanout:
			var v deployment.FanOut
			if json.Unmarshal(body, &v) == nil {
				out.fan[o] = v
			}
		case kindGet, kindGetX:
			var v deployment.ReadOut
			if json.Unmarshal(body, &v) == nil {
				out.read[o] = v
			}
		}
	}
	return out
}

type stepKey struct{ op, step string }

// checkRuns: the token each journaled Run returned is the token of the last
// recorded execution of that step. A body re-executed after its result was
// journaled would have recorded a later, different token.
func checkRuns(r *run, outs outputs, execs []deployment.Exec) Check {
	last := map[stepKey]string{}
	count := map[stepKey]int{}
	times := map[stepKey][]string{}
	for _, e := range execs {
		k := stepKey{e.Op, e.Step}
		last[k] = e.Token
		count[k]++
		times[k] = append(times[k], e.At)
	}
	journaled := map[stepKey]string{}
	for o, v := range outs.add {
		journaled[stepKey{o.id, deployment.StepAdd}] = v.Token
	}
	for o, v := range outs.flow {
		for i, tok := range v.Tokens {
			journaled[stepKey{o.id, deployment.FlowStep(i)}] = tok
		}
	}
	for o, v := range outs.fan {
		journaled[stepKey{o.id, deployment.StepFan}] = v.Token
	}
	for o, v := range outs.nap {
		journaled[stepKey{o.id, deployment.StepNapBefore}] = v.Before.Token
		journaled[stepKey{o.id, deployment.StepNapAfter}] = v.After.Token
	}
	for o, v := range outs.await {
		journaled[stepKey{o.id, deployment.StepAwoken}] = v.After.Token
	}
	for o, v := range outs.promised {
		journaled[stepKey{o.id, deployment.StepPromisedBefore}] = v.Before.Token
		journaled[stepKey{o.id, deployment.StepPromisedAfter}] = v.After.Token
	}
	var bad []string
	reexec := 0
	for k, tok := range journaled {
		if count[k] > 1 {
			reexec++
		}
		switch {
		case count[k] == 0:
			bad = append(bad, fmt.Sprintf("%s/%s: journaled token %s was never recorded", k.op, k.step, tok))
		case last[k] != tok:
			bad = append(bad, fmt.Sprintf("%s/%s: journaled %s, but %d executions (at %s), the last returned %s", k.op, k.step, tok, count[k], strings.Join(times[k], ", "), last[k]))
		}
	}
	slices.Sort(bad)
	return Check{Name: "journaled Run results never recomputed", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d journaled Run results, %d executions recorded; %d steps ran more than once, always before their result was journaled", len(journaled), len(execs), reexec), listed(bad))}
}

// adders are the ops that add to a key: adds, sends, flows, naps, awaits,
// workflow runs and subs.
func adders(ops []*op) map[string]*op {
	m := map[string]*op{}
	for _, o := range ops {
		switch o.kind {
		case kindAdd, kindSend, kindFlow, kindNap, kindAwait, kindPromised, kindSub:
			m[o.id] = o
		}
	}
	return m
}

// checkFold: per key, the applied op ids are distinct, every acknowledged add
// is applied, nothing else but unacknowledged ("maybe") adds is, the value
// is the sum of the applied deltas, and each add's output is the running sum
// at its place in the applied order.
func checkFold(r *run, outs outputs) Check {
	all := adders(r.ops)
	var bad []string
	applied, maybe := 0, 0
	seen := map[string]bool{}
	for key, s := range r.dumps {
		sum := 0
		if len(s.Deltas) != len(s.Applied) {
			bad = append(bad, fmt.Sprintf("%s: %d applied ids, %d deltas", key, len(s.Applied), len(s.Deltas)))
			continue
		}
		for i, id := range s.Applied {
			sum += s.Deltas[i]
			o := all[id]
			switch {
			case seen[id]:
				bad = append(bad, fmt.Sprintf("%s: %s applied twice", key, id))
			case o == nil:
				bad = append(bad, fmt.Sprintf("%s: unknown op %s applied", key, id))
			case o.key != key || o.delta != s.Deltas[i]:
				bad = append(bad, fmt.Sprintf("%s: %s applied with delta %d, issued to %s with %d", key, id, s.Deltas[i], o.key, o.delta))
			}
			seen[id] = true
			applied++
			if o == nil {
				continue
			}
			if !o.acked {
				maybe++
			}
			if v, ok := outs.add[o]; ok && v.Value != sum {
				bad = append(bad, fmt.Sprintf("%s: %s answered %d, its place in the applied order gives %d", key, id, v.Value, sum))
			}
		}
		if sum != s.Value {
			bad = append(bad, fmt.Sprintf("%s: value %d, applied deltas sum to %d", key, s.Value, sum))
		}
	}
	for _, o := range all {
		if o.acked && !seen[o.id] {
			if _, ok := r.dumps[o.key]; ok {
				bad = append(bad, fmt.Sprintf("%s: acknowledged %s (%s) not applied", o.key, o.id, o.kind))
			} else {
				bad = append(bad, fmt.Sprintf("%s: no state read for acknowledged %s", o.key, o.id))
			}
		}
	}
	slices.Sort(bad)
	return Check{Name: "final state = fold of acknowledged ops", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d keys, %d adds applied once each (%d of them unacknowledged but applied)", len(r.dumps), applied, maybe), listed(bad))}
}

// counterInput is a linearizability history input: an add of delta, or a read.
type counterInput struct {
	read  bool
	delta int
}

// counterOutput is the value an operation answered; known is false for an
// add whose answer never came.
type counterOutput struct {
	value int
	known bool
}

// counterModel is a counter register: add(d) returns the new value, read
// returns the value.
var counterModel = porcupine.Model{
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int), input.(counterInput), output.(counterOutput)
		if in.read {
			return out.value == s, s
		}
		next := s + in.delta
		return !out.known || out.value == next, next
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(counterInput), output.(counterOutput)
		res := "?"
		if out.known {
			res = fmt.Sprint(out.value)
		}
		if in.read {
			return "read() -> " + res
		}
		return fmt.Sprintf("add(%d) -> %s", in.delta, res)
	},
}

// pending is the return time of an operation whose answer never came: it
// may take effect at any time after its call.
const pending = math.MaxInt64

// histories builds each key's history, from the client's view: direct adds
// and reads ([first request, first 2xx answer], across retries with the same
// idempotency key), a flow's or a nap's add ([its call, its answer]), and
// sent adds, delayed or not ([send, attach answer]).
func histories(ops []*op, outs outputs) map[string][]porcupine.Operation {
	h := map[string][]porcupine.Operation{}
	for _, o := range ops {
		switch o.kind {
		case kindGet, kindGetX:
			v, ok := outs.read[o]
			if !ok || !o.acked {
				continue // a read that was never answered has no effect to place
			}
			h[o.key] = append(h[o.key], porcupine.Operation{ClientId: 0, Input: counterInput{read: true}, Call: o.call, Output: counterOutput{value: v.Value, known: true}, Return: o.ret, Metadata: o.id})
		case kindAdd, kindSend, kindFlow, kindNap, kindAwait, kindPromised, kindSub:
			v, known := outs.add[o]
			ret := int64(pending)
			switch {
			case known && o.oneWay():
				ret = o.attachRet
			case known:
				ret = o.ret
			}
			h[o.key] = append(h[o.key], porcupine.Operation{Input: counterInput{delta: o.delta}, Call: o.call, Output: counterOutput{value: v.Value, known: known}, Return: ret, Metadata: o.id})
		}
	}
	return h
}

// linearizeTimeout bounds porcupine per key.
const linearizeTimeout = 60 * time.Second

// checkLinearizable checks each hot key's history alone, and the cold keys
// together in one row.
func checkLinearizable(r *run, outs outputs) []Check {
	h := histories(r.ops, outs)
	var checks []Check
	for _, key := range r.keys.hot {
		checks = append(checks, linearizable("linearizable "+key, map[string][]porcupine.Operation{key: h[key]}))
	}
	cold := map[string][]porcupine.Operation{}
	for _, key := range r.keys.cold {
		cold[key] = h[key]
	}
	return append(checks, linearizable(fmt.Sprintf("linearizable %d cold keys", len(cold)), cold))
}

func linearizable(name string, hs map[string][]porcupine.Operation) Check {
	var bad []string
	reads, adds, open := 0, 0, 0
	keys := make([]string, 0, len(hs))
	for k := range hs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		ops := hs[key]
		for _, o := range ops {
			switch {
			case o.Input.(counterInput).read:
				reads++
			case o.Return == pending:
				open++
			default:
				adds++
			}
		}
		switch res, info := porcupine.CheckOperationsVerbose(counterModel, ops, linearizeTimeout); res {
		case porcupine.Illegal:
			bad = append(bad, fmt.Sprintf("%s: not linearizable; longest linearizable prefix ends before %s", key, illegalAt(ops, info)))
		case porcupine.Unknown:
			bad = append(bad, fmt.Sprintf("%s: undecided after %v", key, linearizeTimeout))
		}
	}
	return Check{Name: name, OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d adds, %d reads, %d adds never answered", adds, reads, open), listed(bad))}
}

// illegalAt names the operations right after the longest partial
// linearization, where the history stops being explainable.
func illegalAt(ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	best := []int{}
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			if len(lin) > len(best) {
				best = lin
			}
		}
	}
	done := map[int]bool{}
	for _, i := range best {
		done[i] = true
	}
	var next []string
	for i, o := range ops {
		if !done[i] && len(next) < 4 {
			next = append(next, fmt.Sprintf("%v %s [%v..%v]", o.Metadata, counterModel.DescribeOperation(o.Input, o.Output), time.Duration(o.Call), time.Duration(o.Return)))
		}
	}
	return fmt.Sprintf("%d of %d ops linearized; first left out: %s", len(best), len(ops), strings.Join(next, ", "))
}

// checkStuck: after the drain every acknowledged op has its output, and no
// Run executed in the quiet period after it (execs is the execution log
// read after that period).
func checkStuck(r *run, execs []deployment.Exec) Check {
	stuck, late := stuckOps(r.ops), lateRuns(execs, r.drained.execs)
	if len(stuck) == 0 && len(late) == 0 {
		return Check{Name: "no stuck invocations", OK: true,
			Detail: fmt.Sprintf("drained in %v; no Run executed in the %v after; the slowest request: %s; %d without an answer in %v (retried)",
				r.drained.took.Round(time.Millisecond), quietPeriod, cond(r.drained.slowest == "", "none", r.drained.slowest), r.drained.timedOut, requestTimeout)}
	}
	return Check{Name: "no stuck invocations", OK: false,
		Detail: fmt.Sprintf("%d stuck: %s; %d Run executions after the drain: %s", len(stuck), listed(stuck), len(late), listed(late))}
}

// stuckOps lists the idempotent ops the drain left without an answer: never
// acknowledged (the client retried until the drain deadline), or
// acknowledged but the final attach got no output. An op answered with an
// error is not stuck (checkFailures reports it), nor is an add sent by a
// fanout that was never acknowledged (it may never have been sent).
func stuckOps(ops []*op) []string {
	var stuck []string
	for _, o := range ops {
		switch {
		case !o.idem || o.fail != "":
		case !o.acked && o.kind != kindSub:
			stuck = append(stuck, o.id+" (never acknowledged)")
		case o.acked && !o.attached:
			stuck = append(stuck, o.id+" (attach unanswered)")
		}
	}
	return stuck
}

// lateRuns lists the Run executions recorded after the first mark ones:
// something was still running after the drain.
func lateRuns(execs []deployment.Exec, mark int) []string {
	var late []string
	for _, e := range execs[min(mark, len(execs)):] {
		late = append(late, e.Op+"/"+e.Step)
	}
	return late
}
