//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// Second submissions of a Promised op's run.
const (
	resubSend = "send" // /send again: 202 "PreviouslyAccepted", the same invocation id
	resubCall = "call" // call again: 409 "the workflow method was already invoked"
)

// promised is a Promised op's plan and what the client saw of it besides
// the run's submission (the op's own fields): the completions of the
// workflow's promise, a second submission of the run, and how the drain
// got the run's output.
type promised struct {
	early bool   // complete the promise before submitting the run
	again bool   // complete it a second time, with another value: refused
	resub string // "", resubSend or resubCall
	pause time.Duration

	// viaHandler: the drain attaches through Workflowish/attachPromised
	// (AttachWorkflow from a handler) rather than GET
	// /restate/workflow/Promised/{key}/attach.
	viaHandler bool

	completes []*completion
	resubbed  answer // the second submission's answer
}

// completion is one call of Promised/{id}/complete with value, retried with
// its idempotency key until answered 2xx.
type completion struct {
	value     string
	sent, ret int64 // ns since the start: before the first request, at the answer (0: none)
	out       deployment.CompleteOut
	fail      string
}

func newPromised(rng *rand.Rand, id string) *promised {
	p := &promised{early: rng.IntN(3) == 0, again: rng.IntN(2) == 0, viaHandler: rng.IntN(2) == 0,
		pause: time.Duration(rng.IntN(300)) * time.Millisecond}
	switch rng.IntN(3) {
	case 0:
		p.resub = resubSend
	case 1:
		p.resub = resubCall
	}
	p.completes = []*completion{{value: id + "/p1"}}
	if p.again {
		p.completes = append(p.completes, &completion{value: id + "/p2"})
	}
	return p
}

// doPromised drives a Promised op: the promise completed before the run is
// submitted (a third), or after it (and after a second submission, while
// the run waits), then perhaps completed again; the run's submission is
// the op's acknowledgement.
func (c *client) doPromised(ctx context.Context, o *op) {
	o.call = c.now()
	p := o.wf
	if p.early {
		c.complete(ctx, o, p.completes[0], 1)
	}
	for ctx.Err() == nil {
		o.tries++
		a := c.post(ctx, o.path()+"/send", o.input(), "")
		if a.ok() {
			o.ret, o.acked, o.invID = c.now(), true, a.hdr.Get("x-restate-id")
			break
		}
		if !a.retryable() {
			o.fail = a.String()
			return
		}
		sleepCtx(ctx, backoff(o.tries))
	}
	if !o.acked {
		return
	}
	c.resubmit(ctx, o)
	if !p.early {
		sleepCtx(ctx, p.pause)
		c.complete(ctx, o, p.completes[0], 1)
	}
	if p.again {
		c.complete(ctx, o, p.completes[1], 2)
	}
}

// complete calls Promised/{id}/complete with cp.value until answered 2xx.
func (c *client) complete(ctx context.Context, o *op, cp *completion, n int) {
	path := "/" + deployment.PromisedName + "/" + o.id + "/complete"
	cp.sent = c.now()
	for try := 1; ctx.Err() == nil; try++ {
		a := c.post(ctx, path, cp.value, fmt.Sprintf("%s/c%d", o.id, n))
		switch {
		case a.ok():
			cp.ret = c.now()
			if err := json.Unmarshal(a.body, &cp.out); err != nil {
				cp.fail = fmt.Sprintf("answer %s: %v", a.body, err)
			}
			return
		case !a.retryable():
			cp.fail = a.String()
			return
		}
		sleepCtx(ctx, backoff(try))
	}
}

// resubmit submits the run a second time, as planned, retrying connection
// errors and 5xx from ingress.
func (c *client) resubmit(ctx context.Context, o *op) {
	p := o.wf
	if p.resub == "" {
		return
	}
	path := o.path() + cond(p.resub == resubSend, "/send", "")
	for try := 1; ctx.Err() == nil; try++ {
		a := c.post(ctx, path, o.input(), "")
		if !a.retryable() {
			p.resubbed = a
			return
		}
		sleepCtx(ctx, backoff(try))
	}
}

// attachPromised waits for the output of the op's run: GET
// /restate/workflow/Promised/{id}/attach, or a call of
// Workflowish/attachPromised, which attaches from a handler.
func (c *client) attachPromised(ctx context.Context, o *op) {
	for try := 1; ctx.Err() == nil; try++ {
		var a answer
		if o.wf.viaHandler {
			a = c.post(ctx, "/"+deployment.WorkflowName+"/attachPromised", o.id, o.id+"/attach")
		} else {
			a = c.get(ctx, "/restate/workflow/"+deployment.PromisedName+"/"+o.id+"/attach")
		}
		if a.ok() || !a.retryable() {
			o.attached, o.attachRet = a.ok(), c.now()
			o.attachID, o.attachBody = a.hdr.Get("x-restate-id"), a.body
			if !a.ok() {
				o.fail = "attach: " + a.String()
			}
			return
		}
		sleepCtx(ctx, backoff(try))
	}
}

// checkPromised: per workflow key, the first completion of the promise
// succeeded and a second one was refused; a second submission of the run
// was not accepted again (202 "PreviouslyAccepted" with the same invocation
// id, or 409 for a call); the run's output carries the first completion's
// value, and its Run step after the wait ran no earlier than that
// completion was sent; an acknowledged run with its promise completed has
// an output (none lost). That the run executed once is what the Run and
// fold checks verify (its Run steps and its add).
func checkPromised(r *run, outs outputs) Check {
	var bad []string
	for _, o := range r.ops {
		if o.kind != kindPromised {
			continue
		}
		p := o.wf
		for i, cp := range p.completes {
			switch {
			case cp.sent == 0:
			case cp.fail != "":
				bad = append(bad, fmt.Sprintf("%s: completion %s answered %s", o.id, cp.value, cp.fail))
			case cp.ret == 0:
				bad = append(bad, fmt.Sprintf("%s: completion %s never answered", o.id, cp.value))
			case i == 0 && !cp.out.OK:
				bad = append(bad, fmt.Sprintf("%s: the first completion (%s) was refused: %s", o.id, cp.value, cp.out.Error))
			case i > 0 && cp.out.OK:
				bad = append(bad, fmt.Sprintf("%s: the promise was completed twice: %s accepted too", o.id, cp.value))
			}
		}
		if a := p.resubbed; p.resub != "" && a.status != 0 {
			var sr struct{ InvocationID, Status string }
			_ = json.Unmarshal(a.body, &sr)
			switch {
			case p.resub == resubSend && (a.status != http.StatusAccepted || sr.Status != "PreviouslyAccepted" || sr.InvocationID != o.invID):
				bad = append(bad, fmt.Sprintf("%s: the run sent again answered %v (want 202 PreviouslyAccepted for %s)", o.id, a, o.invID))
			case p.resub == resubCall && a.status != http.StatusConflict:
				bad = append(bad, fmt.Sprintf("%s: the run called again answered %v (want 409)", o.id, a))
			}
		}
		first := p.completes[0]
		v, ok := outs.promised[o]
		if !ok {
			if o.acked && first.ret != 0 && first.out.OK {
				bad = append(bad, fmt.Sprintf("%s: run acknowledged, promise completed, but no output: lost", o.id))
			}
			continue
		}
		if v.Value != first.value {
			bad = append(bad, fmt.Sprintf("%s: the run got %q, the first completion was %q", o.id, v.Value, first.value))
		}
		if sentAt := r.start.UnixNano() + first.sent; first.sent != 0 && v.After.At < sentAt {
			bad = append(bad, fmt.Sprintf("%s: the run went on %v before the promise was completed", o.id, time.Duration(sentAt-v.After.At)))
		}
	}
	slices.Sort(bad)
	st := promisedStats(r)
	return Check{Name: "workflows: run once per key, promise value reaches it", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d runs (%d with the promise completed before the run was submitted), %d second completions refused, %d runs sent again and %d called again, not run again; %d outputs attached from a handler, the others over ingress",
			st.Runs, st.Early, st.Refused, st.Resent, st.Recalled, st.ViaHandler), listed(bad))}
}

// promisedStats counts the workflow runs and what the client did to them.
func promisedStats(r *run) PromisedStats {
	var st PromisedStats
	for _, o := range r.ops {
		if o.kind != kindPromised {
			continue
		}
		p := o.wf
		st.Runs++
		st.Early += cond(p.early, 1, 0)
		st.ViaHandler += cond(p.viaHandler, 1, 0)
		if len(p.completes) > 1 && p.completes[1].ret != 0 && !p.completes[1].out.OK {
			st.Refused++
		}
		if p.resubbed.status != 0 {
			st.Resent += cond(p.resub == resubSend, 1, 0)
			st.Recalled += cond(p.resub == resubCall, 1, 0)
		}
	}
	return st
}
