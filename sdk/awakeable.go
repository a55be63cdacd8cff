package sdk

import (
	"errors"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// AwakeableFuture is a value another party delivers: pass ID to it (a webhook, a queue, another
// handler), and it resolves the awakeable over the ingress (POST /restate/awakeables/{id}/resolve
// or /reject) or from a handler with ResolveAwakeable / RejectAwakeable.
type AwakeableFuture[T any] struct {
	inv *invocation
	id  string
	nid statemachine.NotificationID
}

// Awakeable creates an awakeable whose value decodes into T. Nothing is journaled: the same
// handler gets the same id on every replay.
func Awakeable[T any](ctx Context) *AwakeableFuture[T] {
	inv := ctx.inv()
	id, nid, err := inv.m.Awakeable()
	inv.check(err)
	return &AwakeableFuture[T]{inv: inv, id: id, nid: nid}
}

// ID is the awakeable's id (sign_1…), the same the official SDKs hand out for this invocation.
func (a *AwakeableFuture[T]) ID() string { return a.id }

// Result waits for the value; a rejection comes back as a terminal error with its code.
func (a *AwakeableFuture[T]) Result() (T, error) {
	return awaitValue[T](a.inv, a.nid, "awakeable")
}

func (a *AwakeableFuture[T]) awaitID() statemachine.NotificationID { return a.nid }

// ResolveAwakeable completes the awakeable id (of any invocation) with value. The error is only
// about encoding value.
func ResolveAwakeable[T any](ctx Context, id string, value T) error {
	inv := ctx.inv()
	b, err := encode(inv.codec, value)
	if err != nil {
		return TerminalErrorf(500, "encode value for awakeable %s: %v", id, err)
	}
	inv.check(inv.m.CompleteAwakeable(id, statemachine.Result{Kind: statemachine.ResultValue, Value: b}))
	return nil
}

// RejectAwakeable fails the awakeable id: its waiter gets a terminal error with reason's message
// and code (ErrorCode: a terminal error's own code, else 500).
func RejectAwakeable(ctx Context, id string, reason error) {
	inv := ctx.inv()
	inv.check(inv.m.CompleteAwakeable(id, failureOf(reason)))
}

// SignalFuture is a named signal this invocation waits for; another handler sends it with
// ResolveSignal or RejectSignal, naming this invocation's id.
type SignalFuture[T any] struct {
	inv  *invocation
	name string
	// taken, once Result took the signal, is where it stays completed: the name itself then
	// stands for the next signal of that name.
	taken *statemachine.NotificationID
}

// Signal waits for the signal called name sent to this invocation. Nothing is journaled. Signals
// of one name queue up: the first Result of a future takes the earliest signal not yet taken, so
// a handler that waits for a name again gets the next signal sent with it (a stream of signals,
// as in the official SDKs); a future's later Results return what its first took.
func Signal[T any](ctx Context, name string) *SignalFuture[T] {
	return &SignalFuture[T]{inv: ctx.inv(), name: name}
}

// Result waits for the signal's value; a rejection comes back as a terminal error with its code.
func (s *SignalFuture[T]) Result() (T, error) {
	if s.taken == nil {
		if _, err := s.inv.await(s.awaitID()); err != nil {
			var zero T
			return zero, err
		}
		id, ok := s.inv.m.TakeSignal(s.name)
		if !ok {
			panic("sdk: signal " + s.name + " awaited but not there") // await guarantees it
		}
		s.taken = &id
	}
	return awaitValue[T](s.inv, *s.taken, "signal "+s.name)
}

func (s *SignalFuture[T]) awaitID() statemachine.NotificationID {
	if s.taken != nil {
		return *s.taken
	}
	return statemachine.NamedSignal(s.name)
}

// ResolveSignal sends the signal called name, with value, to the invocation invocationID (an
// inv_… id). The error is only about encoding value.
func ResolveSignal[T any](ctx Context, invocationID, name string, value T) error {
	inv := ctx.inv()
	b, err := encode(inv.codec, value)
	if err != nil {
		return TerminalErrorf(500, "encode value for signal %s: %v", name, err)
	}
	inv.check(inv.m.SendSignal(invocationID, name, statemachine.Result{Kind: statemachine.ResultValue, Value: b}))
	return nil
}

// RejectSignal sends the signal called name to invocationID as a failure: its waiter gets a
// terminal error with reason's message and code (ErrorCode).
func RejectSignal(ctx Context, invocationID, name string, reason error) {
	inv := ctx.inv()
	inv.check(inv.m.SendSignal(invocationID, name, failureOf(reason)))
}

func failureOf(err error) statemachine.Result {
	var t *Terminal
	if errors.As(err, &t) {
		return statemachine.Result{Kind: statemachine.ResultFailure, Failure: t.failure()}
	}
	return statemachine.Result{Kind: statemachine.ResultFailure, Failure: statemachine.Failure{
		Code: uint32(ErrorCode(err)), Message: err.Error(),
	}}
}

// awaitValue waits for id and decodes its value into T, or returns its failure as a terminal error.
func awaitValue[T any](inv *invocation, id statemachine.NotificationID, what string) (T, error) {
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
		return zero, TerminalErrorf(500, "decode %s: %v", what, err)
	}
	return v, nil
}

// CancelInvocation cancels the invocation invocationID (an inv_… id): the runtime delivers the
// cancel signal, and the target's next await returns ErrCancelled.
func CancelInvocation(ctx Context, invocationID string) {
	inv := ctx.inv()
	inv.check(inv.m.CancelInvocation(invocationID))
}
