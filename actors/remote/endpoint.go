package remote

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
)

// ServerName is the name of the actor that serves a node's partitions to other nodes: a request
// goes to the PID (node's remoting address, ServerName).
const ServerName = "partitions"

// DefaultTimeout bounds a request whose context has no deadline.
const DefaultTimeout = 30 * time.Second

// Config configures a node's remoting endpoint.
type Config struct {
	// Addr is the host:port to listen on (the node's --remote-addr); port 0 picks a free one.
	// The address other nodes use is Endpoint.Addr.
	Addr string
	// AdvertisedAddr, if set, is the address other nodes reach this one at (a proxy or NAT in
	// front of Addr); Endpoint.Addr returns it.
	AdvertisedAddr string
	// Local serves the requests of other nodes. It may also implement Notified.
	Local Local
	// DefaultTimeout bounds requests whose context has no deadline (DefaultTimeout if 0).
	DefaultTimeout time.Duration
	// HeartbeatInterval is how often a node that requests wait on is pinged, and each ping's
	// bound (DefaultHeartbeatInterval if 0); HeartbeatMisses unanswered in a row
	// (DefaultHeartbeatMisses if 0) fail those requests with ErrUnreachable (see heartbeat.go).
	HeartbeatInterval time.Duration
	HeartbeatMisses   int
	// ConnectRetries is how often protoactor tries to connect to a node before it declares the
	// node unreachable, 2 s apart (2 if 0).
	ConnectRetries int
	// MaxReadValue bounds the value a read of this node answers with (DefaultMaxReadValue if
	// 0); a larger one is refused with an error naming its size.
	MaxReadValue int
}

// Endpoint is a node's remoting endpoint: it serves Local to other nodes and sends requests to
// theirs. It implements Remote.
//
// Invariants: the server actor spawns one goroutine per request and counts it in wg; Close stops
// the actor before it waits for wg, so no request starts after the wait begins. A pending request
// is answered exactly once: by its response, by a failure of its node, by Close, or by its
// context (whoever removes it from mu.pending answers it).
type Endpoint struct {
	cfg     Config
	system  *actor.ActorSystem
	remote  *remote.Remote
	server  *actor.PID
	replies *actor.PID
	sub     *eventstream.Subscription
	started time.Time

	ctx    context.Context // canceled by Close: the requests being served give up
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID atomic.Uint64

	mu struct {
		sync.Mutex
		pending map[uint64]*pending
		closed  bool
	}
}

var _ Remote = (*Endpoint)(nil)

// Start starts protoactor remote on cfg.Addr and the endpoint's actors.
func Start(cfg Config) (*Endpoint, error) {
	if cfg.Local == nil {
		return nil, errors.New("remote: start: no Local")
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = DefaultTimeout
	}
	if cfg.ConnectRetries <= 0 {
		cfg.ConnectRetries = 2
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.HeartbeatMisses <= 0 {
		cfg.HeartbeatMisses = DefaultHeartbeatMisses
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("remote: start: address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("remote: start: port of %q: %w", cfg.Addr, err)
	}
	e := &Endpoint{cfg: cfg, system: actor.NewActorSystem(actor.WithLoggerFactory(quietLogger)), started: time.Now()}
	e.mu.pending = map[uint64]*pending{}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	// gRPC bounds a message at 4 MiB by default; a read of a partition's introspection rows is
	// larger (serveRead refuses one larger than MaxReadValue with an error instead).
	opts := []remote.ConfigOption{
		remote.WithDialOptions(grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))),
		remote.WithServerOptions(grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage)),
	}
	if cfg.AdvertisedAddr != "" {
		opts = append(opts, remote.WithAdvertisedHost(cfg.AdvertisedAddr))
	}
	rc := remote.Configure(host, port, opts...)
	rc.MaxRetryCount = cfg.ConnectRetries
	e.remote = remote.NewRemote(e.system, rc)
	if err := startRemote(e.remote); err != nil {
		e.system.Shutdown()
		return nil, fmt.Errorf("remote: start on %s: %w", cfg.Addr, err)
	}
	if err := e.spawnActors(); err != nil {
		e.stopRemote()
		return nil, err
	}
	e.startHeartbeats()
	return e, nil
}

// startRemote starts r, which panics when it cannot listen.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r.Start()
	return nil
}

func (e *Endpoint) spawnActors() error {
	var err error
	e.replies = e.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &replyActor{e: e} }))
	e.server, err = e.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &serverActor{e: e} }), ServerName)
	if err != nil {
		return fmt.Errorf("remote: spawn %s actor: %w", ServerName, err)
	}
	e.sub = e.system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*remote.EndpointTerminatedEvent); ok {
			e.failNode(t.Address, fmt.Errorf("%w: connection lost or refused", ErrUnreachable))
		}
	})
	return nil
}

// Addr is the endpoint's remoting address, as other nodes reach it.
func (e *Endpoint) Addr() string { return e.system.Address() }

// System is the endpoint's actor system: actors spawned on it by name are reachable from other
// nodes at (Addr, name), and their messages must be protobuf.
func (e *Endpoint) System() *actor.ActorSystem { return e.system }

// SystemID is the actor system's id, new after every start (PingResponse.system_id).
func (e *Endpoint) SystemID() string { return e.system.ID }

// Close stops serving (requests being served are canceled and answered), fails the requests
// waiting on other nodes with ErrClosed, and stops protoactor remote.
func (e *Endpoint) Close() {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return
	}
	e.mu.closed = true
	e.mu.Unlock()
	if err := e.system.Root.StopFuture(e.server).Wait(); err != nil {
		slog.Warn("remote: stop server actor", "err", err)
	}
	e.cancel()
	e.wg.Wait()
	e.failAll(ErrClosed)
	e.stopRemote()
}

func (e *Endpoint) stopRemote() {
	if e.sub != nil {
		e.system.EventStream.Unsubscribe(e.sub)
	}
	e.remote.Shutdown(true)
	e.system.Shutdown()
}

// maxMessage bounds a message between endpoints (gRPC's default is 4 MiB).
const maxMessage = 256 << 20

// DefaultMaxReadValue bounds the value a read answers with (a partition's introspection rows
// are the largest); it stays below maxMessage.
const DefaultMaxReadValue = 192 << 20
