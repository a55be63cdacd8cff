package sdk

import (
	"context"
	"log/slog"
)

// WithLogger makes ctx.Log() of every handler write to l (slog.Default() when not set).
func (e *Endpoint) WithLogger(l *slog.Logger) *Endpoint {
	e.logger = l
	return e
}

// Log is the invocation's logger: the endpoint's (WithLogger) with the invocation id, silent while
// the handler replays its journal (so a line is written once, by the attempt that did the step,
// not again by every retry or resume), and writing normally from the first new step on.
func (inv *invocation) Log() *slog.Logger {
	if inv.log == nil {
		inv.log = slog.New(replayAware{inv.baseLogger().Handler(), inv}).With("invocation", inv.InvocationID())
	}
	return inv.log
}

func (inv *invocation) baseLogger() *slog.Logger {
	if inv.logTo != nil {
		return inv.logTo
	}
	return slog.Default()
}

// runLogger is the logger of Run closures: a closure runs only when its step is new, never while
// replaying, and RunAsync's run on their own goroutines, so it is not replay-aware.
func (inv *invocation) runLogger() *slog.Logger {
	return inv.baseLogger().With("invocation", inv.InvocationID())
}

// Log is the endpoint's logger with the invocation id.
func (r runContext) Log() *slog.Logger { return r.log }

// replayAware drops records while its invocation replays.
type replayAware struct {
	h   slog.Handler
	inv *invocation
}

func (r replayAware) Enabled(ctx context.Context, l slog.Level) bool {
	return !r.inv.m.Replaying() && r.h.Enabled(ctx, l)
}

func (r replayAware) Handle(ctx context.Context, rec slog.Record) error {
	if r.inv.m.Replaying() {
		return nil
	}
	return r.h.Handle(ctx, rec)
}

func (r replayAware) WithAttrs(as []slog.Attr) slog.Handler {
	return replayAware{r.h.WithAttrs(as), r.inv}
}

func (r replayAware) WithGroup(name string) slog.Handler {
	return replayAware{r.h.WithGroup(name), r.inv}
}
