package invoker

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// Deployment is where a service's handlers run, as registered.
type Deployment struct {
	ID                       ids.DeploymentID
	URI                      string
	MinProtocol, MaxProtocol int
	// RequestResponse: the deployment's protocolMode is REQUEST_RESPONSE: the runtime sends the
	// whole replay, closes its side, then reads the answer; no live notifications.
	RequestResponse bool
	// UseHTTP11 sends the request over HTTP/1.1, in request/response mode.
	UseHTTP11         bool
	AdditionalHeaders map[string]string
}

// Resolver looks up the schema registry. It is called from attempt goroutines concurrently.
type Resolver interface {
	// Deployment returns the deployment serving a service (latest registration).
	Deployment(service string) (Deployment, error)
	// DeploymentByID returns a registered deployment (an invocation's pinned one).
	DeploymentByID(id ids.DeploymentID) (Deployment, error)
	// ResolveCall returns the callee types for a Call/OneWayCall target, or an error if unknown.
	ResolveCall(service, handler string) (command.CallResolution, error)
	// Overrides returns the retry policy and timeouts the deployment's manifest sets for a
	// handler (the service's settings with the handler's laid over them; an empty handler gives
	// the service's alone). Unknown targets have none.
	Overrides(service, handler string) Overrides
}

// Partition is the partition (leader) an attempt works for.
type Partition interface {
	// Propose enqueues a command for the partition's log. Commands proposed through one Partition
	// are applied in proposal order. The returned channel yields exactly one value when the
	// command was applied (nil) or failed/was rejected (an error): a rejected AppendEntry (wrong
	// CommandIndex) means the attempt is stale and must stop.
	Propose(cmd command.Command) <-chan error
	// Snapshot reads what a new attempt needs, consistently: status, the whole journal and, for
	// keyed targets, the key's state.
	Snapshot(id ids.InvocationID) (Snapshot, error)
}

// Snapshot is the consistent view a new attempt starts from.
type Snapshot struct {
	Status  storage.InvocationStatus
	Journal []command.Entry
	State   []storage.StateEntry
}

// Config tunes the invoker. The zero value gives the defaults.
type Config struct {
	Retry RetryPolicy
	// InactivityTimeout: in bidirectional mode, when neither side has sent anything for this long,
	// the runtime closes its request stream so the SDK suspends. Default 60s.
	InactivityTimeout time.Duration
	// AbortTimeout bounds the wait for End/Suspension/Error once the request stream is closed
	// (after inactivity, or at once in request/response mode). Default 10m.
	AbortTimeout time.Duration
	// MaxProtocol is the newest service protocol version the runtime offers. Default V7.
	MaxProtocol protocol.Version
	// DisableEagerState starts every keyed handler without its key's state, as if each
	// manifest asked for enableLazyState (restate-server's worker.invoker.disable-eager-state);
	// a manifest's enableLazyState: false still sends it.
	DisableEagerState bool
	// RequestResponse forces request/response mode for every deployment.
	RequestResponse bool
	// MaxMessageSize bounds one message read from a deployment. Default protocol.DefaultMaxFrameSize.
	MaxMessageSize uint32
	// ClusterName, when set, is sent as x-restate-cluster-name.
	ClusterName string
	// Logger receives one line per failed attempt. Default slog.Default().
	Logger *slog.Logger
	// Observer, if set, is told of every attempt that reached a deployment (metrics).
	Observer Observer
	// Tracer, if set, makes a span per attempt, per journaled call, sleep and Run, and per ended
	// invocation, and passes the attempt's span to the deployment as traceparent (nil: off).
	Tracer *tracing.Tracer
	// Now is the wall clock (for duration_since_last_stored_entry). Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Retry = c.Retry.withDefaults()
	if c.InactivityTimeout <= 0 {
		c.InactivityTimeout = 60 * time.Second
	}
	if c.AbortTimeout <= 0 {
		c.AbortTimeout = 10 * time.Minute
	}
	if c.MaxProtocol == 0 {
		c.MaxProtocol = protocol.MaxVersion
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = protocol.DefaultMaxFrameSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Invoker runs invocation attempts against deployments: one goroutine per invocation that is
// live (streaming) or scheduled (waiting for a retry).
//
// Invariants (guarded by mu):
//   - at most one entry per invocation id; its goroutine is counted in wg until it returns;
//   - an entry leaves the map only when its goroutine returns;
//   - Start for an id whose entry is finishing (terminal command proposed) or aborted is not lost:
//     it is remembered in restart and run once the old goroutine has returned.
type Invoker struct {
	cfg      Config
	resolver Resolver
	client   *http.Client
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		attempts map[ids.InvocationID]*invocation
		closed   bool
	}
}

// New returns an Invoker. client must reach the deployments' URIs (see package transport).
func New(cfg Config, resolver Resolver, client *http.Client) *Invoker {
	inv := &Invoker{cfg: cfg.withDefaults(), resolver: resolver, client: client}
	inv.mu.attempts = make(map[ids.InvocationID]*invocation)
	return inv
}

// Start runs the invocation: snapshot, stream, retries. It is idempotent: a Start for an id with
// an attempt live or scheduled is ignored.
func (i *Invoker) Start(p Partition, id ids.InvocationID) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.mu.closed {
		return
	}
	if inv, ok := i.mu.attempts[id]; ok {
		inv.maybeRestartLocked(p)
		return
	}
	i.launchLocked(p, id)
}

// Notify forwards a notification the state machine appended at journal index to the live attempt
// of id, if any. It never blocks on IO.
func (i *Invoker) Notify(id ids.InvocationID, index uint32, e command.Entry) {
	i.mu.Lock()
	inv := i.mu.attempts[id]
	i.mu.Unlock()
	if inv != nil {
		inv.notify(index, e)
	}
}

// Abort stops the attempt of id without retry.
func (i *Invoker) Abort(id ids.InvocationID) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if inv, ok := i.mu.attempts[id]; ok {
		inv.abortLocked()
	}
}

// Yield asks the attempt of id to end without ending the invocation, which an operator paused:
// the request stream is closed (the SDK suspends after what it is doing; the abort timeout
// bounds the wait), a retry waiting for its backoff is not made, and an attempt that ends
// without ending the invocation proposes the Yielded pause. With no attempt live, one starts
// that finds the request in the invocation's status and proposes it.
func (i *Invoker) Yield(p Partition, id ids.InvocationID) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.mu.closed {
		return
	}
	inv, ok := i.mu.attempts[id]
	if !ok {
		i.launchLocked(p, id)
		return
	}
	inv.maybeRestartLocked(p)
	inv.yield()
}

// AbortAll stops every attempt started for p (p lost leadership or restarted).
func (i *Invoker) AbortAll(p Partition) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, inv := range i.mu.attempts {
		if inv.restart == p {
			inv.restart = nil
		}
		if inv.p == p {
			inv.abortLocked()
		}
	}
}

// Close stops everything and waits for every goroutine the Invoker started.
func (i *Invoker) Close() {
	i.mu.Lock()
	i.mu.closed = true
	for _, inv := range i.mu.attempts {
		inv.restart = nil
		inv.abortLocked()
	}
	i.mu.Unlock()
	i.wg.Wait()
}

func (i *Invoker) launchLocked(p Partition, id ids.InvocationID) {
	inv := newInvocation(i, p, id)
	i.mu.attempts[id] = inv
	i.wg.Add(1)
	go func() {
		defer i.wg.Done()
		inv.run()
		i.exited(inv)
	}()
}

// exited removes inv and honours a Start that arrived while it was finishing.
func (i *Invoker) exited(inv *invocation) {
	i.mu.Lock()
	defer i.mu.Unlock()
	inv.cancel(ErrAborted)
	if i.mu.attempts[inv.id] == inv {
		delete(i.mu.attempts, inv.id)
	}
	if p := inv.restart; p != nil && !i.mu.closed {
		i.launchLocked(p, inv.id)
	}
}

// invocation is the per-id state: the retry loop's goroutine and the current stream, if any.
type invocation struct {
	inv    *Invoker
	p      Partition
	id     ids.InvocationID
	ctx    context.Context // done on Abort, AbortAll, Close
	cancel context.CancelCauseFunc

	// Guarded by Invoker.mu.
	finishing bool      // a terminal command (End, Suspend, Fail) was proposed
	aborted   bool      // Abort/AbortAll/Close
	restart   Partition // a Start that must run after this goroutine returns

	lastEvent *command.TransientError // the last one proposed (events.go); the run goroutine's

	cur struct {
		sync.Mutex
		s *outbox // notifications of the current attempt; nil while waiting to retry
	}
	yielding     chan struct{} // closed by yield: an operator paused the invocation
	yieldingOnce sync.Once
	info         struct {
		sync.Mutex
		a AttemptInfo
	}
}

func newInvocation(i *Invoker, p Partition, id ids.InvocationID) *invocation {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &invocation{inv: i, p: p, id: id, ctx: ctx, cancel: cancel, yielding: make(chan struct{})}
}

// yield records that the invocation must pause once its attempt ends, and closes the current
// attempt's request stream.
func (v *invocation) yield() {
	v.yieldingOnce.Do(func() { close(v.yielding) })
	v.cur.Lock()
	s := v.cur.s
	v.cur.Unlock()
	if s != nil {
		s.yield()
	}
}

// yieldRequested reports whether yield was called.
func (v *invocation) yieldRequested() bool {
	select {
	case <-v.yielding:
		return true
	default:
		return false
	}
}

func (v *invocation) maybeRestartLocked(p Partition) {
	if v.finishing || v.aborted {
		v.restart = p
	}
}

func (v *invocation) abortLocked() {
	v.aborted = true
	v.cancel(ErrAborted)
}

// markFinishing records that the attempt is about to propose a terminal command: from now on a
// Start (e.g. the partition resuming a suspension at once) must start a fresh attempt.
func (v *invocation) markFinishing() { v.setFinishing(true) }

func (v *invocation) setFinishing(b bool) {
	v.inv.mu.Lock()
	v.finishing = b
	v.inv.mu.Unlock()
}

func (v *invocation) notify(index uint32, e command.Entry) {
	v.cur.Lock()
	s := v.cur.s
	v.cur.Unlock()
	if s != nil {
		s.offer(index, e)
	}
}

func (v *invocation) setStream(s *outbox) {
	v.cur.Lock()
	v.cur.s = s
	v.cur.Unlock()
}

// propose sends cmd unless the invocation was aborted: an aborted attempt must not write to the
// log any more (the state machine's checks are the second line of defence).
func (v *invocation) propose(cmd command.Command) <-chan error {
	if err := v.ctx.Err(); err != nil {
		ch := make(chan error, 1)
		ch <- context.Cause(v.ctx)
		return ch
	}
	return v.p.Propose(cmd)
}
