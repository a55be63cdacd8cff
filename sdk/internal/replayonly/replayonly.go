// Package replayonly carries the replay tester's request (sdk/replay) through an invocation's
// HTTP request context into the SDK's endpoint: replay the journal and stop where it ends
// (statemachine.Machine.StopAtJournalEnd), then report how the attempt ended. Only code inside
// the sdk tree can set it, so no runtime request turns it on.
package replayonly

import "context"

// Probe asks for a replay-only attempt and receives its end: the state machine's Err once the
// attempt is over (nil after End, statemachine.ErrSuspended, a *statemachine.CodedError, a
// *statemachine.StopError, or the handler's error). The endpoint writes it before ServeHTTP
// returns; read it after.
type Probe struct {
	Closed bool
	Err    error
}

type key struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Probe) context.Context { return context.WithValue(ctx, key{}, p) }

// From returns the probe in ctx, or nil for an ordinary invocation.
func From(ctx context.Context) *Probe {
	p, _ := ctx.Value(key{}).(*Probe)
	return p
}
