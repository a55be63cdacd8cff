package sdk

import (
	"errors"
	"iter"
	"slices"
	"time"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Future is something a handler can wait for: a call (CallAsync), a send's invocation id (Send),
// a timer (After), an awakeable or a signal. Futures are comparable, so the one WaitFirst returns
// can be matched with ==.
type Future interface {
	awaitID() statemachine.NotificationID
}

// ResultFuture is a Future with a typed result, as OrTimeout takes it.
type ResultFuture[T any] interface {
	Future
	Result() (T, error)
}

// ErrTimeout is returned by OrTimeout when the timer fires first: a terminal error with code 408,
// as the official SDKs' timeouts.
var ErrTimeout error = &Terminal{Code: 408, Err: errors.New("Timeout")}

// WaitFirst waits until one of futs completes and returns it; read its result afterwards. The
// same future wins on every replay: the one whose completion the runtime journaled first. A
// cancellation of this invocation returns ErrCancelled.
//
//	call := sdk.CallAsync[string](ctx, sdk.ToService("Slow", "work"), in)
//	timer := sdk.After(ctx, time.Minute)
//	first, err := sdk.WaitFirst(ctx, call, timer)
//	if err != nil {
//		return "", err
//	}
//	if first == timer {
//		return "", sdk.TerminalErrorf(408, "too slow")
//	}
//	return call.Result()
func WaitFirst(ctx Context, futs ...Future) (Future, error) {
	if len(futs) == 0 {
		panic("sdk: WaitFirst needs at least one future")
	}
	ids := make([]statemachine.NotificationID, len(futs))
	for i, f := range futs {
		ids[i] = f.awaitID()
	}
	id, err := ctx.inv().await(ids...)
	if err != nil {
		return nil, err
	}
	return futs[slices.Index(ids, id)], nil
}

// Wait waits until every one of futs completes (successfully or not; read each one's result
// afterwards). A cancellation that arrives before the last completion returns ErrCancelled. On a
// suspension the runtime is told to wait for all of them (protocol V7), so the handler resumes once.
func Wait(ctx Context, futs ...Future) error {
	ids := make([]statemachine.NotificationID, len(futs))
	for i, f := range futs {
		ids[i] = f.awaitID()
	}
	return ctx.inv().awaitAll(ids...)
}

// WaitEach yields futs in the order they complete (the same order on every replay). On a
// cancellation it yields (nil, ErrCancelled) and stops.
//
//	for f, err := range sdk.WaitEach(ctx, a, b, c) {
//		if err != nil {
//			return err
//		}
//		…
//	}
func WaitEach(ctx Context, futs ...Future) iter.Seq2[Future, error] {
	return func(yield func(Future, error) bool) {
		left := slices.Clone(futs)
		for len(left) > 0 {
			f, err := WaitFirst(ctx, left...)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(f, nil) {
				return
			}
			left = slices.DeleteFunc(left, func(g Future) bool { return g == f })
		}
	}
}

// OrTimeout waits for f's result for at most d (a durable timer, so the bound holds across
// suspensions and retries): f's result, or ErrTimeout if the timer fires first.
//
//	v, err := sdk.OrTimeout(ctx, sdk.CallAsync[int](ctx, target, in), 10*time.Second)
func OrTimeout[T any](ctx Context, f ResultFuture[T], d time.Duration) (T, error) {
	first, err := WaitFirst(ctx, f, After(ctx, d))
	if err != nil {
		var zero T
		return zero, err
	}
	if first != Future(f) {
		var zero T
		return zero, ErrTimeout
	}
	return f.Result()
}
