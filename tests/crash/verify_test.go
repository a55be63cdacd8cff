//go:build linux

package crash

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// report is what the run did, for the log and the non-vacuity checks.
type report struct {
	seed            uint64
	kills           []kill
	resent          map[string]int // resend status -> count
	completed       int            // ops whose attach answered 200 with a result
	stepExecs       int            // Run body executions
	reexecutedSteps int            // (op, step) pairs executed more than once
	interruptedOps  int            // ops whose handler was entered more than once
	maxExecsPerStep int
}

// verify checks the outcome against what the handlers recorded.
func verify(t *testing.T, rec *recorder, w *workload, ops []op, results map[string]testenv.Reply,
	views map[string]ledgerView, crashes int) report {
	t.Helper()
	var rep report
	byKey := map[string][]applyResult{}
	for _, o := range ops {
		res, ok := decodeResult(t, o, results[o.ID])
		if !ok {
			continue
		}
		rep.completed++
		byKey[o.Key] = append(byKey[o.Key], res)
		checkSteps(t, rec, o, res, crashes, &rep)
		if rec.entries(o.ID) > 1 {
			rep.interruptedOps++
		}
	}
	w.mu.Lock()
	for _, o := range ops {
		if _, ok := w.mu.acked[o.ID]; !ok {
			t.Errorf("%s: never acknowledged, not even on the final resend", o.ID)
		}
	}
	w.mu.Unlock()
	checkLedgers(t, ops, byKey, views)
	return rep
}

func decodeResult(t *testing.T, o op, r testenv.Reply) (applyResult, bool) {
	t.Helper()
	var res applyResult
	if r.Status != 200 {
		t.Errorf("%s (key %s, amount %d): idempotent call answered %v, want 200 with the result", o.ID, o.Key, o.Amount, r)
		return res, false
	}
	if err := json.Unmarshal(r.Body, &res); err != nil || len(res.Tokens) != steps {
		t.Errorf("%s: result %s, want %d step tokens (decode error %v)", o.ID, r.Body, steps, err)
		return res, false
	}
	return res, true
}

// checkSteps: the journaled token of each step is its last execution's, and a
// step ran at most once per server process that could have lost its result.
func checkSteps(t *testing.T, rec *recorder, o op, res applyResult, crashes int, rep *report) {
	t.Helper()
	for s := range steps {
		execs := rec.executions(o.ID, s)
		rep.stepExecs += len(execs)
		rep.maxExecsPerStep = max(rep.maxExecsPerStep, len(execs))
		if len(execs) > 1 {
			rep.reexecutedSteps++
		}
		switch {
		case len(execs) == 0:
			t.Errorf("%s step %d: result token %q but the Run body never ran", o.ID, s, res.Tokens[s])
		case res.Tokens[s] != execs[len(execs)-1]:
			t.Errorf("%s step %d: journaled token %q is not the last execution's; executions %v "+
				"(the Run body ran again after its result was journaled)", o.ID, s, res.Tokens[s], execs)
		case len(execs) > 1+crashes:
			t.Errorf("%s step %d: %d executions, want at most 1 + %d crashes: %v", o.ID, s, len(execs), crashes, execs)
		}
	}
}

// checkLedgers: per key, the balance is the sum of its amounts and the count
// the number of its operations; every operation left its marker; and the
// results form one chain (counts 1..n, each balance the previous plus the
// amount), so each operation was applied exactly once, in some order.
func checkLedgers(t *testing.T, ops []op, byKey map[string][]applyResult, views map[string]ledgerView) {
	t.Helper()
	want := map[string]ledgerView{}
	amounts := map[string]map[int]bool{}
	for _, o := range ops {
		v := want[o.Key]
		v.Balance += o.Amount
		v.Count++
		v.Ops = append(v.Ops, o.ID)
		want[o.Key] = v
		if amounts[o.Key] == nil {
			amounts[o.Key] = map[int]bool{}
		}
		amounts[o.Key][o.Amount] = true
	}
	for key, wv := range want {
		slices.Sort(wv.Ops)
		got, ok := views[key]
		if !ok {
			continue // already reported by readLedgers
		}
		if got.Balance != wv.Balance || got.Count != wv.Count {
			t.Errorf("%s: balance %d count %d, want balance %d count %d (sum and number of its %d ops)",
				key, got.Balance, got.Count, wv.Balance, wv.Count, len(wv.Ops))
		}
		if !slices.Equal(got.Ops, wv.Ops) {
			t.Errorf("%s: op markers %v, want %v", key, got.Ops, wv.Ops)
		}
		checkChain(t, key, byKey[key], amounts[key], len(wv.Ops))
	}
}

func checkChain(t *testing.T, key string, results []applyResult, amounts map[int]bool, n int) {
	t.Helper()
	if len(results) != n {
		return // missing results are reported per op
	}
	slices.SortFunc(results, func(a, b applyResult) int { return a.Count - b.Count })
	prev := 0
	var bad []string
	for i, r := range results {
		if r.Count != i+1 || !amounts[r.Balance-prev] {
			bad = append(bad, fmt.Sprintf("#%d: count %d balance %d (delta %d)", i+1, r.Count, r.Balance, r.Balance-prev))
		}
		prev = r.Balance
	}
	if len(bad) > 0 {
		t.Errorf("%s: results do not form one chain of single applications: %s", key, strings.Join(bad, "; "))
	}
}

func (r report) log(t *testing.T) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "crash recovery summary (seed %d):\n", r.seed)
	for _, k := range r.kills {
		fmt.Fprintf(&b, "  %s: %d acks before, %d handlers in flight, %d sends in flight, %d Run bodies held\n",
			k.name, k.ackedBefore, k.inFlight, k.sendsInFlight, k.gated)
	}
	fmt.Fprintf(&b, "  final resend of unacknowledged ops: %v\n", r.resent)
	fmt.Fprintf(&b, "  ops completed with a result: %d/%d\n", r.completed, numOps)
	fmt.Fprintf(&b, "  Run body executions: %d for %d steps; steps re-executed (result lost with a crash): %d; max executions of one step: %d\n",
		r.stepExecs, numOps*steps, r.reexecutedSteps, r.maxExecsPerStep)
	fmt.Fprintf(&b, "  ops whose handler was interrupted and replayed: %d", r.interruptedOps)
	t.Log(b.String())
}

// assertNotVacuous: the kills happened mid-workload, with handlers in flight,
// and recovery really replayed interrupted handlers.
func assertNotVacuous(t *testing.T, r report, w *workload) {
	t.Helper()
	if len(r.kills) != midKills+1 {
		t.Errorf("%d kills, want %d", len(r.kills), midKills+1)
	}
	for i, k := range r.kills {
		if k.inFlight == 0 {
			t.Errorf("%s: no handler in flight", k.name)
		}
		if i < midKills {
			before, after := w.acksIn(i), w.acksIn(i+1)
			if before == 0 || after == 0 {
				t.Errorf("%s: %d acks from the process killed, %d from the next: want both > 0", k.name, before, after)
			}
		}
	}
	if q := r.kills[len(r.kills)-1]; q.gated == 0 || q.sendsInFlight != 0 {
		t.Errorf("%s: %d Run bodies held, %d sends in flight; want > 0 and 0", q.name, q.gated, q.sendsInFlight)
	}
	if r.reexecutedSteps == 0 || r.interruptedOps == 0 {
		t.Errorf("no Run step re-executed (%d) or no handler replayed (%d): the crashes tested nothing",
			r.reexecutedSteps, r.interruptedOps)
	}
}
