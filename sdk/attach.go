package sdk

import (
	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// AttachFuture is the pending result of another invocation, from Attach.
type AttachFuture[O any] struct {
	inv *invocation
	id  statemachine.NotificationID
}

// Attach waits durably for the result of the invocation invocationID (an inv_… id, e.g. from a
// SendHandle or CallFuture): its value, or its terminal error with the same code. The runtime
// must still know the invocation: running, or ended and retained (idempotent requests and
// workflows keep their results for their retention).
func Attach[O any](ctx Context, invocationID string) *AttachFuture[O] {
	return attach[O](ctx, statemachine.InvocationTarget{ID: invocationID})
}

// AttachWorkflow waits durably for the result of the run of workflow with key (submitted by
// anyone, e.g. with Send to ToWorkflow(workflow, key, "run")).
func AttachWorkflow[O any](ctx Context, workflow, key string) *AttachFuture[O] {
	return attach[O](ctx, statemachine.InvocationTarget{Workflow: workflow, Key: key})
}

// AttachIdempotent waits durably for the result of the request to t made with idempotencyKey
// (e.g. by Send with WithIdempotencyKey).
func AttachIdempotent[O any](ctx Context, t Target, idempotencyKey string) *AttachFuture[O] {
	return attach[O](ctx, statemachine.InvocationTarget{
		Service: t.Service, Key: t.Key, Handler: t.Handler, IdempotencyKey: idempotencyKey,
	})
}

func attach[O any](ctx Context, t statemachine.InvocationTarget) *AttachFuture[O] {
	inv := ctx.inv()
	id, err := inv.m.AttachInvocation(t)
	inv.check(err)
	return &AttachFuture[O]{inv: inv, id: id}
}

// Result waits for the attached invocation's result.
func (f *AttachFuture[O]) Result() (O, error) {
	return awaitValue[O](f.inv, f.id, "attached invocation's result")
}

func (f *AttachFuture[O]) awaitID() statemachine.NotificationID { return f.id }

// Output looks at the result of the invocation invocationID without waiting: ready is false
// while it runs; a terminal failure comes back as a terminal error. The answer is journaled, so a
// replay sees the same one.
func Output[O any](ctx Context, invocationID string) (value O, ready bool, err error) {
	inv := ctx.inv()
	id, err := inv.m.GetInvocationOutput(statemachine.InvocationTarget{ID: invocationID})
	inv.check(err)
	if _, err := inv.await(id); err != nil {
		return value, false, err
	}
	r, err := inv.result(id)
	if err != nil {
		return value, true, err
	}
	if r.Kind == statemachine.ResultVoid {
		return value, false, nil
	}
	value, err = decode[O](inv.codec, r.Value)
	if err != nil {
		return value, true, TerminalErrorf(500, "decode invocation output: %v", err)
	}
	return value, true, nil
}
