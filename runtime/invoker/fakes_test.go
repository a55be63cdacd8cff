package invoker_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// fakePartition is an in-memory journal that applies commands the simple way, in proposal order,
// on its own goroutine (as a partition actor would), and emits run completions through Notify.
type fakePartition struct {
	t   *testing.T
	id  ids.InvocationID
	inv atomic.Pointer[invoker.Invoker]

	queue   chan proposal
	applied chan command.Command // every applied command, for tests to wait on
	stop    chan struct{}
	wg      sync.WaitGroup

	mu struct {
		sync.Mutex
		status       storage.InvocationStatus
		journal      []command.Entry
		state        []storage.StateEntry
		snapshotHook func(p *fakePartition, afterRead bool) // called before and after the journal is read
		reject       func(command.Command) error
		events       []event // journal events, in order
	}
}

// event is a journal event the fake stored, with the journal's length then: a TransientError,
// or (paused) a Paused event's last failure.
type event struct {
	journal int
	te      command.TransientError
	paused  bool
}

type proposal struct {
	cmd command.Command
	res chan error
}

func newFakePartition(t *testing.T, target command.Target, input string) *fakePartition {
	p := &fakePartition{
		t:       t,
		id:      ids.NewInvocationID(7, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(len(t.Name()))}),
		queue:   make(chan proposal, 100),
		applied: make(chan command.Command, 100),
		stop:    make(chan struct{}),
	}
	in, _ := proto.Marshal(&pb.InputCommandMessage{Value: &pb.Value{Content: []byte(input)}})
	p.mu.status = storage.InvocationStatus{
		Phase:         storage.Running,
		Invocation:    command.Invocation{ID: p.id, Target: target},
		CommandCount:  1,
		JournalLength: 1,
		ModifiedAt:    time.Now().Add(-time.Second).UnixMilli(),
	}
	p.mu.journal = []command.Entry{{Type: uint16(protocol.InputCommandType), Payload: in}}
	p.wg.Add(1)
	go p.applyLoop()
	t.Cleanup(func() { close(p.stop); p.wg.Wait() })
	return p
}

func (p *fakePartition) Propose(cmd command.Command) <-chan error {
	res := make(chan error, 1)
	select {
	case p.queue <- proposal{cmd, res}:
	case <-p.stop:
		res <- fmt.Errorf("partition stopped: %w", invoker.ErrStale)
	}
	return res
}

func (p *fakePartition) Snapshot(id ids.InvocationID) (invoker.Snapshot, error) {
	p.mu.Lock()
	hook := p.mu.snapshotHook
	p.mu.Unlock()
	if hook != nil {
		hook(p, false)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != p.id {
		return invoker.Snapshot{}, fmt.Errorf("unknown invocation %s: %w", id, invoker.ErrStale)
	}
	snap := invoker.Snapshot{
		Status:  p.mu.status,
		Journal: append([]command.Entry(nil), p.mu.journal...),
		State:   append([]storage.StateEntry(nil), p.mu.state...),
	}
	if p.mu.snapshotHook != nil {
		p.mu.Unlock()
		p.mu.snapshotHook(p, true)
		p.mu.Lock()
	}
	return snap, nil
}

func (p *fakePartition) applyLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case pr := <-p.queue:
			err, notes := p.apply(pr.cmd)
			pr.res <- err
			if err == nil {
				p.applied <- pr.cmd
			}
			for _, n := range notes {
				if inv := p.inv.Load(); inv != nil {
					inv.Notify(p.id, n.index, n.entry)
				}
			}
		}
	}
}

type appended struct {
	index uint32
	entry command.Entry
}

func (p *fakePartition) apply(cmd command.Command) (error, []appended) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.reject != nil {
		if err := p.mu.reject(cmd); err != nil {
			return err, nil
		}
	}
	st := &p.mu.status
	if st.Phase != storage.Running {
		return fmt.Errorf("invocation is %s: %w", st.Phase, invoker.ErrStale), nil
	}
	switch cmd.Kind {
	case command.KindAppendEntry:
		ae := cmd.AppendEntry
		if protocol.MessageType(ae.Entry.Type) == protocol.ProposeRunCompletionType {
			e := runCompletionEntry(ae.Entry.Payload)
			return nil, []appended{p.appendLocked(e)}
		}
		if ae.CommandIndex != st.CommandCount {
			return fmt.Errorf("command index %d, want %d: %w", ae.CommandIndex, st.CommandCount, invoker.ErrStale), nil
		}
		st.CommandCount++
		p.appendLocked(ae.Entry)
	case command.KindEnd:
		st.Phase = storage.Completed
	case command.KindSuspend:
		st.Phase = storage.Suspended
		st.Waiting = &storage.Waiting{Completions: cmd.Suspend.WaitingCompletions, Signals: cmd.Suspend.WaitingSignals, NamedSignals: cmd.Suspend.WaitingNamedSignals}
	case command.KindFail:
		st.Phase = storage.Completed
		st.Result = &command.Result{Failure: &cmd.Fail.Failure}
	case command.KindPause:
		st.Phase, st.LastFailure, st.Attempts = storage.Paused, cmd.Pause.LastFailure, cmd.Pause.Attempts
	case command.KindJournalEvent:
		if pa := cmd.JournalEvent.Paused; pa != nil {
			p.mu.events = append(p.mu.events, event{len(p.mu.journal), *pa.LastFailure, true})
		} else {
			p.mu.events = append(p.mu.events, event{len(p.mu.journal), *cmd.JournalEvent.TransientError, false})
		}
	default:
		return fmt.Errorf("unexpected command kind %d", cmd.Kind), nil
	}
	return nil, nil
}

func (p *fakePartition) appendLocked(e command.Entry) appended {
	idx := uint32(len(p.mu.journal))
	p.mu.journal = append(p.mu.journal, e)
	p.mu.status.JournalLength++
	p.mu.status.ModifiedAt = time.Now().UnixMilli()
	return appended{idx, e}
}

// notify appends a notification produced by the state machine and forwards it to the invoker.
func (p *fakePartition) notify(m proto.Message) {
	f, err := protocol.EncodeMessage(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	a := p.appendLocked(command.Entry{Type: uint16(f.Type), Payload: f.Payload})
	p.mu.Unlock()
	p.inv.Load().Notify(p.id, a.index, a.entry)
}

func runCompletionEntry(payload []byte) command.Entry {
	var m pb.ProposeRunCompletionMessage
	if err := proto.Unmarshal(payload, &m); err != nil {
		panic(err)
	}
	n := &pb.RunCompletionNotificationMessage{CompletionId: m.ResultCompletionId}
	switch r := m.Result.(type) {
	case *pb.ProposeRunCompletionMessage_Value:
		n.Result = &pb.RunCompletionNotificationMessage_Value{Value: &pb.Value{Content: r.Value}}
	case *pb.ProposeRunCompletionMessage_Failure:
		n.Result = &pb.RunCompletionNotificationMessage_Failure{Failure: r.Failure}
	}
	f, _ := protocol.EncodeMessage(n)
	return command.Entry{Type: uint16(f.Type), Payload: f.Payload}
}

func (p *fakePartition) status() storage.InvocationStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.status
}

func (p *fakePartition) events() []event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]event(nil), p.mu.events...)
}

func (p *fakePartition) journal() []command.Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]command.Entry(nil), p.mu.journal...)
}

// waitFor waits until a command of kind is applied.
func (p *fakePartition) waitFor(kind command.Kind) command.Command {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-p.applied:
			if c.Kind == kind {
				return c
			}
		case <-timeout:
			p.t.Fatalf("no command of kind %d applied; status %+v", kind, p.status())
		}
	}
}

// fakeResolver serves one deployment for every service and resolves calls from a table.
type fakeResolver struct {
	deployment invoker.Deployment
	calls      map[string]command.CallResolution // "service/handler"
	// overrides are the manifest's settings by "service/handler" ("service/" for the service's);
	// set before the invocation starts.
	overrides map[string]invoker.Overrides
}

func (r *fakeResolver) Overrides(service, handler string) invoker.Overrides {
	o := r.overrides[service+"/"]
	if handler == "" {
		return o
	}
	return o.Then(r.overrides[service+"/"+handler])
}

func (r *fakeResolver) Deployment(string) (invoker.Deployment, error) { return r.deployment, nil }

func (r *fakeResolver) DeploymentByID(ids.DeploymentID) (invoker.Deployment, error) {
	return r.deployment, nil
}

func (r *fakeResolver) ResolveCall(service, handler string) (command.CallResolution, error) {
	if res, ok := r.calls[service+"/"+handler]; ok {
		return res, nil
	}
	return command.CallResolution{}, fmt.Errorf("no handler %s/%s", service, handler)
}

// fakeDeployment is a real HTTP handler speaking the service protocol from a hand-written script
// per attempt.
type fakeDeployment struct {
	t        *testing.T
	attempts atomic.Int32
	// status, if set, answers attempt n with that HTTP status instead of running the script.
	status func(n int) int
	// contentType, if set and non-empty for attempt n, replaces the response content type.
	contentType func(n int) string
	script      func(n int, c *sdkConn)

	running sync.WaitGroup // handlers in flight; tests wait for them before ending

	mu      sync.Mutex
	starts  []*pb.StartMessage
	headers []http.Header
	paths   []string
}

func (d *fakeDeployment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.running.Add(1)
	defer d.running.Done()
	n := int(d.attempts.Add(1))
	d.mu.Lock()
	d.headers = append(d.headers, r.Header.Clone())
	d.paths = append(d.paths, r.URL.Path)
	d.mu.Unlock()
	if d.status != nil {
		if code := d.status(n); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	if r.ProtoMajor == 1 {
		http.NewResponseController(w).EnableFullDuplex()
	}
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	if d.contentType != nil {
		if ct := d.contentType(n); ct != "" {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	c := newSDKConn(d.t, r, w)
	if c == nil {
		return
	}
	d.mu.Lock()
	d.starts = append(d.starts, c.start)
	d.mu.Unlock()
	d.script(n, c)
}

func (d *fakeDeployment) start(i int) *pb.StartMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i >= len(d.starts) {
		d.t.Fatalf("attempt %d never started (%d starts)", i+1, len(d.starts))
	}
	return d.starts[i]
}

// sdkConn is the deployment's side of one invocation stream.
type sdkConn struct {
	t      *testing.T
	req    *http.Request
	w      *protocol.Writer
	start  *pb.StartMessage
	replay []protocol.Frame
	frames chan frameOrErr
}

type frameOrErr struct {
	f   protocol.Frame
	err error
}

func newSDKConn(t *testing.T, r *http.Request, w http.ResponseWriter) *sdkConn {
	c := &sdkConn{t: t, req: r, w: protocol.NewWriter(w), frames: make(chan frameOrErr, 100)}
	rd := protocol.NewReader(r.Body)
	go func() {
		for {
			f, err := rd.ReadFrame()
			c.frames <- frameOrErr{f, err}
			if err != nil {
				return
			}
		}
	}()
	f, err := c.recv()
	if err != nil || f.Type != protocol.StartType {
		t.Errorf("first frame: %v %v", f.Type, err)
		return nil
	}
	c.start = &pb.StartMessage{}
	if err := proto.Unmarshal(f.Payload, c.start); err != nil {
		t.Errorf("start: %v", err)
		return nil
	}
	for i := uint32(0); i < c.start.KnownEntries; i++ {
		f, err := c.recv()
		if err != nil {
			t.Errorf("replay %d: %v", i, err)
			return nil
		}
		c.replay = append(c.replay, f)
	}
	return c
}

func (c *sdkConn) recv() (protocol.Frame, error) {
	select {
	case x := <-c.frames:
		return x.f, x.err
	case <-time.After(10 * time.Second):
		return protocol.Frame{}, fmt.Errorf("timeout waiting for a frame")
	case <-c.req.Context().Done():
		return protocol.Frame{}, c.req.Context().Err()
	}
}

// expect reads the next frame and decodes it as a message of type want.
func (c *sdkConn) expect(want protocol.MessageType) proto.Message {
	c.t.Helper()
	f, err := c.recv()
	if err != nil {
		c.t.Errorf("expecting %s: %v", want, err)
		return nil
	}
	if f.Type != want {
		c.t.Errorf("got %s, want %s", f.Type, want)
		return nil
	}
	m, err := f.Message()
	if err != nil {
		c.t.Errorf("decode %s: %v", want, err)
	}
	return m
}

// expectNoMore checks that the runtime sends nothing more (the stream may end either way).
func (c *sdkConn) expectNoMore() {
	c.t.Helper()
	if f, err := c.recv(); err == nil {
		c.t.Errorf("unexpected %s from the runtime", f.Type)
	}
}

// expectEOF waits for the runtime to close its request stream.
func (c *sdkConn) expectEOF() {
	c.t.Helper()
	f, err := c.recv()
	if err != io.EOF {
		c.t.Errorf("want end of request stream, got %s %v", f.Type, err)
	}
}

func (c *sdkConn) send(m proto.Message) {
	if err := c.w.WriteMessage(m); err != nil {
		c.t.Errorf("send: %v", err)
	}
}

func (c *sdkConn) sendAck(m proto.Message) {
	f, err := protocol.EncodeMessage(m)
	if err != nil {
		c.t.Fatal(err)
	}
	f.RequestedAck = true
	if err := c.w.WriteFrame(f); err != nil {
		c.t.Errorf("send: %v", err)
	}
}

func output(s string) *pb.OutputCommandMessage {
	return &pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: []byte(s)}}}
}

// serveH2C serves h on a real TCP listener with HTTP/2 prior knowledge.
func serveH2C(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
