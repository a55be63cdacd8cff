package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

var (
	testID     = ids.NewInvocationID(42, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	testCallee = ids.NewInvocationID(43, [16]byte{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1})
	testTarget = command.Target{Service: "Counter", Key: "k1", Handler: "add", ServiceType: command.VirtualObject}
)

const testParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// everything drives every hook the ingress and the invoker call, as they call them.
func everything(t *Tracer, hdr http.Header) {
	sp, rec := t.StartIngress(context.Background(), hdr, testID, testTarget, "127.0.0.1:5000")
	a := t.StartAttempt(Attempt{ID: testID, Target: testTarget, Trace: rec, Number: 1, Address: "http://127.0.0.1:9080/", Protocol: 6})
	a.Inject(hdr)
	for _, c := range []Command{
		{Type: TypeCall, Index: 1, Callee: command.Target{Service: "Worker", Handler: "work"}},
		{Type: TypeSleep, Index: 2, WakeUp: 1_700_000_000_000},
		{Type: TypeRun, Index: 3, Name: "step"},
	} {
		s := t.StartCommand(a, c)
		_ = CallTrace(s, false)
		s.End()
	}
	a.Fail("stream closed")
	t.EndInvocation(Invocation{ID: testID, Target: testTarget, Trace: rec, CreatedAt: 1_700_000_000_000})
	sp.EndHTTP(0)
}

// TestOffAllocatesNothing: with tracing off (a nil *Tracer) the hooks on the hot path allocate
// nothing, not even for a request that carries a traceparent.
func TestOffAllocatesNothing(t *testing.T) {
	var off *Tracer
	hdr := http.Header{"Traceparent": {testParent}}
	if n := testing.AllocsPerRun(100, func() { everything(off, hdr) }); n != 0 {
		t.Fatalf("tracing off: %v allocations per request, want 0", n)
	}
	if got := hdr.Get("Traceparent"); got != testParent {
		t.Fatalf("tracing off changed the headers: traceparent %q", got)
	}
}

// BenchmarkHooks measures one request's hooks (ingress, attempt, three commands, invocation):
// off, and on with an in-memory exporter.
func BenchmarkHooks(b *testing.B) {
	on := newTracer(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter()))
	for _, bc := range []struct {
		name string
		t    *Tracer
	}{{"off", nil}, {"on", on}} {
		b.Run(bc.name, func(b *testing.B) {
			hdr := http.Header{"Traceparent": {testParent}}
			b.ReportAllocs()
			for b.Loop() {
				everything(bc.t, hdr)
			}
		})
	}
}

func recorder(t *testing.T) (*Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	return newTracer(sdktrace.NewSimpleSpanProcessor(exp)), exp
}

func byName(spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	out := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		out[s.Name] = s
	}
	return out
}

// TestTree: the spans of one request with a traceparent form the tree the docs show, in the
// request's trace, and the invocation span's id is SpanID(id) whatever made it.
func TestTree(t *testing.T) {
	tr, exp := recorder(t)
	hdr := http.Header{"Traceparent": {testParent}}
	everything(tr, hdr)
	spans := byName(exp.GetSpans())
	for _, name := range []string{"ingress Counter/{key}/add", "invocation Counter/{key}/add", "invocation-attempt Counter/{key}/add", "call Worker/work", "sleep", "run step"} {
		if _, ok := spans[name]; !ok {
			t.Fatalf("no span %q among %d", name, len(spans))
		}
	}
	parentOf := map[string]string{
		"ingress Counter/{key}/add":            "",
		"invocation Counter/{key}/add":         "ingress Counter/{key}/add",
		"invocation-attempt Counter/{key}/add": "invocation Counter/{key}/add",
		"call Worker/work":                     "invocation-attempt Counter/{key}/add",
		"sleep":                                "invocation-attempt Counter/{key}/add",
		"run step":                             "invocation-attempt Counter/{key}/add",
	}
	for name, parent := range parentOf {
		s := spans[name]
		if got := s.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("%s: trace %s, want the traceparent's", name, got)
		}
		want := "00f067aa0ba902b7"
		if parent != "" {
			want = spans[parent].SpanContext.SpanID().String()
		}
		if got := s.Parent.SpanID().String(); got != want {
			t.Errorf("%s: parent %s, want %s (%s)", name, got, want, parent)
		}
	}
	if got := spans["invocation Counter/{key}/add"].SpanContext.SpanID(); got != SpanID(testID) {
		t.Errorf("invocation span id %s, want SpanID = %s", got, SpanID(testID))
	}
	if got := hdr.Get("Traceparent"); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-"+spans["invocation-attempt Counter/{key}/add"].SpanContext.SpanID().String()+"-01" {
		t.Errorf("traceparent to the deployment %q, want the attempt's span", got)
	}
}

// TestCallees: a call's callee is a child of the call span in the same trace; a one-way call's
// starts a trace of its own (a function of its id) linked to the send span; an invocation with
// no stored Trace starts its own unlinked trace. An unsampled request is not recorded at all.
func TestCallees(t *testing.T) {
	tr, exp := recorder(t)
	_, rec := tr.StartIngress(context.Background(), http.Header{}, testID, testTarget, "")
	a := tr.StartAttempt(Attempt{ID: testID, Target: testTarget, Trace: rec})
	callee := command.Target{Service: "Worker", Handler: "work"}
	call := tr.StartCommand(a, Command{Type: TypeCall, Callee: callee})
	send := tr.StartCommand(a, Command{Type: TypeOneWayCall, Callee: callee})
	for _, tc := range []struct {
		name      string
		rec       *command.Trace
		wantTrace trace.TraceID
		wantPar   trace.SpanID
		wantLink  trace.SpanID
	}{
		{"call", CallTrace(call, false), call.Context().TraceID(), call.Context().SpanID(), trace.SpanID{}},
		{"send", CallTrace(send, true), rootTraceID(testCallee), trace.SpanID{}, send.Context().SpanID()},
		{"none", nil, rootTraceID(testCallee), trace.SpanID{}, trace.SpanID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp.Reset()
			tr.EndInvocation(Invocation{ID: testCallee, Target: callee, Trace: tc.rec, Failure: &command.Failure{Code: 500, Message: "boom"}})
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.SpanContext.TraceID() != tc.wantTrace || s.SpanContext.SpanID() != SpanID(testCallee) || s.Parent.SpanID() != tc.wantPar {
				t.Errorf("span %s/%s parent %s; want %s/%s parent %s", s.SpanContext.TraceID(), s.SpanContext.SpanID(), s.Parent.SpanID(), tc.wantTrace, SpanID(testCallee), tc.wantPar)
			}
			var link trace.SpanID
			if len(s.Links) == 1 {
				link = s.Links[0].SpanContext.SpanID()
			}
			if link != tc.wantLink || len(s.Links) > 1 {
				t.Errorf("links %v, want one to %s", s.Links, tc.wantLink)
			}
			if s.Status.Description != "boom" {
				t.Errorf("status %+v, want the failure's message", s.Status)
			}
		})
	}

	exp.Reset()
	unsampled := http.Header{"Traceparent": {strings.TrimSuffix(testParent, "01") + "00"}}
	everything(tr, unsampled)
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("an unsampled request recorded %d spans", n)
	}
	if got := unsampled.Get("Traceparent"); !strings.HasSuffix(got, "-00") || !strings.Contains(got, "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Errorf("traceparent to the deployment %q: want the trace, unsampled", got)
	}
}

// TestEndpoint: the endpoint's scheme picks the transport as restate-server's tracing-endpoint
// does; anything else is refused naming the endpoint.
func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    transport
		wantErr string
	}{
		{"http://localhost:4317", overGRPC, ""},
		{"grpc://localhost:4317", overGRPC, ""},
		{"otlp+grpc://localhost:4317", overGRPC, ""},
		{"https://collector:4317", overGRPCTLS, ""},
		{"http+otlp://localhost:4318", overHTTP, ""},
		{"otlp+http://localhost:4318/custom", overHTTP, ""},
		{"https+otlp://collector", overHTTPTLS, ""},
		{"ftp://localhost", 0, `unknown scheme "ftp"`},
		{"localhost:4317", 0, "no host"},
		{"http://", 0, "no host"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, got, err := parseEndpoint(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.in) {
					t.Fatalf("err %v, want one naming %q and saying %q", err, tc.in, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("transport %d, err %v; want %d", got, err, tc.want)
			}
		})
	}
	if err := CheckEndpoint(""); err != nil {
		t.Fatalf("empty endpoint (off): %v", err)
	}
}

// TestSpanID: an invocation's span id is a pure function of its id, distinct across ids.
func TestSpanID(t *testing.T) {
	if SpanID(testID) != SpanID(testID) || !SpanID(testID).IsValid() {
		t.Fatal("SpanID is not a valid function of the id")
	}
	if SpanID(testID) == SpanID(testCallee) || rootTraceID(testID) == rootTraceID(testCallee) {
		t.Fatal("two invocations share a span or trace id")
	}
}
