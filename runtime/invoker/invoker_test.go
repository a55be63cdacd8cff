package invoker_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/transport"
)

var (
	greeter = command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
	counter = command.Target{Service: "Counter", Handler: "add", Key: "a b/c", ServiceType: command.VirtualObject, HandlerType: command.Exclusive}
)

type env struct {
	t   *testing.T
	p   *fakePartition
	d   *fakeDeployment
	res *fakeResolver
	inv *invoker.Invoker
}

// setup wires a fake partition, a real h2c deployment running script, and an invoker.
func setup(t *testing.T, target command.Target, maxProtocol int, cfg invoker.Config, script func(n int, c *sdkConn)) *env {
	t.Helper()
	d := &fakeDeployment{t: t, script: script}
	return setupWith(t, target, cfg, d, deployment(serveH2C(t, d)+"/prefix/", maxProtocol), transport.NewClient(transport.Config{}))
}

func deployment(uri string, maxProtocol int) invoker.Deployment {
	return invoker.Deployment{URI: uri, MinProtocol: 5, MaxProtocol: maxProtocol, AdditionalHeaders: map[string]string{"x-extra": "1"}}
}

func setupWith(t *testing.T, target command.Target, cfg invoker.Config, d *fakeDeployment, dep invoker.Deployment, client *http.Client) *env {
	p := newFakePartition(t, target, "input")
	res := &fakeResolver{
		deployment: dep,
		calls:      map[string]command.CallResolution{"Other/run": {ServiceType: command.Service}},
	}
	if cfg.Retry.InitialInterval == 0 {
		cfg.Retry.InitialInterval = 10 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Logger = slog.Default()
	}
	inv := invoker.New(cfg, res, client)
	p.inv.Store(inv)
	t.Cleanup(d.running.Wait)
	t.Cleanup(inv.Close)
	return &env{t: t, p: p, d: d, res: res, inv: inv}
}

func TestOutputEnd(t *testing.T) {
	e := setup(t, counter, 7, invoker.Config{MaxProtocol: protocol.V6}, func(n int, c *sdkConn) {
		c.send(&pb.SetStateCommandMessage{Key: []byte("k"), Value: &pb.Value{Content: []byte("2")}})
		c.send(output("hello"))
		c.send(&pb.EndMessage{})
	})
	e.p.mu.Lock()
	e.p.mu.state = []storage.StateEntry{{Key: []byte("k"), Value: []byte("1")}}
	e.p.mu.Unlock()
	e.inv.Start(e.p, e.p.id)
	e.inv.Start(e.p, e.p.id) // idempotent
	e.p.waitFor(command.KindEnd)

	if got := e.d.attempts.Load(); got != 1 {
		t.Fatalf("%d attempts, want 1", got)
	}
	j := e.p.journal()
	if len(j) != 3 || protocol.MessageType(j[1].Type) != protocol.SetStateCommandType || protocol.MessageType(j[2].Type) != protocol.OutputCommandType {
		t.Fatalf("journal %+v", j)
	}
	st := e.d.start(0)
	if st.KnownEntries != 1 || st.DebugId != e.p.id.String() || string(st.Id) != string(e.p.id.Bytes()) {
		t.Fatalf("start %+v", st)
	}
	if st.Key != "a b/c" || st.PartialState || len(st.StateMap) != 1 || string(st.StateMap[0].Value) != "1" {
		t.Fatalf("keyed start: key %q partial %v state %v", st.Key, st.PartialState, st.StateMap)
	}
	if st.RandomSeed == 0 || st.RandomSeed != invoker.RandomSeed(e.p.id) {
		t.Fatalf("random seed %d", st.RandomSeed)
	}
	if st.DurationSinceLastStoredEntry < 900 {
		t.Fatalf("duration since last stored entry %d ms", st.DurationSinceLastStoredEntry)
	}
	h := e.d.headers[0]
	want := map[string]string{
		"Content-Type":            "application/vnd.restate.invocation.v6",
		"Accept":                  "application/vnd.restate.invocation.v6",
		"X-Restate-Invocation-Id": e.p.id.String(),
		"X-Restate-Service-Key":   "a%20b%2Fc",
		"X-Extra":                 "1",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	if e.d.paths[0] != "/prefix/invoke/Counter/add" {
		t.Errorf("path %q", e.d.paths[0])
	}
}

// DisableEagerState (--disable-eager-state) starts a keyed handler without its key's state, as
// restate-server's worker.invoker.disable-eager-state.
func TestDisableEagerStateStartsPartial(t *testing.T) {
	e := setup(t, counter, 7, invoker.Config{DisableEagerState: true}, func(n int, c *sdkConn) {
		c.send(output("x"))
		c.send(&pb.EndMessage{})
	})
	e.p.mu.Lock()
	e.p.mu.state = []storage.StateEntry{{Key: []byte("k"), Value: []byte("1")}}
	e.p.mu.Unlock()
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	st := e.d.start(0)
	if !st.PartialState || len(st.StateMap) != 0 || st.Key != "a b/c" {
		t.Fatalf("keyed start with eager state disabled: key %q partial %v state %v", st.Key, st.PartialState, st.StateMap)
	}
	if !e.inv.Defaults().LazyState {
		t.Fatal("Defaults().LazyState false with DisableEagerState")
	}
}

func TestServiceStartHasNoState(t *testing.T) {
	e := setup(t, greeter, 5, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(output("x"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	st := e.d.start(0)
	if !st.PartialState || st.Key != "" || len(st.StateMap) != 0 || st.RandomSeed != 0 {
		t.Fatalf("V5 service start %+v", st)
	}
	if got := e.d.headers[0].Get("X-Restate-Service-Key"); got != "" {
		t.Fatalf("service key header %q for a service", got)
	}
	if got := e.d.headers[0].Get("Content-Type"); got != protocol.V5.ContentType() {
		t.Fatalf("negotiated %q, want v5", got)
	}
}

func TestRunCompletionV6(t *testing.T) {
	e := setup(t, greeter, 7, invoker.Config{MaxProtocol: protocol.V6}, func(n int, c *sdkConn) {
		c.send(&pb.RunCommandMessage{ResultCompletionId: 1, Name: "step"})
		c.send(&pb.ProposeRunCompletionMessage{ResultCompletionId: 1, Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte("42")}})
		m, _ := c.expect(protocol.RunCompletionType).(*pb.RunCompletionNotificationMessage)
		if m == nil || m.CompletionId != 1 || string(m.GetValue().GetContent()) != "42" {
			t.Errorf("run completion %v", m)
		}
		c.send(output("42"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	types := entryTypes(e.p.journal())
	want := []protocol.MessageType{protocol.InputCommandType, protocol.RunCommandType, protocol.RunCompletionType, protocol.OutputCommandType}
	if !slices.Equal(types, want) {
		t.Fatalf("journal %v, want %v", types, want)
	}
}

func TestRunCompletionAckV7(t *testing.T) {
	e := setup(t, greeter, 7, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.RunCommandMessage{ResultCompletionId: 1})
		c.sendAck(&pb.ProposeRunCompletionMessage{ResultCompletionId: 1, Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte("42")}})
		m, _ := c.expect(protocol.ProposeRunCompletionAckType).(*pb.ProposeRunCompletionAckMessage)
		if m == nil || m.CompletionId != 1 {
			t.Errorf("ack %v", m)
		}
		// Without the ACK flag, V7 gets the notification itself.
		c.send(&pb.RunCommandMessage{ResultCompletionId: 2})
		c.send(&pb.ProposeRunCompletionMessage{ResultCompletionId: 2, Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte("7")}})
		c.expect(protocol.RunCompletionType)
		c.send(output("42"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if got := e.d.headers[0].Get("Content-Type"); got != protocol.V7.ContentType() {
		t.Fatalf("negotiated %q", got)
	}
}

func TestSuspensionV6(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.SleepCommandMessage{WakeUpTime: 1, ResultCompletionId: 1})
		// V6 SuspensionMessage: waiting_completions=1, waiting_signals=2 (same numbers as Future).
		b, _ := proto.Marshal(&pb.Future{WaitingCompletions: []uint32{1}, WaitingSignals: []uint32{1}})
		c.w.WriteFrame(protocol.Frame{Type: protocol.SuspensionType, Payload: b})
	})
	e.inv.Start(e.p, e.p.id)
	s := e.p.waitFor(command.KindSuspend).Suspend
	if !slices.Equal(s.WaitingCompletions, []uint32{1}) || !slices.Equal(s.WaitingSignals, []uint32{1}) {
		t.Fatalf("suspend %+v", s)
	}
	if e.p.status().Phase != storage.Suspended {
		t.Fatalf("phase %s", e.p.status().Phase)
	}
}

func TestSuspensionV7Flattened(t *testing.T) {
	e := setup(t, greeter, 7, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.SuspensionMessage{AwaitingOn: &pb.Future{
			CombinatorType: pb.CombinatorType_ALL_COMPLETED,
			WaitingSignals: []uint32{1},
			NestedFutures: []*pb.Future{
				{WaitingCompletions: []uint32{3, 4}, CombinatorType: pb.CombinatorType_FIRST_COMPLETED},
				{WaitingSignals: []uint32{17}, WaitingNamedSignals: []string{"go"}, NestedFutures: []*pb.Future{{WaitingCompletions: []uint32{5, 3}}}},
			},
		}})
	})
	e.inv.Start(e.p, e.p.id)
	s := e.p.waitFor(command.KindSuspend).Suspend
	if !slices.Equal(s.WaitingCompletions, []uint32{3, 4, 5}) || !slices.Equal(s.WaitingSignals, []uint32{1, 17}) || !slices.Equal(s.WaitingNamedSignals, []string{"go"}) {
		t.Fatalf("suspend %+v", s)
	}
}

func TestErrorRetriedReplaysJournal(t *testing.T) {
	var firstRun []byte
	e := setup(t, greeter, 6, invoker.Config{Retry: invoker.RetryPolicy{InitialInterval: 50 * time.Millisecond}}, func(n int, c *sdkConn) {
		switch n {
		case 1:
			run := &pb.RunCommandMessage{ResultCompletionId: 1, Name: "r"}
			firstRun, _ = proto.Marshal(run)
			c.send(run)
			c.send(&pb.ErrorMessage{Code: 500, Message: "boom"})
		case 2:
			if len(c.replay) != 2 || c.replay[1].Type != protocol.RunCommandType || string(c.replay[1].Payload) != string(firstRun) {
				t.Errorf("replay %+v", c.replay)
			}
			c.send(&pb.ErrorMessage{Code: 500, Message: "again", NextRetryDelay: proto.Uint64(1)})
		case 3:
			c.send(output("ok"))
			c.send(&pb.EndMessage{})
		}
	})
	began := time.Now()
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if got := e.d.attempts.Load(); got != 3 {
		t.Fatalf("%d attempts", got)
	}
	if time.Since(began) < 50*time.Millisecond {
		t.Fatalf("retried without backoff")
	}
	// Attempt 1 stored a command then failed: count 1. Attempt 2 stored nothing: count 2.
	for i, want := range []uint32{0, 1, 2} {
		if got := e.d.start(i).RetryCountSinceLastStoredEntry; got != want {
			t.Errorf("attempt %d retry_count_since_last_stored_entry %d, want %d", i+1, got, want)
		}
	}
	if e.d.start(2).KnownEntries != 2 {
		t.Errorf("attempt 3 known entries %d", e.d.start(2).KnownEntries)
	}
}

func TestUnsupportedMediaTypeRetried(t *testing.T) {
	d := &fakeDeployment{t: t, status: func(n int) int {
		if n == 1 {
			return http.StatusUnsupportedMediaType
		}
		if n == 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	}}
	d.script = func(n int, c *sdkConn) {
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	}
	e := setupWith(t, greeter, invoker.Config{}, d, deployment(serveH2C(t, d), 7), transport.NewClient(transport.Config{}))
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if got := d.attempts.Load(); got != 3 {
		t.Fatalf("%d attempts", got)
	}
}

func TestWrongContentTypeRetried(t *testing.T) {
	e := setup(t, greeter, 7, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(output("x"))
		c.send(&pb.EndMessage{})
	})
	e.d.contentType = func(n int) string {
		if n == 1 {
			return "application/json"
		}
		return ""
	}
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if got := e.d.attempts.Load(); got != 2 {
		t.Fatalf("%d attempts", got)
	}
}

// A notification appended while the snapshot is read reaches the deployment exactly once: in
// the replay when the snapshot has it, live otherwise.
func TestNotifyDuringSnapshot(t *testing.T) {
	for _, afterRead := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterRead=%v", afterRead), func(t *testing.T) {
			e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
				if afterRead {
					if len(c.replay) != 1 {
						t.Errorf("replay %d entries, want Input only", len(c.replay))
					}
				} else if len(c.replay) != 2 || c.replay[1].Type != protocol.SignalNotificationType {
					t.Errorf("replay %+v, want Input and the signal", c.replay)
				}
				if afterRead {
					c.expect(protocol.SignalNotificationType)
				}
				c.send(output("ok"))
				c.send(&pb.EndMessage{})
				c.expectNoMore() // the signal was not sent twice
			})
			var fired atomic.Bool
			e.p.mu.snapshotHook = func(p *fakePartition, hookAfter bool) {
				if hookAfter == afterRead && fired.CompareAndSwap(false, true) {
					p.notify(&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 17}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}})
				}
			}
			e.inv.Start(e.p, e.p.id)
			e.p.waitFor(command.KindEnd)
		})
	}
}

func TestLiveNotification(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.SleepCommandMessage{WakeUpTime: 1, ResultCompletionId: 1})
		m, _ := c.expect(protocol.SleepCompletionType).(*pb.SleepCompletionNotificationMessage)
		if m == nil || m.CompletionId != 1 {
			t.Errorf("sleep completion %v", m)
		}
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindAppendEntry)
	e.p.notify(&pb.SleepCompletionNotificationMessage{CompletionId: 1, Void: &pb.Void{}})
	e.p.waitFor(command.KindEnd)
}

func TestCallResolved(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		if n == 1 {
			c.send(&pb.CallCommandMessage{ServiceName: "Nope", HandlerName: "x", InvocationIdNotificationIdx: 1, ResultCompletionId: 2})
			return // the runtime gives up on this attempt
		}
		c.send(&pb.OneWayCallCommandMessage{ServiceName: "Other", HandlerName: "run", InvocationIdNotificationIdx: 1})
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	ae := e.p.waitFor(command.KindAppendEntry).AppendEntry
	if ae.Call == nil || ae.Call.ServiceType != command.Service || ae.CommandIndex != 1 {
		t.Fatalf("append %+v", ae)
	}
	e.p.waitFor(command.KindEnd)
	if e.d.attempts.Load() != 2 {
		t.Fatalf("%d attempts", e.d.attempts.Load())
	}
}

func TestProtocolViolationRetried(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		if n == 1 {
			c.send(&pb.StartMessage{})
			return
		}
		if n == 2 {
			c.send(&pb.CommandAckMessage{CommandIndex: 1}) // a runtime-only message from the SDK
			return
		}
		if n == 3 {
			return // stream closed without End
		}
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if e.d.attempts.Load() != 4 {
		t.Fatalf("%d attempts", e.d.attempts.Load())
	}
	if len(e.p.journal()) != 2 {
		t.Fatalf("journal %v", entryTypes(e.p.journal()))
	}
}

func TestRetriesExhaustedFails(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{Retry: invoker.RetryPolicy{MaxAttempts: 3, OnMaxAttempts: invoker.OnMaxAttemptsKill}}, func(n int, c *sdkConn) {
		c.send(&pb.ErrorMessage{Code: 503, Message: fmt.Sprintf("fail %d", n)})
	})
	e.inv.Start(e.p, e.p.id)
	f := e.p.waitFor(command.KindFail).Fail
	// As restate-server: the last attempt's code and message, not a 500 wrapping them.
	if f.Failure.Code != 503 || f.Failure.Message != "fail 3" || e.d.attempts.Load() != 3 {
		t.Fatalf("failure %+v after %d attempts, want 503 \"fail 3\" after 3", f.Failure, e.d.attempts.Load())
	}
}

// By default, as restate-server, exhausted attempts pause the invocation with its last failure.
func TestRetriesExhaustedPauses(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{Retry: invoker.RetryPolicy{MaxAttempts: 3}}, func(n int, c *sdkConn) {
		c.send(&pb.ErrorMessage{Code: 503, Message: fmt.Sprintf("fail %d", n)})
	})
	e.inv.Start(e.p, e.p.id)
	p := e.p.waitFor(command.KindPause).Pause
	if p.LastFailure == nil || !strings.Contains(p.LastFailure.Message, "fail 3") || p.Attempts != 3 || e.d.attempts.Load() != 3 {
		t.Fatalf("pause %+v (last failure %+v) after %d attempts", p, p.LastFailure, e.d.attempts.Load())
	}
}

func TestErrorBehaviorFailV7(t *testing.T) {
	e := setup(t, greeter, 7, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.ErrorMessage{Code: 418, Message: "teapot", Behavior: pb.ErrorBehavior_FAIL})
	})
	e.inv.Start(e.p, e.p.id)
	f := e.p.waitFor(command.KindFail).Fail
	if f.Failure.Code != 418 || f.Failure.Message != "teapot" || e.d.attempts.Load() != 1 {
		t.Fatalf("failure %+v after %d attempts", f.Failure, e.d.attempts.Load())
	}
}

func TestStaleStops(t *testing.T) {
	released := make(chan struct{})
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.RunCommandMessage{ResultCompletionId: 1})
		c.recv() // until the runtime gives up on the stream
		close(released)
	})
	e.p.mu.reject = func(cmd command.Command) error {
		return fmt.Errorf("invocation completed: %w", invoker.ErrStale)
	}
	e.inv.Start(e.p, e.p.id)
	<-released
	time.Sleep(100 * time.Millisecond)
	if e.d.attempts.Load() != 1 {
		t.Fatalf("stale attempt retried: %d attempts", e.d.attempts.Load())
	}
}

func TestInactivityClosesRequestStream(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{InactivityTimeout: 100 * time.Millisecond}, func(n int, c *sdkConn) {
		c.send(&pb.SleepCommandMessage{WakeUpTime: 1, ResultCompletionId: 1})
		c.expectEOF()
		b, _ := proto.Marshal(&pb.Future{WaitingCompletions: []uint32{1}})
		c.w.WriteFrame(protocol.Frame{Type: protocol.SuspensionType, Payload: b})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindSuspend)
}

func TestAbortTimeout(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{InactivityTimeout: 50 * time.Millisecond, AbortTimeout: 100 * time.Millisecond}, func(n int, c *sdkConn) {
		if n == 1 {
			c.expectEOF()
			<-c.req.Context().Done() // never answers: the runtime must give up
			return
		}
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
}

func TestRequestResponse(t *testing.T) {
	e := setup(t, greeter, 6, invoker.Config{RequestResponse: true}, func(n int, c *sdkConn) {
		c.expectEOF() // the whole request arrives, closed, before the deployment answers
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
}

func TestHTTP11RequestResponse(t *testing.T) {
	d := &fakeDeployment{t: t, script: func(n int, c *sdkConn) {
		if c.req.ProtoMajor != 1 {
			t.Errorf("deployment saw %s, want HTTP/1.1", c.req.Proto)
		}
		c.expectEOF()
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	}}
	dep := deployment(serveH2C(t, d), 6)
	dep.UseHTTP11 = true
	e := setupWith(t, greeter, invoker.Config{}, d, dep, transport.NewClient(transport.Config{}))
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
}

// Close stops live attempts and returns only when every goroutine has finished; nothing is
// proposed afterwards.
func TestCloseWaits(t *testing.T) {
	entered := make(chan struct{})
	streamDone := make(chan struct{})
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		close(entered)
		<-c.req.Context().Done()
		close(streamDone)
	})
	e.inv.Start(e.p, e.p.id)
	<-entered
	closed := make(chan struct{})
	go func() { e.inv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-streamDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the deployment's stream was not closed")
	}
	e.inv.Start(e.p, e.p.id) // ignored after Close
	if e.d.attempts.Load() != 1 {
		t.Fatalf("%d attempts", e.d.attempts.Load())
	}
	select {
	case c := <-e.p.applied:
		t.Fatalf("applied after Close: %+v", c)
	default:
	}
}

func TestAbortThenRestart(t *testing.T) {
	entered := make(chan int, 2)
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		entered <- n
		if n == 1 {
			<-c.req.Context().Done()
			return
		}
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
	})
	e.inv.Start(e.p, e.p.id)
	<-entered
	e.inv.AbortAll(e.p)
	e.inv.Start(e.p, e.p.id) // a new leader starts it again while the old attempt winds down
	e.p.waitFor(command.KindEnd)
	if e.d.attempts.Load() != 2 {
		t.Fatalf("%d attempts", e.d.attempts.Load())
	}
}

func TestInProcess(t *testing.T) {
	d := &fakeDeployment{t: t, script: func(n int, c *sdkConn) {
		c.send(&pb.RunCommandMessage{ResultCompletionId: 1})
		c.sendAck(&pb.ProposeRunCompletionMessage{ResultCompletionId: 1, Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte("1")}})
		c.expect(protocol.ProposeRunCompletionAckType)
		c.send(output("in-process"))
		c.send(&pb.EndMessage{})
	}}
	reg := transport.NewInProcess()
	t.Cleanup(func() { reg.Close() })
	reg.Register("sdk", d)
	e := setupWith(t, greeter, invoker.Config{}, d, deployment("inproc://sdk/", 7), transport.NewClient(transport.Config{InProcess: reg}))
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	if got := entryTypes(e.p.journal()); len(got) != 4 {
		t.Fatalf("journal %v", got)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := invoker.RetryPolicy{InitialInterval: 100 * time.Millisecond, Factor: 2, MaxInterval: time.Second, MaxAttempts: 3}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 500: time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n, got, want)
		}
	}
	if p.Exhausted(2) || !p.Exhausted(3) || (invoker.RetryPolicy{MaxAttempts: -1}).Exhausted(1000) {
		t.Error("Exhausted")
	}
}

func entryTypes(j []command.Entry) []protocol.MessageType {
	out := make([]protocol.MessageType, len(j))
	for i, e := range j {
		out[i] = protocol.MessageType(e.Type)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// A manifest's retry policy is what runs: the handler's max attempts (laid over its service's)
// bound the attempts instead of the runtime's default; then the invocation is paused (the
// default, as restate-server) or failed (kill).
func TestManifestRetryPolicyApplied(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]invoker.Overrides
		succeedAt int32 // the attempt that succeeds; 0: none does
		attempts  int32 // attempts made before the invocation ends
		end       command.Kind
	}{
		{"handler max attempts", map[string]invoker.Overrides{"Greeter/greet": {RetryMaxAttempts: ptr(2)}}, 0, 2, command.KindPause},
		{"handler over service", map[string]invoker.Overrides{"Greeter/": {RetryMaxAttempts: ptr(5)}, "Greeter/greet": {RetryMaxAttempts: ptr(3)}}, 0, 3, command.KindPause},
		{"service only", map[string]invoker.Overrides{"Greeter/": {RetryMaxAttempts: ptr(4)}}, 0, 4, command.KindPause},
		{"kill fails", map[string]invoker.Overrides{"Greeter/greet": {RetryMaxAttempts: ptr(2), RetryOnMaxAttempts: invoker.OnMaxAttemptsKill}}, 0, 2, command.KindFail},
		{"success within the bound", map[string]invoker.Overrides{"Greeter/greet": {RetryMaxAttempts: ptr(4)}}, 3, 3, command.KindEnd},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
				if int32(n) == tc.succeedAt {
					c.send(output("ok"))
					c.send(&pb.EndMessage{})
					return
				}
				c.send(&pb.ErrorMessage{Code: 503, Message: fmt.Sprintf("fail %d", n)})
			})
			e.res.overrides = tc.overrides
			e.inv.Start(e.p, e.p.id)
			e.p.waitFor(tc.end)
			if got := e.d.attempts.Load(); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

// A manifest's inactivity timeout is what runs: 100ms instead of the runtime's 60s default.
// A manifest's inactivity timeout of 0 (restate-server's "always suspending") ends the request
// stream at once.
func TestManifestInactivityTimeoutApplied(t *testing.T) {
	for _, d := range []time.Duration{100 * time.Millisecond, 0} {
		t.Run(d.String(), func(t *testing.T) {
			e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
				c.send(&pb.SleepCommandMessage{WakeUpTime: 1, ResultCompletionId: 1})
				c.expectEOF()
				b, _ := proto.Marshal(&pb.Future{WaitingCompletions: []uint32{1}})
				c.w.WriteFrame(protocol.Frame{Type: protocol.SuspensionType, Payload: b})
			})
			e.res.overrides = map[string]invoker.Overrides{"Greeter/greet": {InactivityTimeout: ptr(d)}}
			e.inv.Start(e.p, e.p.id)
			e.p.waitFor(command.KindSuspend)
		})
	}
}

func TestPolicyOverride(t *testing.T) {
	def := invoker.Policy{
		Retry:             invoker.RetryPolicy{InitialInterval: time.Second, Factor: 2, MaxInterval: time.Minute, MaxAttempts: 0},
		InactivityTimeout: time.Minute, AbortTimeout: 10 * time.Minute,
	}
	cases := []struct {
		name string
		o    invoker.Overrides
		want invoker.Policy
	}{
		{"none", invoker.Overrides{}, def},
		{"all", invoker.Overrides{
			RetryInitialInterval: ptr(5 * time.Millisecond), RetryMaxInterval: ptr(7 * time.Second), RetryFactor: ptr(1.5),
			RetryMaxAttempts: ptr(9), InactivityTimeout: ptr(3 * time.Second), AbortTimeout: ptr(4 * time.Second),
		}, invoker.Policy{Retry: invoker.RetryPolicy{InitialInterval: 5 * time.Millisecond, Factor: 1.5, MaxInterval: 7 * time.Second, MaxAttempts: 9},
			InactivityTimeout: 3 * time.Second, AbortTimeout: 4 * time.Second}},
		{"inactivity 0: suspend at once", invoker.Overrides{InactivityTimeout: ptr(time.Duration(0))},
			invoker.Policy{Retry: def.Retry, InactivityTimeout: 0, AbortTimeout: def.AbortTimeout}},
		{"unrunnable values ignored", invoker.Overrides{
			RetryInitialInterval: ptr(time.Duration(0)), RetryFactor: ptr(0.5), RetryMaxAttempts: ptr(-1), InactivityTimeout: ptr(-time.Second),
		}, def},
		{"kill", invoker.Overrides{RetryMaxAttempts: ptr(3), RetryOnMaxAttempts: invoker.OnMaxAttemptsKill},
			invoker.Policy{Retry: invoker.RetryPolicy{InitialInterval: time.Second, Factor: 2, MaxInterval: time.Minute, MaxAttempts: 3, OnMaxAttempts: invoker.OnMaxAttemptsKill},
				InactivityTimeout: time.Minute, AbortTimeout: 10 * time.Minute}},
		{"pause", invoker.Overrides{RetryMaxAttempts: ptr(3), RetryOnMaxAttempts: invoker.OnMaxAttemptsPause},
			invoker.Policy{Retry: invoker.RetryPolicy{InitialInterval: time.Second, Factor: 2, MaxInterval: time.Minute, MaxAttempts: 3, OnMaxAttempts: invoker.OnMaxAttemptsPause},
				InactivityTimeout: time.Minute, AbortTimeout: 10 * time.Minute}},
	}
	for _, tc := range cases {
		if got := def.Override(tc.o); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	svc := invoker.Overrides{RetryMaxAttempts: ptr(5), AbortTimeout: ptr(time.Second)}
	h := invoker.Overrides{RetryMaxAttempts: ptr(2), RetryOnMaxAttempts: invoker.OnMaxAttemptsKill}
	got := svc.Then(h)
	if *got.RetryMaxAttempts != 2 || *got.AbortTimeout != time.Second || got.RetryOnMaxAttempts != invoker.OnMaxAttemptsKill {
		t.Errorf("Then: %+v", got)
	}
}

// An attempt that ended well ends its side of the stream and reads the deployment's end, so the
// HTTP/2 stream closes instead of being reset: the deployment reads a clean end of its request
// after End (Node's HTTP/2 server answers a burst of resets with GOAWAY, failing the attempts
// that share its connection).
func TestEndedStreamClosesCleanly(t *testing.T) {
	done := make(chan struct{})
	e := setup(t, greeter, 6, invoker.Config{}, func(n int, c *sdkConn) {
		defer close(done)
		c.send(output("ok"))
		c.send(&pb.EndMessage{})
		c.expectEOF()
	})
	e.inv.Start(e.p, e.p.id)
	e.p.waitFor(command.KindEnd)
	<-done
}
