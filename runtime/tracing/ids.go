package tracing

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// SpanID is the span id of an invocation's span: a function of the invocation id, so that every
// attempt, on any node and after any restart, names the same parent without storing it.
func SpanID(id ids.InvocationID) trace.SpanID {
	var s trace.SpanID
	copy(s[:], digest("span", id))
	if !s.IsValid() {
		s[7] = 1
	}
	return s
}

// rootTraceID is the trace of an invocation that starts one (no parent, or a linked cause).
func rootTraceID(id ids.InvocationID) trace.TraceID {
	var t trace.TraceID
	copy(t[:], digest("trace", id))
	if !t.IsValid() {
		t[15] = 1
	}
	return t
}

func digest(label string, id ids.InvocationID) []byte {
	var b [ids.RawLength]byte
	binary.BigEndian.PutUint64(b[:], uint64(id.PartitionKey))
	copy(b[8:], id.UUID[:])
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(b[:])
	return h.Sum(nil)
}

// InvocationContext is the span context of the invocation's own span, from its stored Trace:
// in the parent's trace, or in a trace of its own when it has no parent (nil: made while tracing
// was off) or only a linked cause.
func InvocationContext(id ids.InvocationID, rec *command.Trace) trace.SpanContext {
	cfg := trace.SpanContextConfig{SpanID: SpanID(id), TraceFlags: trace.FlagsSampled, Remote: true}
	switch {
	case rec == nil:
		cfg.TraceID = rootTraceID(id)
	case rec.Linked:
		cfg.TraceID, cfg.TraceFlags = rootTraceID(id), trace.TraceFlags(rec.Flags)
	default:
		cfg.TraceID, cfg.TraceFlags = rec.TraceID, trace.TraceFlags(rec.Flags)
		if rec.State != "" {
			if ts, err := trace.ParseTraceState(rec.State); err == nil {
				cfg.TraceState = ts
			}
		}
	}
	return trace.NewSpanContext(cfg)
}

// record is the Trace a child invocation stores: sc is its parent (or its cause, if linked).
func record(sc trace.SpanContext, linked bool) *command.Trace {
	if !sc.IsValid() {
		return nil
	}
	return &command.Trace{
		TraceID: sc.TraceID(),
		Parent:  sc.SpanID(),
		Flags:   uint8(sc.TraceFlags()),
		State:   sc.TraceState().String(),
		Linked:  linked,
	}
}

// forcedIDs, put in a span's start context, makes idGenerator give that span these ids: the
// invocation span's id is SpanID(invocation), not a random one.
type forcedIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

type forcedKey struct{}

// idGenerator is the SDK's random generator, except for spans started with forcedIDs.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if f, ok := ctx.Value(forcedKey{}).(forcedIDs); ok && f.trace.IsValid() {
		return f.trace, f.span
	}
	var t trace.TraceID
	for !t.IsValid() {
		binary.NativeEndian.PutUint64(t[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(t[8:], rand.Uint64())
	}
	return t, randomSpanID()
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if f, ok := ctx.Value(forcedKey{}).(forcedIDs); ok && f.span.IsValid() {
		return f.span
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var s trace.SpanID
	for !s.IsValid() {
		binary.NativeEndian.PutUint64(s[:], rand.Uint64())
	}
	return s
}
