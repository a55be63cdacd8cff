package sdk

import (
	"errors"
	"fmt"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// RunOption configures Run.
type RunOption func(*runOptions)

type runOptions struct{ name string }

// WithName names a Run in the journal (shown by the runtime's tools).
func WithName(name string) RunOption { return func(o *runOptions) { o.name = name } }

// Run executes fn once and journals its result: on replay, fn is not called again and the
// journaled result is returned. A terminal error from fn is journaled too and returned again on
// replay; any other error fails this attempt, and the runtime retries the invocation.
func Run[T any](ctx Context, fn func(ctx RunContext) (T, error), opts ...RunOption) (T, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	inv := ctx.inv()
	id, execute, err := inv.m.Run(o.name)
	if err != nil || !execute {
		inv.check(err)
	}
	if !execute && rerunJournaledRuns {
		_, _ = fn(runContext{inv, inv.InvocationID()}) // a planted bug, see chaosplant.go
	}
	if execute {
		// The RunCommand goes out together with its proposed result (one write), so the runtime
		// can journal both in one log entry: one commit per step instead of two.
		inv.check(inv.m.ProposeRun(id, inv.execute(o.name, func() ([]byte, error) {
			v, err := fn(runContext{inv, inv.InvocationID()})
			if err != nil {
				return nil, err
			}
			return encode(inv.codec, v)
		})))
	}
	var zero T
	if _, err := inv.await(id); err != nil {
		return zero, err
	}
	r, err := inv.result(id)
	if err != nil {
		return zero, err
	}
	v, err := decode[T](inv.codec, r.Value)
	if err != nil {
		return zero, TerminalErrorf(500, "decode result of run %q: %v", o.name, err)
	}
	return v, nil
}

// execute calls fn and turns its outcome into a proposal; a retryable error ends the attempt.
func (inv *invocation) execute(name string, fn func() ([]byte, error)) statemachine.Result {
	inv.inRun = true
	b, err := fn()
	inv.inRun = false
	return inv.outcome(name, b, err)
}

// outcome turns what a Run closure returned into a proposal; a retryable error ends the attempt.
func (inv *invocation) outcome(name string, b []byte, err error) statemachine.Result {
	var t *Terminal
	switch {
	case errors.As(err, &t):
		return statemachine.Result{Kind: statemachine.ResultFailure, Failure: statemachine.Failure{Code: uint32(t.Code), Message: t.Err.Error()}}
	case err != nil:
		err = fmt.Errorf("run %q: %w", name, err)
		inv.m.Fail(err, "")
		inv.check(err)
	}
	return statemachine.Result{Kind: statemachine.ResultValue, Value: b}
}

// RunFuture is a side effect started with RunAsync.
type RunFuture[T any] struct {
	inv  *invocation
	id   statemachine.NotificationID
	name string
}

// RunAsync starts fn on its own goroutine and returns its future, to wait for with Result or to
// combine with WaitFirst, Wait, WaitEach or OrTimeout. Like Run, fn runs once: on replay the
// journaled result is returned. fn's context is cancelled when the attempt ends (a handler that
// returns or suspends without waiting for it), and the attempt ends only after fn returned: a
// long fn should watch ctx.Done(). fn must not use the handler's context.
func RunAsync[T any](ctx Context, fn func(ctx RunContext) (T, error), opts ...RunOption) *RunFuture[T] {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	inv := ctx.inv()
	id, execute, err := inv.m.Run(o.name)
	inv.check(err)
	if execute {
		codec := inv.codec
		inv.startRun(id, o.name, func(rc RunContext) ([]byte, error) {
			v, err := fn(rc)
			if err != nil {
				return nil, err
			}
			return encode(codec, v)
		})
	}
	return &RunFuture[T]{inv: inv, id: id, name: o.name}
}

// Result waits for the run's result; a terminal error from fn comes back as a terminal error.
func (f *RunFuture[T]) Result() (T, error) {
	return awaitValue[T](f.inv, f.id, fmt.Sprintf("result of run %q", f.name))
}

func (f *RunFuture[T]) awaitID() statemachine.NotificationID { return f.id }
