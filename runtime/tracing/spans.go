package tracing

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// Attribute names, restate-server's where it has one (its tracing-instrumentation semconv).
const (
	AttrInvocationID     = "restate.invocation.id"
	AttrInvocationTarget = "restate.invocation.target"
	AttrInvocationResult = "restate.invocation.result"
	AttrErrorCode        = "restate.invocation.error.code"
	AttrCommandType      = "restate.journal.command.type"
	AttrCommandName      = "restate.journal.command.name"
	AttrCommandIndex     = "restate.journal.command.index"
	AttrDeploymentID     = "restate.deployment.id"
	AttrDeploymentAddr   = "restate.deployment.address"
	AttrProtocolVersion  = "restate.deployment.service_protocol_version"
	AttrAttempt          = "restate.invocation.attempt"
	AttrSleepWakeUp      = "restate.sleep.wake_up_time"
	AttrCalleeTarget     = "restate.call.target"

	EventNewCommand = "restate.invocation.lifecycle.new_command"
)

var propagator = propagation.TraceContext{}

// Short is restate-server's short form of a target in span names: Service/handler, or
// Object/{key}/handler for keyed targets (the key stays out of names).
func Short(t command.Target) string {
	if t.Keyed() {
		return t.Service + "/{key}/" + t.Handler
	}
	return t.Service + "/" + t.Handler
}

// Full is the target with its key, as restate.invocation.target.
func Full(t command.Target) string {
	if t.Keyed() {
		return t.Service + "/" + t.Key + "/" + t.Handler
	}
	return t.Service + "/" + t.Handler
}

func targetAttrs(id ids.InvocationID, t command.Target) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("rpc.service", t.Service),
		attribute.String("rpc.method", t.Handler),
		attribute.String(AttrInvocationID, id.String()),
		attribute.String(AttrInvocationTarget, Full(t)),
	}
}

// StartIngress starts the span of an ingress request for invocation id, a child of the
// request's traceparent if it has one, and returns the Trace the invocation stores (its span is
// a child of this one). End it when the request is answered.
func (t *Tracer) StartIngress(ctx context.Context, hdr http.Header, id ids.InvocationID, target command.Target, remoteAddr string) (Span, *command.Trace) {
	if t == nil {
		return Span{}, nil
	}
	ctx = propagator.Extract(ctx, propagation.HeaderCarrier(hdr))
	attrs := targetAttrs(id, target)
	if host, port, err := net.SplitHostPort(remoteAddr); err == nil {
		attrs = append(attrs, attribute.String("client.socket.address", host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("client.socket.port", p))
		}
	}
	_, s := t.tracer.Start(ctx, "ingress "+Short(target), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return Span{s}, record(s.SpanContext(), false)
}

// KafkaRecord describes a Kafka record that becomes an invocation, for its span.
type KafkaRecord struct {
	ID        ids.InvocationID
	Target    command.Target
	Headers   []command.Header // the record's own headers: a traceparent among them is the parent
	Group     string           // the subscription's consumer group
	Topic     string
	Partition int32
	Offset    int64
}

// StartKafka starts the span of a Kafka record becoming an invocation, as restate-server's
// ingress_kafka span: a child of the record's traceparent header if it has a valid one (a new
// trace otherwise), with the messaging attributes. It returns the Trace the invocation stores
// (its span is a child of this one). End the span once the invocation is made; one never ended
// is never exported.
func (t *Tracer) StartKafka(r KafkaRecord) (Span, *command.Trace) {
	if t == nil {
		return Span{}, nil
	}
	carrier := propagation.MapCarrier{}
	for _, h := range r.Headers {
		if k := strings.ToLower(h.Key); k == "traceparent" || k == "tracestate" {
			carrier[k] = h.Value
		}
	}
	ctx := propagator.Extract(context.Background(), carrier)
	attrs := append(targetAttrs(r.ID, r.Target),
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.consumer.group.name", r.Group),
		attribute.String("messaging.operation.type", "process"),
		attribute.Int64("messaging.kafka.offset", r.Offset),
		attribute.Int64("messaging.source.partition.id", int64(r.Partition)),
		attribute.String("messaging.source.name", r.Topic),
	)
	_, s := t.tracer.Start(ctx, "ingress_kafka "+Short(r.Target), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return Span{s}, record(s.SpanContext(), false)
}

// EndHTTP ends an ingress span with the error status answered (0: none).
func (s Span) EndHTTP(status int) {
	if s.s == nil {
		return
	}
	if status == 0 { // answered without an error (200, or 202 for a send)
		s.s.End()
		return
	}
	s.s.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		s.s.SetStatus(codes.Error, http.StatusText(status))
	}
	s.s.End()
}

// Attempt describes an invocation attempt for its span.
type Attempt struct {
	ID       ids.InvocationID
	Target   command.Target
	Trace    *command.Trace // the invocation's stored Trace
	Number   int            // 1 for the first attempt of this run of the invoker
	Deploy   ids.DeploymentID
	Address  string
	Protocol int
}

// StartAttempt starts the span of one attempt, a child of the invocation's span. Its context is
// what the deployment gets as traceparent (Inject), as restate-server sends it.
func (t *Tracer) StartAttempt(a Attempt) Span {
	if t == nil {
		return Span{}
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), InvocationContext(a.ID, a.Trace))
	attrs := append(targetAttrs(a.ID, a.Target),
		attribute.String("rpc.system", "restate"),
		attribute.String(AttrDeploymentID, a.Deploy.String()),
		attribute.String(AttrDeploymentAddr, a.Address),
		attribute.Int(AttrProtocolVersion, a.Protocol),
		attribute.Int(AttrAttempt, a.Number),
	)
	_, s := t.tracer.Start(ctx, "invocation-attempt "+Short(a.Target), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return Span{s}
}

// EndOK ends the span with an OK status, as restate-server ends a successful attempt.
func (s Span) EndOK() {
	if s.s != nil {
		s.s.SetStatus(codes.Ok, "")
		s.s.End()
	}
}

// NewCommand records on an attempt's span that the deployment sent a command, as
// restate-server does: an event restate.invocation.lifecycle.new_command with the command's type
// (its label, e.g. Command/SetState) and name, if any.
func (s Span) NewCommand(typ, name string) {
	if s.s == nil || !s.s.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attribute.String(AttrCommandType, typ)}
	if name != "" {
		attrs = append(attrs, attribute.String(AttrCommandName, name))
	}
	s.s.AddEvent(EventNewCommand, trace.WithAttributes(attrs...))
}

// Inject sets traceparent (and tracestate) on a request to a deployment: the attempt's span.
func (s Span) Inject(h http.Header) {
	if s.s == nil || !s.s.SpanContext().IsValid() {
		return
	}
	propagator.Inject(trace.ContextWithSpan(context.Background(), s.s), propagation.HeaderCarrier(h))
}

// Command is a journaled command that gets a span: a call, one-way call, sleep or run.
type Command struct {
	// Type is restate-server's label: Command/Call, Command/OneWayCall, Command/Sleep, Command/Run.
	Type   string
	Name   string // the command's name, if the SDK gave one
	Index  uint32 // its command index in the journal
	Callee command.Target
	WakeUp int64 // Sleep: wake-up time, ms since the epoch
}

// Command types with spans.
const (
	TypeCall       = "Command/Call"
	TypeOneWayCall = "Command/OneWayCall"
	TypeSleep      = "Command/Sleep"
	TypeRun        = "Command/Run"
)

// StartCommand starts the span of a command, a child of the attempt's span: "call T", "send T",
// "sleep" or "run NAME".
func (t *Tracer) StartCommand(attempt Span, c Command) Span {
	if t == nil || attempt.s == nil {
		return Span{}
	}
	attrs := []attribute.KeyValue{
		attribute.String(AttrCommandType, c.Type),
		attribute.Int64(AttrCommandIndex, int64(c.Index)),
	}
	if c.Name != "" {
		attrs = append(attrs, attribute.String(AttrCommandName, c.Name))
	}
	var name string
	switch c.Type {
	case TypeCall, TypeOneWayCall:
		name = "call " + Short(c.Callee)
		if c.Type == TypeOneWayCall {
			name = "send " + Short(c.Callee)
		}
		attrs = append(attrs, attribute.String(AttrCalleeTarget, Full(c.Callee)))
	case TypeSleep:
		name = "sleep"
		attrs = append(attrs, attribute.String(AttrSleepWakeUp, time.UnixMilli(c.WakeUp).UTC().Format(time.RFC3339Nano)))
	default:
		name = "run"
		if c.Name != "" {
			name += " " + c.Name
		}
	}
	ctx := trace.ContextWithSpan(context.Background(), attempt.s)
	_, s := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return Span{s}
}

// CallTrace is the Trace of the invocation a call span creates: a child of the call span, or
// (one-way calls, as restate-server does) a trace of its own linked to it.
func CallTrace(call Span, oneWay bool) *command.Trace {
	if call.s == nil {
		return nil
	}
	return record(call.s.SpanContext(), oneWay)
}

// Invocation describes an ended invocation for its span.
type Invocation struct {
	ID        ids.InvocationID
	Target    command.Target
	Trace     *command.Trace
	CreatedAt int64 // ms since the epoch: the span starts there
	Failure   *command.Failure
}

// EndInvocation exports the invocation's span, from its creation until now, with the span id
// SpanID(id) its attempts were children of. It is called once, by the invoker whose End (or
// Fail) was applied.
func (t *Tracer) EndInvocation(inv Invocation) {
	if t == nil {
		return
	}
	own := InvocationContext(inv.ID, inv.Trace)
	ctx := context.WithValue(context.Background(), forcedKey{}, forcedIDs{trace: own.TraceID(), span: own.SpanID()})
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(time.UnixMilli(inv.CreatedAt))}
	switch rec := inv.Trace; {
	case rec == nil:
		opts = append(opts, trace.WithNewRoot())
	case rec.Linked:
		cause := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rec.TraceID, SpanID: rec.Parent, TraceFlags: trace.TraceFlags(rec.Flags), Remote: true})
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: cause}))
	default:
		parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rec.TraceID, SpanID: rec.Parent, TraceFlags: own.TraceFlags(), TraceState: own.TraceState(), Remote: true})
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	attrs := targetAttrs(inv.ID, inv.Target)
	if f := inv.Failure; f != nil {
		attrs = append(attrs, attribute.String(AttrInvocationResult, "failure"), attribute.String(AttrErrorCode, strconv.Itoa(int(f.Code))))
	} else {
		attrs = append(attrs, attribute.String(AttrInvocationResult, "success"))
	}
	opts = append(opts, trace.WithAttributes(attrs...))
	_, s := t.tracer.Start(ctx, "invocation "+Short(inv.Target), opts...)
	if f := inv.Failure; f != nil {
		s.SetStatus(codes.Error, f.Message)
	} else {
		s.SetStatus(codes.Ok, "")
	}
	s.End()
}
