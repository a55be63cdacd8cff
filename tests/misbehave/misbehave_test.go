package misbehave

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// Only the hanging cases get short timeouts (in their manifests): a hanging attempt ends after
// inactivity + abort. Every other service keeps the server's, a minute each, which only guard
// against a hang: a correct attempt, however slow the machine, never runs into them, so those
// cases count their attempts exactly.
const (
	inactivity  = 300 * time.Millisecond
	abort       = 500 * time.Millisecond
	hangGuard   = time.Minute
	maxAttempts = 6
)

type outcome struct {
	status int
	body   string // the exact body for 200, a substring of the error message otherwise
}

var okOutcome = outcome{http.StatusOK, `"ok"`}

type misbehaviour struct {
	name string
	// times the deployment misbehaves before behaving; 0 means always.
	times int
	bad   func(s *stream)
	// logged is a substring of the invoker's log line for each failed attempt (retried cases).
	logged string
	want   outcome
	// overTCP serves the deployment over a real h2c listener instead of in-process.
	overTCP bool
	// hangs: the misbehaving attempts hang until the runtime's inactivity and abort timeouts
	// end them, so the service gets short ones (inactivity, abort).
	hangs bool
	// check runs extra assertions on the attempts the deployment saw.
	check func(t *testing.T, d *deployment)
}

func misbehaviours() []misbehaviour {
	return []misbehaviour{
		// Frames cut short.
		{name: "header cut", times: 2, logged: "unexpected EOF", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.raw([]byte{0x04, 0x01, 0, 0, 0})
			}
		}},
		{name: "payload cut", times: 2, logged: "unexpected EOF", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.raw([]byte{0x04, 0x01, 0, 0, 0, 0, 0, 20, 0x72, 0x05, '"'})
			}
		}},
		{name: "reserved header bits", times: 2, logged: "reserved header bits", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.raw([]byte{0x04, 0x01, 0x00, 0x01, 0, 0, 0, 0})
			}
		}},
		{name: "frame too large", times: 2, logged: "frame too large", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.raw([]byte{0x04, 0x01, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF})
			}
		}},
		// Unknown message types.
		{name: "unknown control type", times: 2, logged: "deployment sent MessageType(0x0100)", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.frame(0x0100, nil)
			}
		}},
		{name: "unknown command type", times: 2, logged: "unknown command type MessageType(0x04FF)", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.frame(0x04FF, []byte{0x08, 0x01})
			}
		}},
		{name: "unknown notification type", times: 2, logged: "deployment sent MessageType(0x8FFF)", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.frame(0x8FFF, nil)
			}
		}},
		// Control messages only the runtime may send.
		{name: "Start from deployment", times: 2, logged: "deployment sent Start", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.StartMessage{KnownEntries: 1})
			}
		}},
		{name: "CommandAck from deployment", times: 2, logged: "deployment sent CommandAck", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.CommandAckMessage{CommandIndex: 1})
			}
		}},
		{name: "ProposeRunCompletionAck from deployment", times: 2, logged: "deployment sent ProposeRunCompletionAck", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.ProposeRunCompletionAckMessage{CompletionId: 1})
			}
		}},
		// Out-of-order messages.
		{name: "notification from deployment", times: 2, logged: "deployment sent SleepCompletion", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.SleepCompletionNotificationMessage{CompletionId: 1, Void: &pb.Void{}})
			}
		}},
		{name: "suspension awaiting nothing", times: 2, logged: "Suspension awaits nothing", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.SuspensionMessage{AwaitingOn: &pb.Future{}})
			}
		}},
		{name: "suspension without future", times: 2, logged: "Suspension without awaiting_on", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.SuspensionMessage{})
			}
		}},
		{name: "output without end", times: 2, logged: "stream closed without End", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.send(output(`"early"`))
			}
		}},
		{name: "journal mismatch on replay", times: 2, logged: "deployment error", want: okOutcome, bad: journalMismatch, check: checkJournalMismatch},
		// HTTP-level failures.
		{name: "answers 500", times: 2, logged: "500 Internal Server Error", want: okOutcome, bad: func(s *stream) {
			http.Error(s.w, "boom", http.StatusInternalServerError)
		}},
		{name: "answers 415", times: 2, logged: "415", want: okOutcome, bad: func(s *stream) {
			s.w.WriteHeader(http.StatusUnsupportedMediaType)
		}},
		{name: "answers 503 with Retry-After", times: 1, logged: "rate limited", want: okOutcome, check: checkRetryAfter, bad: func(s *stream) {
			s.w.Header().Set("Retry-After", "1")
			s.w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{name: "html error page with 200", times: 2, logged: "read from deployment", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.raw([]byte("<html><body>502 Bad Gateway</body></html>"))
			}
		}},
		{name: "wrong content type", times: 2, logged: "unexpected response: content type", want: okOutcome, bad: func(s *stream) {
			if s.readReplay() {
				s.w.Header().Set("Content-Type", "application/json")
				s.w.WriteHeader(http.StatusOK)
				_, _ = s.w.Write([]byte(`"ok"`))
			}
		}},
		{name: "stream reset", times: 2, logged: "", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				panic(http.ErrAbortHandler)
			}
		}},
		{name: "connection closed", times: 2, logged: "", want: okOutcome, overTCP: true, bad: func(s *stream) {
			if s.begin() {
				s.r.Context().Value(connKey{}).(net.Conn).Close()
			}
		}},
		{name: "connection closed before head", times: 2, logged: "", want: okOutcome, overTCP: true, bad: func(s *stream) {
			s.r.Context().Value(connKey{}).(net.Conn).Close()
		}},
		// Hangs: inactivity closes the request stream, the abort timeout ends the attempt.
		{name: "hangs after head", times: 2, hangs: true, logged: "abort timeout", want: okOutcome, bad: func(s *stream) {
			if s.begin() {
				s.hang()
			}
		}},
		{name: "hangs before head", times: 2, hangs: true, logged: "abort timeout", want: okOutcome, bad: func(s *stream) {
			if s.readReplay() {
				s.hang()
			}
		}},
		// Terminal outcomes.
		{name: "always 500", logged: "500 Internal Server Error", want: outcome{500, "500 Internal Server Error"}, bad: func(s *stream) {
			http.Error(s.w, "boom", http.StatusInternalServerError)
		}},
		{name: "error with behavior FAIL", want: outcome{418, "teapot"}, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.ErrorMessage{Code: 418, Message: "teapot", Behavior: pb.ErrorBehavior_FAIL})
			}
		}},
		{name: "malformed output command", want: outcome{571, "bad OutputCommand"}, bad: func(s *stream) {
			if s.begin() {
				s.frame(protocol.OutputCommandType, []byte{0x72, 0x05, '"'})
				s.send(&pb.EndMessage{})
			}
		}},
		{name: "call to unknown service", logged: "unknown call target", want: outcome{500, "unknown call target Nope/x"}, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.CallCommandMessage{ServiceName: "Nope", HandlerName: "x", InvocationIdNotificationIdx: 1, ResultCompletionId: 2})
				s.hang()
			}
		}},
		{name: "state from a service", want: outcome{400, "may not write state"}, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.SetStateCommandMessage{Key: []byte("k"), Value: &pb.Value{Content: []byte("1")}})
				s.hang()
			}
		}},
		// End before Output: a protocol violation that a retry cannot fix, so the invocation fails
		// terminally. (The official runtime logs "Invocation completed without an output entry.
		// This is not supported yet." and answers nothing.)
		{name: "end before output", want: outcome{571, "End without an OutputCommand"}, bad: func(s *stream) {
			if s.begin() {
				s.send(&pb.EndMessage{})
				s.send(output(`"late"`))
			}
		}},
	}
}

// journalMismatch: attempt 1 journals a Run and its result, then fails retryably; attempt 2
// replays them and reports a journal mismatch (570), as an SDK whose code changed would; attempt 3
// (behave) finishes.
func journalMismatch(s *stream) {
	if !s.begin() {
		return
	}
	if s.attempt == 1 {
		s.send(&pb.RunCommandMessage{ResultCompletionId: 1, Name: "step"})
		s.send(&pb.ProposeRunCompletionMessage{ResultCompletionId: 1, Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte(`"v"`)}})
		if s.awaitNotification(protocol.RunCompletionType) {
			s.send(&pb.ErrorMessage{Code: 500, Message: "transient"})
		}
		return
	}
	idx := uint32(1)
	s.send(&pb.ErrorMessage{Code: 570, Message: "Journal mismatch: replayed RunCommand 'step', handler issued SleepCommand", RelatedCommandIndex: &idx})
}

func checkJournalMismatch(t *testing.T, d *deployment) {
	starts := d.attempts()
	if len(starts) != 3 {
		t.Fatalf("%d attempts, want 3", len(starts))
	}
	for i, want := range []uint32{1, 3, 3} {
		if got := starts[i].GetKnownEntries(); got != want {
			t.Errorf("attempt %d replayed %d entries, want %d (Input, Run, RunCompletion)", i+1, got, want)
		}
	}
}

// checkRetryAfter: the runtime honoured Retry-After: 1 instead of its 20 ms backoff.
func checkRetryAfter(t *testing.T, d *deployment) {
	at := d.arrivals()
	if len(at) != 2 {
		t.Fatalf("%d attempts, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 900*time.Millisecond {
		t.Errorf("retried after %v, want about 1s (Retry-After)", gap)
	}
}

type connKey struct{}

// TestMisbehavingDeployments runs every misbehaviour in parallel against one server. For each:
// a /send with an idempotency key is acknowledged first, then a call with the same key waits for
// that invocation's outcome; a healthy object keeps answering throughout.
func TestMisbehavingDeployments(t *testing.T) {
	logs := &syncBuffer{}
	s := startServer(t, logs)
	cases := misbehaviours()
	deployments := make([]*deployment, len(cases))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, c := range cases {
		d := &deployment{service: fmt.Sprintf("Bad%02d", i), times: c.times, bad: c.bad}
		if c.hangs {
			d.timeouts = timeouts{inactivity: inactivity, abort: abort}
		}
		if c.times == 0 {
			d.times = 1 << 30
		}
		deployments[i] = d
		if c.overTCP {
			if _, err := s.Register(ctx, serveH2C(t, d), true); err != nil {
				t.Fatalf("%s: register: %v", c.name, err)
			}
		} else if err := s.RegisterInProcess(ctx, strings.ToLower(d.service), d); err != nil {
			t.Fatalf("%s: register: %v", c.name, err)
		}
	}
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runCase(t, s, c, deployments[i], logs)
			})
		}
	})
	if t.Failed() {
		t.Logf("server log:\n%s", logs.String())
	}
}

func runCase(t *testing.T, s *server.Server, c misbehaviour, d *deployment, logs *syncBuffer) {
	stop := keepCallingHealthy(t, s.IngressURL(), d.service)
	defer stop()
	base := s.IngressURL() + "/" + d.service + "/run"
	code, hdr, body := post(t, base+"/send", "k")
	if code != http.StatusAccepted {
		t.Fatalf("send: %d %s", code, body)
	}
	var ack struct{ InvocationID, Status string }
	if err := json.Unmarshal([]byte(body), &ack); err != nil || ack.Status != "Accepted" {
		t.Fatalf("send answer %s: %v", body, err)
	}
	code, hdr, body = post(t, base, "k")
	if got := hdr.Get("x-restate-id"); got != ack.InvocationID {
		t.Fatalf("call attached to %s, the send created %s", got, ack.InvocationID)
	}
	checkOutcome(t, c.want, code, body)
	checkAttempts(t, c, len(d.attempts()), logs, ack.InvocationID)
	if c.check != nil {
		c.check(t, d)
	}
	for _, p := range d.problems() {
		t.Errorf("deployment: %s", p)
	}
	// A hanging case's behaving attempt may be cut off by its short timeouts on a slow machine
	// (checkAttempts accounts for it); any other case's timeouts are a minute, so a cut-off there
	// means the runtime gave up on a deployment that was answering.
	if !c.hangs {
		for _, p := range d.cutOffs() {
			t.Errorf("deployment: the runtime gave up on %s", p)
		}
	}
}

// checkAttempts compares the attempts the deployment saw with the misbehaviours and the invoker's
// log, which has one "attempt failed" line for each failed attempt of a retried invocation.
func checkAttempts(t *testing.T, c misbehaviour, attempts int, logs *syncBuffer, id string) {
	t.Helper()
	failed, because := logs.count(id, ""), logs.count(id, c.logged)
	switch {
	case c.times > 0 && c.hangs:
		// A hanging case's timeouts are short, so its behaving attempt can also time out on a
		// slow machine and be retried: at least times+1 attempts, and every extra one failed by
		// the abort timeout too.
		if attempts < c.times+1 || failed != attempts-1 || because != failed {
			t.Errorf("%d attempts, %d logged as failed, %d of them with %q; want at least %d attempts, each but the last failed with %q",
				attempts, failed, because, c.logged, c.times+1, c.logged)
		}
	case c.times > 0:
		// Nothing but the misbehaviour can fail an attempt: exactly times failed, then one behaved.
		if attempts != c.times+1 || failed != c.times {
			t.Errorf("%d attempts, %d logged as failed; want %d misbehaving (each logged) + 1", attempts, failed, c.times)
		}
		if c.logged != "" && because != c.times {
			t.Errorf("invoker logged %q for %d failed attempts, want %d", c.logged, because, c.times)
		}
	case c.logged != "":
		// Misbehaves every time and is retried until the attempts run out.
		if attempts != maxAttempts || failed != maxAttempts || because != maxAttempts {
			t.Errorf("%d attempts, %d logged as failed, %d with %q; want %d, each logged with it (retries exhausted)",
				attempts, failed, because, c.logged, maxAttempts)
		}
	}
}

func checkOutcome(t *testing.T, want outcome, code int, body string) {
	t.Helper()
	if code != want.status {
		t.Fatalf("outcome %d %s, want %d", code, body, want.status)
	}
	if want.status == http.StatusOK {
		if body != want.body {
			t.Fatalf("outcome body %q, want %q", body, want.body)
		}
		return
	}
	var e struct {
		Code    int
		Message string
		Source  string
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != want.status || !strings.Contains(e.Message, want.body) || e.Source != "invocation" {
		t.Fatalf("error body %s (%v), want code %d, source invocation, message containing %q", body, err, want.status, want.body)
	}
}

func startServer(t *testing.T, logs io.Writer) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{
			Retry:             invoker.RetryPolicy{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxAttempts: maxAttempts, OnMaxAttempts: invoker.OnMaxAttemptsKill},
			InactivityTimeout: hangGuard,
			AbortTimeout:      hangGuard,
			Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	counter := sdk.NewObject("Counter").Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
		c, err := sdk.Get[int](ctx, "c")
		if err != nil {
			return 0, err
		}
		return c + n, sdk.Set(ctx, "c", c+n)
	}))
	if err := s.RegisterInProcess(ctx, "healthy", sdk.NewEndpoint().Bind(counter)); err != nil {
		t.Fatal(err)
	}
	return s
}

// keepCallingHealthy calls Counter/{key}/add until stopped, and fails the test if a call fails
// or hangs (a 30 s guard, not a latency target), or if none was made. stop waits for the caller
// goroutine.
func keepCallingHealthy(t *testing.T, ingress, key string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var calls int
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 30 * time.Second}
		for want := 1; ; want++ {
			resp, err := client.Post(ingress+"/Counter/"+key+"/add", "application/json", strings.NewReader("1"))
			if err != nil {
				t.Errorf("healthy call %d: %v", want, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(b) != fmt.Sprint(want) {
				t.Errorf("healthy call %d: %d %s", want, resp.StatusCode, b)
				return
			}
			calls = want
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if calls == 0 {
			t.Error("no healthy call completed")
		}
	}
}

func post(t *testing.T, url, idempotencyKey string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`"x"`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// serveH2C serves d over a real h2c listener; handlers find their net.Conn under connKey.
func serveH2C(t *testing.T, d http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:     h2c.NewHandler(d, &http2.Server{}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count is the number of failed-attempt lines logged for invocation that contain substr: the
// invoker's per-attempt line (debug), or its last one when the retries are exhausted. The
// warning that opens a deployment's failure summary (runtime/invoker/failurelog.go) repeats a
// failure already counted, so it is left out.
func (b *syncBuffer) count(invocation, substr string) int {
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "summarized every") {
			continue
		}
		if strings.Contains(line, invocation) && strings.Contains(line, "attempt failed") && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
