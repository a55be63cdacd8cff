//go:build linux

package crash

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// steps is the number of Run steps of Ledger.apply.
const steps = 3

// op is one operation on a ledger: its id is also its idempotency key.
type op struct {
	ID     string `json:"id"`
	Key    string `json:"-"`
	Amount int    `json:"amount"`
}

// applyResult is what Ledger.apply returns: the token each Run step returned
// (as journaled), and the balance and count after the operation.
type applyResult struct {
	Tokens  []string `json:"tokens"`
	Balance int      `json:"balance"`
	Count   int      `json:"count"`
}

// ledgerView is what Ledger.get returns.
type ledgerView struct {
	Balance int      `json:"balance"`
	Count   int      `json:"count"`
	Ops     []string `json:"ops"` // ids of the applied operations, from their markers
}

// opMarker prefixes the state key that marks an operation as applied.
const opMarker = "op/"

// ledgerObject is the Virtual Object under test. apply interleaves Run steps
// with state writes, so that a crash can land between any two of them.
func ledgerObject(rec *recorder) *sdk.Object {
	return sdk.NewObject("Ledger").
		Handler("apply", sdk.ObjectHandler(func(ctx sdk.ObjectContext, o op) (applyResult, error) {
			return apply(ctx, rec, o)
		})).
		Handler("get", sdk.SharedHandler(get))
}

func apply(ctx sdk.ObjectContext, rec *recorder, o op) (applyResult, error) {
	rec.enter(o.ID)
	var res applyResult
	step := func(n int) error {
		tok, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
			return rec.execute(o.ID, n), nil
		}, sdk.WithName(fmt.Sprintf("step%d", n)))
		res.Tokens = append(res.Tokens, tok)
		return err
	}
	if err := step(0); err != nil {
		return res, err
	}
	bal, err := sdk.Get[int](ctx, "balance")
	if err != nil {
		return res, err
	}
	res.Balance = bal + o.Amount
	if err := sdk.Set(ctx, "balance", res.Balance); err != nil {
		return res, err
	}
	if err := step(1); err != nil {
		return res, err
	}
	count, err := sdk.Get[int](ctx, "count")
	if err != nil {
		return res, err
	}
	res.Count = count + 1
	if err := sdk.Set(ctx, "count", res.Count); err != nil {
		return res, err
	}
	if err := step(2); err != nil {
		return res, err
	}
	if err := sdk.Set(ctx, opMarker+o.ID, o.Amount); err != nil {
		return res, err
	}
	rec.returned(o.ID)
	return res, nil
}

func get(ctx sdk.ObjectSharedContext, _ sdk.Void) (ledgerView, error) {
	var v ledgerView
	var err error
	if v.Balance, err = sdk.Get[int](ctx, "balance"); err != nil {
		return v, err
	}
	if v.Count, err = sdk.Get[int](ctx, "count"); err != nil {
		return v, err
	}
	keys, err := sdk.Keys(ctx)
	if err != nil {
		return v, err
	}
	v.Ops = []string{}
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, opMarker); ok {
			v.Ops = append(v.Ops, id)
		}
	}
	slices.Sort(v.Ops)
	return v, nil
}

// stepKey names one Run step of one operation.
type stepKey struct {
	op   string
	step int
}

// recorder is what the deployment did, seen from inside the handlers: each
// execution of a Run body (with the unique token it returned), each entry
// into apply (a first attempt or a replay) and each normal return.
//
// A gate, when armed, holds every Run body that starts until it is released,
// so the test can kill the server while bodies are known to be mid-run.
type recorder struct {
	seq     atomic.Int64
	started chan struct{} // a Run body started (non-blocking send; capacity 1)
	mu      struct {
		sync.Mutex
		execs    map[stepKey][]string // tokens in execution order
		entries  map[string]int       // apply entries per op
		returned map[string]bool      // ops whose apply returned normally at least once
		gate     chan struct{}        // non-nil: Run bodies wait until it is closed
		gated    int                  // Run bodies waiting at the gate
	}
}

func newRecorder() *recorder {
	r := &recorder{started: make(chan struct{}, 1)}
	r.mu.execs = map[stepKey][]string{}
	r.mu.entries = map[string]int{}
	r.mu.returned = map[string]bool{}
	return r
}

func (r *recorder) enter(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.entries[id]++
}

func (r *recorder) returned(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.returned[id] = true
}

// execute is a Run body: it records a new token for (id, step), waits at the
// gate if armed, and takes 1-3 ms so that crashes land mid-handler.
func (r *recorder) execute(id string, step int) string {
	tok := fmt.Sprintf("%s/step%d/exec%d", id, step, r.seq.Add(1))
	r.mu.Lock()
	k := stepKey{id, step}
	r.mu.execs[k] = append(r.mu.execs[k], tok)
	gate := r.mu.gate
	if gate != nil {
		r.mu.gated++
	}
	r.mu.Unlock()
	select {
	case r.started <- struct{}{}:
	default:
	}
	if gate != nil {
		<-gate
	}
	time.Sleep(time.Millisecond + rand.N(2*time.Millisecond))
	return tok
}

// armGate makes Run bodies that start from now on wait for releaseGate.
func (r *recorder) armGate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.gate = make(chan struct{})
	r.mu.gated = 0
}

// releaseGate lets the waiting bodies finish and disarms the gate.
func (r *recorder) releaseGate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.mu.gate)
	r.mu.gate = nil
}

func (r *recorder) gated() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.gated
}

// inFlight counts operations whose handler has started but never returned.
func (r *recorder) inFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id := range r.mu.entries {
		if !r.mu.returned[id] {
			n++
		}
	}
	return n
}

// executions returns the tokens of (id, step) in execution order.
func (r *recorder) executions(id string, step int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mu.execs[stepKey{id, step}])
}

// entries returns how often apply was entered for id.
func (r *recorder) entries(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.entries[id]
}
