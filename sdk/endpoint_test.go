package sdk_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
)

// runtime is a minimal scripted Restate runtime talking to one invocation over real HTTP/2.
type runtime struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *protocol.Reader
	resp *http.Response
}

func serve(t *testing.T, e *sdk.Endpoint) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.Handler()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func h2cClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func invoke(t *testing.T, base, path string, v protocol.Version) *runtime {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+path, pr)
	req.Header.Set("content-type", v.ContentType())
	req.Header.Set("accept", v.ContentType())
	rt := &runtime{t: t, in: pw}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		rt.resp = resp
		rt.out = protocol.NewReader(resp.Body)
	}()
	t.Cleanup(func() { pw.Close() })
	// The SDK answers before reading anything in bidi mode, so the response arrives without input.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no response head")
	}
	if rt.resp == nil {
		t.FailNow()
	}
	t.Cleanup(func() { rt.resp.Body.Close() })
	return rt
}

func (rt *runtime) send(msgs ...proto.Message) {
	rt.t.Helper()
	for _, m := range msgs {
		f, err := protocol.EncodeMessage(m)
		if err != nil {
			rt.t.Fatal(err)
		}
		if _, err := rt.in.Write(protocol.AppendFrame(nil, f)); err != nil {
			rt.t.Fatal(err)
		}
	}
}

func (rt *runtime) recv() (protocol.Frame, proto.Message) {
	rt.t.Helper()
	f, err := rt.out.ReadFrame()
	if err != nil {
		rt.t.Fatalf("read frame: %v", err)
	}
	if f.Type == protocol.SuspensionType {
		return f, nil // V5/V6 shape is not in pb; tests inspect the payload
	}
	m, err := f.Message()
	if err != nil {
		rt.t.Fatal(err)
	}
	return f, m
}

func recvAs[T proto.Message](rt *runtime) T {
	rt.t.Helper()
	f, m := rt.recv()
	v, ok := m.(T)
	if !ok {
		rt.t.Fatalf("got %s %v, want %T", f.Type, m, *new(T))
	}
	return v
}

func (rt *runtime) expectEOF() {
	rt.t.Helper()
	if f, err := rt.out.ReadFrame(); !errors.Is(err, io.EOF) {
		rt.t.Fatalf("want end of stream, got %v %v", f.Type, err)
	}
}

func start(known uint32, key string, state ...string) *pb.StartMessage {
	s := &pb.StartMessage{Id: bytes.Repeat([]byte{7}, 24), DebugId: "inv_1test", KnownEntries: known, Key: key, RandomSeed: 99}
	for i := 0; i+1 < len(state); i += 2 {
		s.StateMap = append(s.StateMap, &pb.StartMessage_StateEntry{Key: []byte(state[i]), Value: []byte(state[i+1])})
	}
	return s
}

func input(body string) *pb.InputCommandMessage {
	return &pb.InputCommandMessage{Value: &pb.Value{Content: []byte(body)}, Headers: []*pb.Header{{Key: "x-test", Value: "yes"}}}
}

func value(b string) *pb.Value { return &pb.Value{Content: []byte(b)} }

var runs atomic.Int32

func endpoint() *sdk.Endpoint {
	counter := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
			return sdk.Get[int](ctx, "count")
		}))
	greeter := sdk.NewService("Greeter").
		Handler("greet", sdk.ServiceHandler(func(ctx sdk.Context, name string) (string, error) {
			n, err := sdk.Call[int](ctx, sdk.ToObject("Counter", name, "add"), 1)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("hello %s #%d (%s)", name, n, ctx.Headers()["x-test"]), nil
		})).
		Handler("pay", sdk.ServiceHandler(func(ctx sdk.Context, amount int) (string, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (string, error) {
				runs.Add(1)
				return fmt.Sprintf("paid %d", amount), nil
			}, sdk.WithName("pay"))
		})).
		Handler("nap", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.Sleep(ctx, time.Hour)
		})).
		Handler("teapot", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", sdk.TerminalError(errors.New("short and stout"), 418)
		})).
		Handler("flaky", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", errors.New("database down")
		})).
		Handler("panics", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			panic("boom")
		}))
	return sdk.NewEndpoint().Bind(counter, greeter)
}

func TestGreeterCallsCounter(t *testing.T) {
	base := serve(t, endpoint())
	rt := invoke(t, base, "/invoke/Greeter/greet", protocol.V6)
	if got := rt.resp.Header.Get("content-type"); got != protocol.V6.ContentType() {
		t.Fatalf("content-type %q", got)
	}
	if got := rt.resp.Header.Get("x-restate-server"); !strings.HasPrefix(got, "resolute-sdk-go/") {
		t.Fatalf("x-restate-server %q", got)
	}
	rt.send(start(1, ""), input(`"bob"`))
	call := recvAs[*pb.CallCommandMessage](rt)
	if call.ServiceName != "Counter" || call.Key != "bob" || string(call.Parameter) != "1" ||
		call.InvocationIdNotificationIdx != 1 || call.ResultCompletionId != 2 {
		t.Fatalf("call %v", call)
	}
	rt.send(&pb.CallInvocationIdCompletionNotificationMessage{CompletionId: 1, InvocationId: "inv_1callee"},
		&pb.CallCompletionNotificationMessage{CompletionId: 2, Result: &pb.CallCompletionNotificationMessage_Value{Value: value("6")}})
	out := recvAs[*pb.OutputCommandMessage](rt)
	if got := string(out.GetValue().GetContent()); got != `"hello bob #6 (yes)"` {
		t.Fatalf("output %s", got)
	}
	recvAs[*pb.EndMessage](rt)
	rt.expectEOF()
}

func TestCounterEagerState(t *testing.T) {
	base := serve(t, endpoint())
	rt := invoke(t, base, "/some/prefix/invoke/Counter/add", protocol.V6)
	rt.send(start(1, "alice", "count", "41"), input("1"))
	get := recvAs[*pb.GetEagerStateCommandMessage](rt)
	if string(get.GetValue().GetContent()) != "41" {
		t.Fatalf("get %v", get)
	}
	set := recvAs[*pb.SetStateCommandMessage](rt)
	if string(set.Key) != "count" || string(set.Value.Content) != "42" {
		t.Fatalf("set %v", set)
	}
	if out := recvAs[*pb.OutputCommandMessage](rt); string(out.GetValue().GetContent()) != "42" {
		t.Fatalf("output %v", out)
	}
	recvAs[*pb.EndMessage](rt)
}

func TestRunIsNotExecutedOnReplay(t *testing.T) {
	base := serve(t, endpoint())
	runs.Store(0)

	// First attempt (V7): the closure runs once; the proposal asks for an ack.
	rt := invoke(t, base, "/invoke/Greeter/pay", protocol.V7)
	rt.send(start(1, ""), input("5"))
	recvAs[*pb.RunCommandMessage](rt)
	f, m := rt.recv()
	if p, ok := m.(*pb.ProposeRunCompletionMessage); !ok || !f.RequestedAck || string(p.GetValue()) != `"paid 5"` {
		t.Fatalf("proposal %v ack=%v", m, f.RequestedAck)
	}
	rt.send(&pb.ProposeRunCompletionAckMessage{CompletionId: 1})
	if out := recvAs[*pb.OutputCommandMessage](rt); string(out.GetValue().GetContent()) != `"paid 5"` {
		t.Fatalf("output %v", out)
	}
	recvAs[*pb.EndMessage](rt)
	if runs.Load() != 1 {
		t.Fatalf("closure ran %d times", runs.Load())
	}

	// Replay (V6): the journaled result is returned and the closure is not executed again.
	rt = invoke(t, base, "/invoke/Greeter/pay", protocol.V6)
	rt.send(start(3, ""), input("5"),
		&pb.RunCommandMessage{ResultCompletionId: 1, Name: "pay"},
		&pb.RunCompletionNotificationMessage{CompletionId: 1, Result: &pb.RunCompletionNotificationMessage_Value{Value: value(`"paid 5"`)}})
	if out := recvAs[*pb.OutputCommandMessage](rt); string(out.GetValue().GetContent()) != `"paid 5"` {
		t.Fatalf("output %v", out)
	}
	recvAs[*pb.EndMessage](rt)
	if runs.Load() != 1 {
		t.Fatalf("closure ran %d times after replay", runs.Load())
	}

	// A journaled terminal failure is raised again without running the closure.
	rt = invoke(t, base, "/invoke/Greeter/pay", protocol.V6)
	rt.send(start(3, ""), input("5"),
		&pb.RunCommandMessage{ResultCompletionId: 1, Name: "pay"},
		&pb.RunCompletionNotificationMessage{CompletionId: 1, Result: &pb.RunCompletionNotificationMessage_Failure{Failure: &pb.Failure{Code: 402, Message: "card declined"}}})
	if out := recvAs[*pb.OutputCommandMessage](rt); out.GetFailure().GetCode() != 402 {
		t.Fatalf("output %v", out)
	}
	if runs.Load() != 1 {
		t.Fatalf("closure ran %d times after failure replay", runs.Load())
	}
}

func TestSuspendOnEOF(t *testing.T) {
	base := serve(t, endpoint())
	rt := invoke(t, base, "/invoke/Greeter/nap", protocol.V6)
	rt.send(start(1, ""), input(""))
	recvAs[*pb.SleepCommandMessage](rt)
	rt.in.Close()
	f, _ := rt.recv()
	// waiting_completions=[1] waiting_signals=[1], packed.
	if f.Type != protocol.SuspensionType || !bytes.Equal(f.Payload, []byte{0x0a, 0x01, 0x01, 0x12, 0x01, 0x01}) {
		t.Fatalf("got %s % x", f.Type, f.Payload)
	}
	rt.expectEOF()
}

func TestCancellation(t *testing.T) {
	base := serve(t, endpoint())
	rt := invoke(t, base, "/invoke/Greeter/nap", protocol.V6)
	rt.send(start(1, ""), input(""))
	recvAs[*pb.SleepCommandMessage](rt)
	rt.send(&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 1}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}})
	out := recvAs[*pb.OutputCommandMessage](rt)
	if f := out.GetFailure(); f.GetCode() != 409 || f.GetMessage() != "Cancelled" {
		t.Fatalf("output %v", out)
	}
	recvAs[*pb.EndMessage](rt)
}

func TestErrors(t *testing.T) {
	base := serve(t, endpoint())

	rt := invoke(t, base, "/invoke/Greeter/teapot", protocol.V6)
	rt.send(start(1, ""), input(""))
	if out := recvAs[*pb.OutputCommandMessage](rt); out.GetFailure().GetCode() != 418 || out.GetFailure().GetMessage() != "short and stout" {
		t.Fatalf("terminal: %v", out)
	}
	recvAs[*pb.EndMessage](rt)

	rt = invoke(t, base, "/invoke/Greeter/flaky", protocol.V6)
	rt.send(start(1, ""), input(""))
	if e := recvAs[*pb.ErrorMessage](rt); e.Code != 500 || e.Message != "database down" {
		t.Fatalf("retryable: %v", e)
	}
	rt.expectEOF()

	rt = invoke(t, base, "/invoke/Greeter/panics", protocol.V5)
	rt.send(start(1, ""), input(""))
	if e := recvAs[*pb.ErrorMessage](rt); e.Code != 500 || !strings.Contains(e.Message, "boom") || e.Stacktrace == "" {
		t.Fatalf("panic: %v", e)
	}

	// The journal says the greeter called someone else: journal mismatch.
	rt = invoke(t, base, "/invoke/Greeter/greet", protocol.V6)
	rt.send(start(2, ""), input(`"bob"`), &pb.CallCommandMessage{ServiceName: "Other", HandlerName: "x", InvocationIdNotificationIdx: 1, ResultCompletionId: 2})
	if e := recvAs[*pb.ErrorMessage](rt); e.Code != 570 {
		t.Fatalf("mismatch: %v", e)
	}

	// Bad input is a terminal 400.
	rt = invoke(t, base, "/invoke/Counter/add", protocol.V6)
	rt.send(start(1, "k"), input("{bad"))
	if out := recvAs[*pb.OutputCommandMessage](rt); out.GetFailure().GetCode() != 400 {
		t.Fatalf("bad input: %v", out)
	}
}

func TestRequestResponseOverHTTP1(t *testing.T) {
	srv := httptest.NewServer(endpoint())
	defer srv.Close()
	var body []byte
	for _, m := range []proto.Message{start(1, ""), input(`"bob"`)} {
		f, _ := protocol.EncodeMessage(m)
		body = protocol.AppendFrame(body, f)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/invoke/Greeter/greet", bytes.NewReader(body))
	req.Header.Set("content-type", protocol.V5.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := protocol.NewReader(resp.Body)
	var types []string
	for {
		f, err := rd.ReadFrame()
		if err != nil {
			break
		}
		types = append(types, f.Type.String())
	}
	if got := strings.Join(types, ","); got != "CallCommand,Suspension" {
		t.Fatalf("frames %s", got)
	}
}

func TestDiscoveryAndHealth(t *testing.T) {
	base := serve(t, endpoint())
	c := h2cClient()
	req, _ := http.NewRequest(http.MethodGet, base+"/prefix/discover", nil)
	req.Header.Set("accept", protocol.ManifestV1+", "+protocol.ManifestV2+", "+protocol.ManifestV3+", "+protocol.ManifestV4)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("content-type"); ct != protocol.ManifestV4 {
		t.Fatalf("content-type %q", ct)
	}
	for _, want := range []string{`"protocolMode":"BIDI_STREAM"`, `"minProtocolVersion":5`, `"maxProtocolVersion":7`,
		`{"name":"Counter","ty":"VIRTUAL_OBJECT"`, `{"name":"get","ty":"SHARED"`, `{"name":"add","ty":"EXCLUSIVE"`,
		`{"name":"Greeter","ty":"SERVICE"`, `{"name":"greet","input"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("manifest lacks %s:\n%s", want, b)
		}
	}

	req, _ = http.NewRequest(http.MethodGet, base+"/discover", nil)
	req.Header.Set("accept", protocol.ManifestV1)
	if resp, _ = c.Do(req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("v1-only discovery: %d", resp.StatusCode)
	}

	if resp, _ = c.Get(base + "/health"); resp.StatusCode != http.StatusOK {
		t.Errorf("health: %d", resp.StatusCode)
	}

	for _, ct := range []string{"application/vnd.restate.invocation.v4", "application/vnd.restate.invocation.v8", ""} {
		req, _ = http.NewRequest(http.MethodPost, base+"/invoke/Greeter/greet", nil)
		req.Header.Set("content-type", ct)
		if resp, _ = c.Do(req); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("content-type %q: %d", ct, resp.StatusCode)
		}
	}
}
