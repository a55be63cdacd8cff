package server_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/tracing"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// traceparents records the traceparent header of each request to a deployment, by path.
type traceparents struct {
	h  http.Handler
	mu sync.Mutex
	by map[string][]string
}

func (tp *traceparents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/invoke/") {
		tp.mu.Lock()
		tp.by[r.URL.Path] = append(tp.by[r.URL.Path], r.Header.Get("Traceparent"))
		tp.mu.Unlock()
	}
	tp.h.ServeHTTP(w, r)
}

func (tp *traceparents) get(path string) []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.by[path]...)
}

// tracedServices: Caller/run journals a Run, sleeps, then calls Worker/work; until restarted is
// set its attempts fail after the sleep (retried), telling entered, so that the invocation
// cannot end before the test has restarted the server.
func tracedServices(entered chan<- struct{}, restarted *atomic.Bool) (*sdk.Endpoint, *sdk.Endpoint) {
	caller := sdk.NewService("Caller").Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
		step, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return in + "-step", nil }, sdk.WithName("step"))
		if err != nil {
			return "", err
		}
		if err := sdk.Sleep(ctx, 10*time.Millisecond); err != nil {
			return "", err
		}
		if !restarted.Load() {
			select {
			case entered <- struct{}{}:
			default:
			}
			return "", errors.New("not before the restart")
		}
		return sdk.Call[string](ctx, sdk.ToService("Worker", "work"), step)
	}))
	worker := sdk.NewService("Worker").Handler("work", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
		return in + "-worked", nil
	}))
	return sdk.NewEndpoint().Bind(caller), sdk.NewEndpoint().Bind(worker)
}

// TestTracing runs a real server exporting to an in-process OTLP/HTTP receiver: a request with a
// traceparent sends Caller/run, which journals a Run, sleeps, and calls Worker/work. The server
// is closed once Caller is past its sleep (its attempts fail there until the restart) and
// started again on the same data: the spans made after the restart still hang from the
// invocation recorded before it. Checked: every span is in the
// request's trace; ingress ← invocation ← attempts ← run/sleep/call ← Worker's invocation ←
// its attempt, by parent span id; the deployments got their attempt's span as traceparent;
// names and attributes as restate-server's.
func TestTracing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	col := &testenv.SpanCollector{}
	receiver := httptest.NewServer(col)
	defer receiver.Close()
	cfg := server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		TracingEndpoint: "http+otlp://" + strings.TrimPrefix(receiver.URL, "http://"),
		Invoker:         invoker.Config{InactivityTimeout: 100 * time.Millisecond, Retry: invoker.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxAttempts: -1}}}
	entered := make(chan struct{}, 1)
	var restarted atomic.Bool
	callerEP, workerEP := tracedServices(entered, &restarted)
	seen := &traceparents{h: callerEP, by: map[string][]string{}}
	seenW := &traceparents{h: workerEP, by: map[string][]string{}}
	start := func() *server.Server {
		s, err := server.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for name, h := range map[string]http.Handler{"caller": seen, "worker": seenW} {
			if err := s.RegisterInProcess(ctx, name, h); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	s := start()
	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequestWithContext(ctx, "POST", s.IngressURL()+"/Caller/run/send", strings.NewReader(`"go"`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Restate-Id")
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || id == "" {
		t.Fatalf("send: %s, id %q", resp.Status, id)
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("Caller/run never got past its sleep")
	}
	s.Close() // exports what the first server made
	col.NextGeneration()
	restarted.Store(true)
	s = start()
	defer s.Close()
	lcExpect(t, "output", lcDo(t, "GET", s.IngressURL()+"/restate/invocation/"+id+"/attach", ""), 200, `"go-step-worked"`)
	s.Close()

	checkTrace(t, col.Spans(), id, clientTrace, clientSpan, seen.get("/invoke/Caller/run"), seenW.get("/invoke/Worker/work"))
}

func checkTrace(t *testing.T, spans []testenv.ReceivedSpan, callerID, clientTrace, clientSpan string, callerParents, workerParents []string) {
	t.Helper()
	byName := map[string][]testenv.ReceivedSpan{}
	for _, s := range spans {
		if got := hex.EncodeToString(s.TraceId); got != clientTrace {
			t.Errorf("span %q in trace %s, want the request's %s", s.Name, got, clientTrace)
		}
		byName[s.Name] = append(byName[s.Name], s)
	}
	one := func(name string) testenv.ReceivedSpan {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans named %q, want 1; spans: %s", len(byName[name]), name, names(spans))
		}
		return byName[name][0]
	}
	childOf := func(s testenv.ReceivedSpan, parent []byte, what string) {
		t.Helper()
		if hex.EncodeToString(s.ParentSpanId) != hex.EncodeToString(parent) {
			t.Errorf("span %q has parent %x, want %s %x", s.Name, s.ParentSpanId, what, parent)
		}
	}
	id, err := ids.ParseInvocationID(callerID)
	if err != nil {
		t.Fatal(err)
	}
	ingress := one("ingress Caller/run")
	clientSpanID, _ := hex.DecodeString(clientSpan)
	childOf(ingress, clientSpanID, "the request's traceparent span")
	wantAttrs(t, ingress, map[string]string{"restate.invocation.id": callerID, "restate.invocation.target": "Caller/run", "rpc.service": "Caller", "rpc.method": "run", "client.socket.address": "127.0.0.1"})

	inv := one("invocation Caller/run")
	childOf(inv, ingress.SpanId, "the ingress span")
	if sid := tracing.SpanID(id); hex.EncodeToString(inv.SpanId) != sid.String() {
		t.Errorf("invocation span id %x, want SpanID(%s) = %s", inv.SpanId, callerID, sid)
	}
	if inv.Gen != 1 {
		t.Errorf("the invocation span came from server generation %d, want 1 (after the restart)", inv.Gen)
	}
	wantAttrs(t, inv, map[string]string{"restate.invocation.id": callerID, "restate.invocation.result": "success"})
	if inv.Status.GetCode() != tracepb.Status_STATUS_CODE_OK {
		t.Errorf("invocation span status %v, want OK", inv.Status)
	}

	attempts := byName["invocation-attempt Caller/run"]
	gens := map[int]bool{}
	attemptIDs := map[string]bool{}
	for _, a := range attempts {
		childOf(a, inv.SpanId, "the invocation span")
		gens[a.Gen] = true
		attemptIDs[hex.EncodeToString(a.SpanId)] = true
		wantAttrs(t, a, map[string]string{"restate.invocation.id": callerID, "rpc.system": "restate"})
	}
	if !hasCommandEvent(attempts, "Command/Run", "step") || !hasCommandEvent(attempts, "Command/Sleep", "") || !hasCommandEvent(attempts, "Command/Output", "") {
		t.Errorf("Caller/run attempts lack restate-server's new_command events for its Run, Sleep and Output")
	}
	if !gens[0] || !gens[1] {
		t.Errorf("Caller/run attempts from server generations %v, want attempts before and after the restart", gens)
	}
	for _, tp := range callerParents {
		if !attemptIDs[traceparentSpan(t, tp, clientTrace)] {
			t.Errorf("Caller's deployment got traceparent %q, not one of its attempt spans", tp)
		}
	}
	// An attempt made before the deployment was registered again has a span but no request.
	if len(callerParents) < 2 || len(callerParents) > len(attempts) {
		t.Errorf("%d requests to Caller's deployment, %d attempt spans; want at least one request before and one after the restart", len(callerParents), len(attempts))
	}
	for _, name := range []string{"run step", "sleep", "call Worker/work"} {
		s := one(name)
		if !attemptIDs[hex.EncodeToString(s.ParentSpanId)] {
			t.Errorf("span %q has parent %x, not a Caller/run attempt", name, s.ParentSpanId)
		}
	}
	wantAttrs(t, one("run step"), map[string]string{"restate.journal.command.type": "Command/Run", "restate.journal.command.name": "step"})
	wantAttrs(t, one("sleep"), map[string]string{"restate.journal.command.type": "Command/Sleep"})
	call := one("call Worker/work")
	wantAttrs(t, call, map[string]string{"restate.journal.command.type": "Command/Call", "restate.call.target": "Worker/work"})

	winv := one("invocation Worker/work")
	childOf(winv, call.SpanId, "Caller's call span")
	wattempt := one("invocation-attempt Worker/work")
	childOf(wattempt, winv.SpanId, "Worker's invocation span")
	if len(workerParents) != 1 || traceparentSpan(t, workerParents[0], clientTrace) != hex.EncodeToString(wattempt.SpanId) {
		t.Errorf("Worker's deployment got traceparents %q, want its attempt span %x", workerParents, wattempt.SpanId)
	}
}

// hasCommandEvent reports whether one of the attempt spans has a new_command event of that
// command type (and name, if not empty), as restate-server records them.
func hasCommandEvent(attempts []testenv.ReceivedSpan, typ, name string) bool {
	for _, a := range attempts {
		for _, e := range a.Events {
			got := map[string]string{}
			for _, kv := range e.Attributes {
				got[kv.Key] = kv.Value.GetStringValue()
			}
			if e.Name == "restate.invocation.lifecycle.new_command" && got["restate.journal.command.type"] == typ && (name == "" || got["restate.journal.command.name"] == name) {
				return true
			}
		}
	}
	return false
}

// traceparentSpan checks a traceparent's version, trace and flags and returns its span id.
func traceparentSpan(t *testing.T, tp, traceID string) string {
	t.Helper()
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || parts[1] != traceID || parts[3] != "01" {
		t.Errorf("traceparent %q, want 00-%s-<span>-01", tp, traceID)
		return ""
	}
	return parts[2]
}

func wantAttrs(t *testing.T, s testenv.ReceivedSpan, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, kv := range s.Attributes {
		got[kv.Key] = kv.Value.GetStringValue()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: %s = %q, want %q", s.Name, k, got[k], v)
		}
	}
}

func names(spans []testenv.ReceivedSpan) string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s(gen %d)", s.Name, s.Gen))
	}
	return strings.Join(out, ", ")
}

// TestTracingKilled: an invocation the runtime ends without its deployment's End still gets its
// invocation span, with the failure: one killed while it waits on an awakeable (its attempt was
// aborted) and one killed before it ran (a delayed send).
func TestTracingKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	col := &testenv.SpanCollector{}
	receiver := httptest.NewServer(col)
	defer receiver.Close()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		TracingEndpoint: "http+otlp://" + strings.TrimPrefix(receiver.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waiting := make(chan struct{}, 1)
	waiter := sdk.NewService("Waiter").Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
		a := sdk.Awakeable[string](ctx)
		select {
		case waiting <- struct{}{}:
		default:
		}
		return a.Result()
	}))
	if err := s.RegisterInProcess(ctx, "waiter", sdk.NewEndpoint().Bind(waiter)); err != nil {
		t.Fatal(err)
	}
	const clientTrace, clientSpan = "5bf92f3577b34da6a3ce929d0e0e4737", "01f067aa0ba902b8"
	send := func(path string) string {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.IngressURL()+path, nil)
		req.Header.Set("Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Restate-Id")
		if resp.StatusCode != http.StatusAccepted || id == "" {
			t.Fatalf("send %s: %s, id %q", path, resp.Status, id)
		}
		return id
	}
	running := send("/Waiter/wait/send")
	select {
	case <-waiting:
	case <-ctx.Done():
		t.Fatal("Waiter/wait never ran")
	}
	delayed := send("/Waiter/wait/send?delay=1h")
	for _, id := range []string{running, delayed} {
		lcExpect(t, "kill", lcDo(t, "PATCH", s.AdminURL()+"/invocations/"+id+"/kill", ""), 200, "")
	}
	s.Close() // exports every span made

	invSpans := map[string]testenv.ReceivedSpan{}
	for _, sp := range col.Spans() {
		if sp.Name != "invocation Waiter/wait" {
			continue
		}
		for _, kv := range sp.Attributes {
			if kv.Key == "restate.invocation.id" {
				invSpans[kv.Value.GetStringValue()] = sp
			}
		}
	}
	for what, id := range map[string]string{"running": running, "not yet run": delayed} {
		sp, ok := invSpans[id]
		if !ok {
			t.Errorf("killed while %s: no invocation span for %s; spans: %s", what, id, names(col.Spans()))
			continue
		}
		iid, _ := ids.ParseInvocationID(id)
		if sid := tracing.SpanID(iid); hex.EncodeToString(sp.SpanId) != sid.String() || hex.EncodeToString(sp.TraceId) != clientTrace {
			t.Errorf("killed while %s: span %x in trace %x, want SpanID %s in the request's trace %s", what, sp.SpanId, sp.TraceId, sid, clientTrace)
		}
		wantAttrs(t, sp, map[string]string{"restate.invocation.result": "failure"})
		if sp.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("killed while %s: invocation span status %v, want an error", what, sp.Status)
		}
	}
}
