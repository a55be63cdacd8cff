// Package sdk is Resolute's Go SDK: it serves Services, Virtual Objects and Workflows to a
// runtime that speaks the Restate service protocol V5–V7 (Resolute's server or the official
// Restate server).
//
// Define handlers as plain typed functions, group them, bind them to an Endpoint and serve it:
//
//	counter := sdk.NewObject("Counter").
//		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
//			count, err := sdk.Get[int](ctx, "count")
//			if err != nil {
//				return 0, err
//			}
//			return count + n, sdk.Set(ctx, "count", count+n)
//		}))
//	sdk.NewEndpoint().Bind(counter).ListenAndServe(":9080")
//
// Durable actions are package functions taking the handler's context: Run, Get, Lookup, Set,
// Clear, ClearAll, Keys, Call, CallAsync, Send, Sleep, After, RunAsync, Awakeable,
// ResolveAwakeable, RejectAwakeable, Signal, ResolveSignal, RejectSignal, CancelInvocation,
// Attach, Output. Each is journaled (or, like Awakeable and
// Signal, numbered deterministically); when the runtime replays an invocation, they return the
// journaled results instead of acting again, so handler code must be deterministic apart from
// what it does inside Run.
//
// Futures (CallAsync, Send, After, RunAsync, Awakeable, Signal, Attach, Promise) combine with WaitFirst (returns the future
// that completed first, the same one on every replay), Wait (all), WaitEach (in completion order)
// and OrTimeout (a result or ErrTimeout):
//
//	a := sdk.Awakeable[string](ctx)
//	sdk.Send(ctx, sdk.ToService("Notifier", "ask"), a.ID()) // someone resolves a.ID() later
//	answer, err := sdk.OrTimeout(ctx, a, 24*time.Hour)
//
// Errors: return TerminalError(err, code) (or ToTerminalError with WithErrorCode and
// WithMetadata) to fail the invocation for good; any other error makes the runtime retry the
// attempt (RetryableError gives it a code). Run's retry options (WithMaxRetryAttempts, …) turn a
// failure that keeps coming into a terminal one. A journal mismatch (the handler does something
// other than what the journal recorded) fails the attempt with code 570 (sdk/replay checks a
// changed handler against recorded journals before it is deployed). A cancellation fails the
// next await with ErrCancelled and is passed on to the calls the handler still waits on.
//
// Definitions take Options sent in the discovery manifest (WithInactivityTimeout,
// WithIdempotencyRetention, WithIngressPrivate, WithInvocationRetryPolicy, …), and Reflect
// defines a service from a struct's methods. ctx.Log() is a slog.Logger silent while replaying.
//
// Concurrency: each invocation runs its handler on the goroutine serving its HTTP request; the
// context must not be used from other goroutines. When the handler awaits a result that has not
// arrived and the runtime closes the stream, the SDK suspends the invocation by unwinding the
// handler with a panic it recovers itself: do not recover panics you did not raise.
//
// The protocol state machine lives in sdk/internal/statemachine, IO-free; this package is the
// facade that runs handlers against it.
package sdk
