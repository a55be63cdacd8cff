package invoker

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/tracing"
	"github.com/resolute-run/resolute/runtime/transport"
)

// attempt is one HTTP exchange with the deployment: snapshot, Start and replay, then live
// notifications (writer goroutine) while the attempt goroutine reads the deployment's messages.
type attempt struct {
	v           *invocation
	number      int    // 1 for the first attempt of this Start
	sinceStored uint32 // retry_count_since_last_stored_entry to send

	// Set before the stream starts, read-only afterwards.
	target     command.Target
	policy     Policy // the runtime's defaults until the target is known, then the target's own
	deployment Deployment
	version    protocol.Version
	bidi       bool

	// Owned by the reading goroutine.
	nextCommand uint32
	progress    bool         // a command was proposed: resets the retry count since last stored entry
	pin         *command.Pin // for the first proposal, when the invocation has no pin yet
	props       *proposals

	ctx    context.Context // the stream: done on abort, proposal error, abort timeout
	cancel context.CancelCauseFunc
	out    *outbox

	// Tracing (all zero when it is off): the attempt's span, and Run spans by completion id until
	// their result is journaled. The invocation's span is the leader's, once its end is applied
	// (Invoker.Ended).
	span     tracing.Span
	runSpans map[uint32]tracing.Span
}

func newAttempt(v *invocation, number int, sinceStored uint32) *attempt {
	return &attempt{v: v, number: number, sinceStored: sinceStored, policy: v.inv.cfg.policy()}
}

// run executes the attempt. nil means the invocation needs nothing more from this Start (it
// ended, suspended or is not running); otherwise the failure says why and how to retry.
func (a *attempt) run() *failure {
	v := a.v
	// Register as live (buffering) before the snapshot: a notification appended while we read
	// is either in the snapshot or in the buffer (see outbox.setKnown).
	a.out = newOutbox()
	v.setStream(a.out)
	defer v.setStream(nil)
	defer a.out.close()

	snap, err := v.p.Snapshot(v.id)
	if err != nil {
		return &failure{err: fmt.Errorf("snapshot: %w", err), noBump: true}
	}
	if snap.Status.Phase != storage.Running {
		v.inv.cfg.Logger.Debug("invocation not running, no attempt", "invocation", v.id.String(), "phase", snap.Status.Phase.String())
		return nil
	}
	if snap.Status.PauseRequested || v.yieldRequested() {
		return &failure{err: errPauseRequested, noBump: true}
	}
	if f := a.prepare(&snap); f != nil {
		return f
	}
	a.policy = v.inv.Policy(a.target.Service, a.target.Handler)
	a.out.setKnown(uint32(len(snap.Journal)))

	d, f := a.chooseDeployment(snap.Status.Pinned)
	if f != nil {
		return f
	}
	v.noteDeployment(d.ID, int(a.version))
	// HTTP/1.1 deployments are request/response: a server cannot answer before the body ends.
	a.bidi = !(v.inv.cfg.RequestResponse || d.RequestResponse || d.UseHTTP11)
	if !a.bidi {
		a.out.close() // no live notifications in request/response mode
	}
	a.startSpan(d, &snap.Status)
	return a.exchange(d, &snap)
}

// chooseDeployment picks the deployment and protocol version of the attempt: the invocation's
// pinned ones, else the service's latest deployment at the highest version both speak, which
// the attempt's first proposal then pins.
func (a *attempt) chooseDeployment(pinned *command.Pin) (Deployment, *failure) {
	v := a.v
	if pinned == nil {
		d, err := v.inv.resolver.Deployment(a.target.Service)
		if err != nil {
			return d, &failure{err: fmt.Errorf("resolve deployment of %s: %w", a.target.Service, err), noBump: true}
		}
		if a.version, err = protocol.Negotiate(d.MinProtocol, d.MaxProtocol, v.inv.cfg.MaxProtocol); err != nil {
			return d, &failure{err: err, noBump: true}
		}
		a.deployment, a.pin = d, &command.Pin{Deployment: d.ID, Protocol: int(a.version)}
		return d, nil
	}
	// A pinned deployment that is gone or changed is an operator's to fix (resume on another
	// deployment): these failures count as attempts, so the retry policy ends them.
	d, err := v.inv.resolver.DeploymentByID(pinned.Deployment)
	if err != nil {
		return d, failed(fmt.Errorf("pinned deployment of %s: %w", a.target.Service, err))
	}
	a.deployment = d
	if pinned.Protocol == 0 { // chosen by an operator; the version is negotiated now
		if a.version, err = protocol.Negotiate(d.MinProtocol, d.MaxProtocol, v.inv.cfg.MaxProtocol); err != nil {
			return d, failed(err)
		}
		a.pin = &command.Pin{Deployment: d.ID, Protocol: int(a.version)}
		return d, nil
	}
	a.version = protocol.Version(pinned.Protocol)
	if pinned.Protocol < d.MinProtocol || pinned.Protocol > d.MaxProtocol || a.version > v.inv.cfg.MaxProtocol {
		return d, failed(fmt.Errorf("pinned deployment %s speaks V%d–V%d, the journal is V%d", d.ID, d.MinProtocol, d.MaxProtocol, pinned.Protocol))
	}
	return d, nil
}

// prepare checks the snapshot and sets the target and the next command index.
func (a *attempt) prepare(snap *Snapshot) *failure {
	a.target = snap.Status.Invocation.Target
	if len(snap.Journal) == 0 {
		return failed(fmt.Errorf("snapshot of %s has an empty journal (no Input)", a.v.id))
	}
	var commands uint32
	for _, e := range snap.Journal {
		if protocol.MessageType(e.Type).IsCommand() {
			commands++
		}
	}
	if commands != snap.Status.CommandCount {
		return failed(fmt.Errorf("snapshot of %s: journal has %d commands, status says %d", a.v.id, commands, snap.Status.CommandCount))
	}
	// The SDK sends only new commands: they continue after the replayed ones.
	a.nextCommand = snap.Status.CommandCount
	return nil
}

// exchange runs the HTTP request and reads the response until the attempt ends.
func (a *attempt) exchange(d Deployment, snap *Snapshot) *failure {
	v := a.v
	a.ctx, a.cancel = context.WithCancelCause(v.ctx)
	defer a.cancel(context.Canceled)
	a.props = watchProposals(v.ctx, a.cancel, v.inv.cfg.Tracer.Enabled())

	initial, err := a.initialFrames(snap)
	if err != nil {
		a.props.wait()
		return failed(err)
	}
	req, pw, err := a.request(d)
	if err != nil {
		a.props.wait()
		return &failure{err: err, noBump: true}
	}
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		a.write(pw, initial)
	}()

	f := a.roundTrip(req, pw)
	a.cancel(errAttemptOver) // stops the writer
	req.Body.Close()         // unblocks a writer stuck in the pipe if the transport never read it
	writer.Wait()
	return a.settle(f)
}

var errAttemptOver = errors.New("invoker: attempt over")

// errPauseRequested ends an attempt that did not start because an operator paused the invocation.
var errPauseRequested = errors.New("invoker: an operator paused the invocation")

// settle waits for every proposal of the attempt and merges their outcome with the stream's.
func (a *attempt) settle(f *failure) *failure {
	if perr := a.props.wait(); perr != nil {
		if a.v.ctx.Err() != nil {
			return failed(context.Cause(a.v.ctx))
		}
		return failed(fmt.Errorf("proposal rejected: %w", perr))
	}
	return f
}

func (a *attempt) roundTrip(req *http.Request, pw *io.PipeWriter) *failure {
	resp, err := a.v.inv.client.Do(req)
	if err != nil {
		return failed(a.streamErr(fmt.Errorf("request: %w", err)))
	}
	defer resp.Body.Close()
	if f := a.checkResponse(resp); f != nil {
		return f
	}
	if f := a.read(resp.Body); f != nil {
		return f
	}
	// Ended well: end our side of the stream (the SDK may wait for it), then read the
	// deployment's end, so that the stream closes instead of being reset.
	pw.Close()
	drain(resp.Body)
	return nil
}

// drainTimeout bounds how long an attempt that ended well waits for the deployment to end its
// side of the stream (a loaded Node deployment takes seconds when thousands end at once).
const drainTimeout = 10 * time.Second

// drain reads what is left of a response after End or Suspension: a deployment ends its side
// right after them, and reading to that end lets the HTTP/2 stream close cleanly. Closing it
// unread resets the stream, and Node's HTTP/2 server answers a burst of resets (thousands of
// attempts ending at once) with GOAWAY, which failed the attempts that shared the connection. A
// deployment that keeps its side open is not waited for beyond drainTimeout.
func drain(body io.ReadCloser) {
	t := time.AfterFunc(drainTimeout, func() { body.Close() })
	defer t.Stop()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
}

// streamErr prefers the reason the stream was cancelled over the IO error it caused.
func (a *attempt) streamErr(err error) error {
	if a.ctx.Err() != nil {
		if c := context.Cause(a.ctx); c != nil && c != errAttemptOver {
			return c
		}
	}
	return err
}

func (a *attempt) checkResponse(resp *http.Response) *failure {
	cfg := a.v.inv.cfg
	switch {
	case resp.StatusCode == http.StatusUnsupportedMediaType:
		return &failure{err: fmt.Errorf("%w: 415, deployment rejected protocol %s", ErrUnexpectedResponse, a.version.ContentType()), noBump: true}
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		return &failure{err: fmt.Errorf("%w: %s (rate limited)", ErrUnexpectedResponse, resp.Status), delay: retryAfter(resp.Header, cfg.Now())}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return failed(fmt.Errorf("%w: %s", ErrUnexpectedResponse, resp.Status))
	}
	if ct, want := resp.Header.Get("Content-Type"), a.version.ContentType(); ct != want {
		return failed(fmt.Errorf("%w: content type %q, want %q", ErrUnexpectedResponse, ct, want))
	}
	return nil
}

// request builds the POST; its body is the pipe the writer fills.
func (a *attempt) request(d Deployment) (*http.Request, *io.PipeWriter, error) {
	u, err := url.Parse(d.URI)
	if err != nil {
		return nil, nil, fmt.Errorf("deployment %s uri %q: %w", d.ID, d.URI, err)
	}
	u = u.JoinPath("invoke", a.target.Service, a.target.Handler)
	ctx := a.ctx
	if d.UseHTTP11 {
		ctx = transport.WithHTTP11(ctx)
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), pr)
	if err != nil {
		return nil, nil, fmt.Errorf("deployment %s: %w", d.ID, err)
	}
	for k, val := range d.AdditionalHeaders {
		req.Header.Set(k, val)
	}
	ct := a.version.ContentType()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", ct)
	req.Header.Set("X-Restate-Invocation-Id", a.v.id.String())
	if a.target.Keyed() {
		req.Header.Set("X-Restate-Service-Key", urlEncode(a.target.Key))
	}
	if name := a.v.inv.cfg.ClusterName; name != "" {
		req.Header.Set("X-Restate-Cluster-Name", name)
	}
	a.span.Inject(req.Header)
	return req, pw, nil
}

// initialFrames encodes Start and the journal replay.
func (a *attempt) initialFrames(snap *Snapshot) ([]protocol.Frame, error) {
	cfg := a.v.inv.cfg
	start := &pb.StartMessage{
		Id:                             a.v.id.Bytes(),
		DebugId:                        a.v.id.String(),
		KnownEntries:                   uint32(len(snap.Journal)),
		RetryCountSinceLastStoredEntry: a.sinceStored,
		PartialState:                   true,
	}
	if ms := snap.Status.ModifiedAt; ms > 0 {
		if elapsed := cfg.Now().UnixMilli() - ms; elapsed > 0 {
			start.DurationSinceLastStoredEntry = uint64(elapsed)
		}
	}
	if a.target.Keyed() {
		start.Key = a.target.Key
		var state []storage.StateEntry
		state, start.PartialState = objects.StartState(snap.State, a.policy.LazyState)
		start.StateMap = make([]*pb.StartMessage_StateEntry, 0, len(state))
		for _, e := range state {
			start.StateMap = append(start.StateMap, &pb.StartMessage_StateEntry{Key: e.Key, Value: e.Value})
		}
	}
	if a.version >= protocol.V6 {
		start.RandomSeed = RandomSeed(a.v.id)
	}
	f, err := protocol.EncodeMessage(start)
	if err != nil {
		return nil, err
	}
	frames := make([]protocol.Frame, 0, 1+len(snap.Journal))
	frames = append(frames, f)
	for _, e := range snap.Journal {
		frames = append(frames, protocol.Frame{Type: protocol.MessageType(e.Type), Payload: e.Payload})
	}
	return frames, nil
}

// RandomSeed is StartMessage.random_seed: a pure function of the invocation id, so every attempt
// of an invocation gives the SDK the same seed.
func RandomSeed(id ids.InvocationID) uint64 {
	h := sha256.New()
	h.Write([]byte("random_seed"))
	h.Write(id.Bytes())
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// urlEncode percent-encodes everything but RFC 3986 unreserved characters, as the official
// runtime encodes x-restate-service-key.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			out = append(out, c)
			continue
		}
		out = append(out, '%', hex[c>>4], hex[c&15])
	}
	return string(out)
}

// write is the writer goroutine: Start and replay, then (bidi) live notifications until the
// stream ends or goes idle; it closes the request body when done.
func (a *attempt) write(pw *io.PipeWriter, initial []protocol.Frame) {
	w := protocol.NewWriter(pw)
	defer pw.Close()
	if err := w.WriteFrames(initial); err != nil {
		pw.CloseWithError(err)
		return
	}
	if a.bidi {
		a.forwardNotifications(w)
	}
	a.out.close()
	a.armAbortTimeout()
}

// forwardNotifications sends live notifications until the attempt ends or nothing moved on the
// stream for the inactivity timeout (then the caller closes the request body: the SDK suspends).
func (a *attempt) forwardNotifications(w *protocol.Writer) {
	timeout := a.policy.InactivityTimeout
	a.out.touch()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.out.yielding:
			return // an operator paused the invocation: the SDK suspends once the stream ends
		case <-a.out.wake:
			notes := a.out.take()
			frames := make([]protocol.Frame, len(notes))
			for i, n := range notes {
				frames[i] = a.out.frameFor(n, a.version)
			}
			if err := w.WriteFrames(frames); err != nil {
				return
			}
			a.out.touch()
		case <-timer.C:
			idle := a.out.idle()
			if idle >= timeout {
				return
			}
			timer.Reset(timeout - idle)
		}
	}
}

// armAbortTimeout bounds the wait for the deployment's last message once the request stream is
// closed; every message read re-arms it.
func (a *attempt) armAbortTimeout() {
	d := a.policy.AbortTimeout
	t := time.AfterFunc(d, func() {
		a.cancel(fmt.Errorf("%w: no End, Suspension or Error %s after the request stream closed", ErrAbortTimeout, d))
	})
	a.out.setAbortTimer(t, d)
	context.AfterFunc(a.ctx, func() { t.Stop() })
}

// outbox holds notifications for the writer. Before the snapshot is read (known unset) it
// buffers everything; setKnown then drops what the replay already contains.
type outbox struct {
	wake         chan struct{}
	yielding     chan struct{} // closed by yield
	yieldOnce    sync.Once
	lastActivity atomic.Int64 // unix nanos

	mu struct {
		sync.Mutex
		known      uint32
		knownSet   bool
		closed     bool
		queue      []note
		runAcks    map[uint32]struct{} // V7 run completions proposed with REQUESTED_ACK
		abortTimer *time.Timer
		abortAfter time.Duration
	}
}

type note struct {
	index uint32
	entry command.Entry
}

func newOutbox() *outbox {
	o := &outbox{wake: make(chan struct{}, 1), yielding: make(chan struct{})}
	o.mu.runAcks = make(map[uint32]struct{})
	return o
}

func (o *outbox) offer(index uint32, e command.Entry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mu.closed || (o.mu.knownSet && index < o.mu.known) {
		return
	}
	o.mu.queue = append(o.mu.queue, note{index, e})
	if o.mu.knownSet {
		o.signalLocked()
	}
}

func (o *outbox) setKnown(n uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mu.known, o.mu.knownSet = n, true
	kept := o.mu.queue[:0]
	for _, x := range o.mu.queue {
		if x.index >= n {
			kept = append(kept, x)
		}
	}
	o.mu.queue = kept
	if len(kept) > 0 {
		o.signalLocked()
	}
}

func (o *outbox) signalLocked() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) take() []note {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.mu.queue
	o.mu.queue = nil
	return q
}

func (o *outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mu.closed = true
	o.mu.queue = nil
}

// yield ends the writer's live notifications: the request stream closes.
func (o *outbox) yield() { o.yieldOnce.Do(func() { close(o.yielding) }) }

func (o *outbox) touch() { o.lastActivity.Store(time.Now().UnixNano()) }

func (o *outbox) idle() time.Duration {
	return time.Duration(time.Now().UnixNano() - o.lastActivity.Load())
}

func (o *outbox) expectRunAck(completionID uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mu.runAcks[completionID] = struct{}{}
}

// frameFor is the frame that delivers n: the stored notification, or on V7 a
// ProposeRunCompletionAck when the SDK asked for an ack of that run completion.
func (o *outbox) frameFor(n note, v protocol.Version) protocol.Frame {
	f := protocol.Frame{Type: protocol.MessageType(n.entry.Type), Payload: n.entry.Payload}
	if v < protocol.V7 || f.Type != protocol.RunCompletionType {
		return f
	}
	var rc pb.RunCompletionNotificationMessage
	if err := proto.Unmarshal(n.entry.Payload, &rc); err != nil {
		return f
	}
	o.mu.Lock()
	_, ack := o.mu.runAcks[rc.CompletionId]
	delete(o.mu.runAcks, rc.CompletionId)
	o.mu.Unlock()
	if !ack {
		return f
	}
	ackFrame, err := protocol.EncodeMessage(&pb.ProposeRunCompletionAckMessage{CompletionId: rc.CompletionId})
	if err != nil {
		return f
	}
	return ackFrame
}

func (o *outbox) setAbortTimer(t *time.Timer, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mu.abortTimer, o.mu.abortAfter = t, d
}

// activity records a message read from the deployment.
func (o *outbox) activity() {
	o.touch()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mu.abortTimer != nil {
		o.mu.abortTimer.Reset(o.mu.abortAfter)
	}
}
