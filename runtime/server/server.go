package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ingest"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/metrics"
	"github.com/resolute-run/resolute/runtime/pgwire"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/tracing"
	"github.com/resolute-run/resolute/runtime/transport"
)

// MetadataShardID is the Raft shard holding the registry.
const MetadataShardID = 1

// Config configures a node.
type Config struct {
	// DataDir holds the Raft log and every pebble database.
	DataDir string
	// IngressAddr and AdminAddr are the listen addresses ("127.0.0.1:0" picks a free port).
	IngressAddr string
	AdminAddr   string
	// Partitions is the number of partitions; fixed when the data directory is created.
	Partitions int
	// RaftAddress is empty for a single node (no Raft port is opened). It is the address the
	// other nodes dial; RaftListenAddress, if set, is where this node listens (a proxy or NAT in
	// between).
	RaftAddress, RaftListenAddress string
	// RemoteAddress, if set, is this node's actor-remoting address (actors/remote), published in
	// the metadata shard: requests for partitions led by other nodes go to them, so a partition
	// need not have a replica on every node. RemoteListenAddress is as RaftListenAddress.
	RemoteAddress, RemoteListenAddress string
	// NodeID, Peers and ReplicationFactor form a cluster (raftlog.Config): Peers names the initial
	// members by their Raft addresses (this node included), the same on every node; empty means the
	// single node of today. ReplicationFactor is the replicas of each partition (default: every
	// member); below the number of members it needs RemoteAddress.
	NodeID            uint64
	Peers             map[uint64]string
	ReplicationFactor int
	// Join starts a node added to the running cluster (POST /cluster/nodes on a member) instead
	// of an initial member: its NodeID is not among Peers, and its replicas of the shards
	// recorded for it in the metadata shard are rebuilt from the others (raftlog.Config.Join).
	Join bool
	// LogDB selects dragonboat's memory budget.
	LogDB raftlog.LogDBSize
	// SnapshotEntries is how often (in entries) each shard snapshots so its log can be compacted,
	// and CompactionOverhead how many entries before a snapshot stay in the log; 0 means
	// raftlog's defaults (10,000 and half the interval).
	SnapshotEntries, CompactionOverhead uint64
	// MaxBodySize bounds ingress request bodies (bytes).
	MaxBodySize int64
	// Invoker tunes retries, timeouts and the protocol version limit.
	Invoker invoker.Config
	// AdminTokens and IngressTokens, when not empty, are the bearer tokens each API accepts
	// (several, so they can be rotated); a request without one gets 401. Health stays open.
	AdminTokens, IngressTokens []string
	// RequestIdentityKeyFile, when set, is a PEM file with an Ed25519 private key that signs every
	// request to a deployment, as restate-server's request identity (runtime/identity).
	RequestIdentityKeyFile string
	// MaxQueuedProposals is each partition's admission bound: above it the ingress refuses new
	// work with 429 (0: partition.DefaultMaxQueued).
	MaxQueuedProposals int
	// MaxCallsInFlight is each partition's bound on ingress calls waiting for their invocations:
	// above it new calls get 429 (0: partition.DefaultMaxCalling).
	MaxCallsInFlight int
	// KafkaClusters are the configuration file's [[ingress.kafka-clusters]], recorded in the
	// metadata shard at start (recordKafkaClusters); nil: no configuration file, nothing recorded.
	KafkaClusters []registry.KafkaCluster
	// PgAddr, when set, is where the introspection SQL is served over the PostgreSQL wire
	// protocol (runtime/pgwire), as earlier restate-server releases' admin.query-engine.
	// pgsql-bind-address; empty: off.
	PgAddr string
	// TracingEndpoint, when set, is the OTLP collector invocation spans are exported to, as
	// restate-server's tracing-endpoint (see runtime/tracing and docs/tracing.md); empty: off.
	TracingEndpoint string
}

// Server is a running node.
type Server struct {
	cfg      Config
	host     *raftlog.Host
	metaDB   *pebble.DB
	registry *registry.Registry
	node     *partition.Node
	invoker  *invoker.Invoker
	inproc   *transport.InProcess
	client   *http.Client
	endpoint *remote.Endpoint // nil without RemoteAddress
	ingest   *ingest.Manager  // the Kafka subscriptions' consumers
	served   servedLocal
	metrics  *metrics.Metrics   // GET /metrics on the admin address (metrics.go)
	tracer   *tracing.Tracer    // nil when tracing is off
	query    *introspect.Engine // POST /query (introspect.go); nil if it did not start
	// started is set once Start has done everything (the configuration's Kafka clusters
	// recorded, the node published): the health endpoints answer 503 until then.
	started atomic.Bool
	pg      *pgwire.Server // the SQL on the PostgreSQL wire (pgwire.go); nil when off

	ingressLn, adminLn net.Listener
	ingressSrv         *http.Server
	adminSrv           *http.Server
	wg                 sync.WaitGroup
	closeOnce          sync.Once
}

// Start opens (or creates) the data directory and starts serving.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Partitions == 0 {
		cfg.Partitions = 8
	}
	if err := checkPartitionCount(cfg.DataDir, cfg.Partitions); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, inproc: transport.NewInProcess()}
	s.client = transport.NewClient(transport.Config{InProcess: s.inproc})
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := s.maybeSignRequests(); err != nil {
		return nil, err
	}
	var node atomic.Pointer[partition.Node]
	if err := checkCluster(cfg); err != nil {
		return nil, err
	}
	factor := cfg.ReplicationFactor
	if factor == 0 {
		factor = len(cfg.Peers)
	}
	host, err := raftlog.NewHost(raftlog.Config{
		Dir:                filepath.Join(cfg.DataDir, "raft"),
		RaftAddress:        cfg.RaftAddress,
		ListenAddress:      cfg.RaftListenAddress,
		NodeID:             cfg.NodeID,
		Peers:              cfg.Peers,
		Join:               cfg.Join,
		ReplicationFactor:  factor,
		EveryNodeShards:    []uint64{MetadataShardID},
		LogDB:              cfg.LogDB,
		SnapshotEntries:    cfg.SnapshotEntries,
		CompactionOverhead: cfg.CompactionOverhead,
		OnLeaderChange: func(shard uint64, isLeader bool) {
			if n := node.Load(); n != nil {
				n.OnLeaderChange(shard, isLeader)
			}
		},
		OnLeaderUpdate: func(shard, leader, term uint64) {
			if n := node.Load(); n != nil {
				n.OnLeaderUpdate(shard, leader, term)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	s.host = host
	if s.metaDB, err = raftlog.OpenDB(filepath.Join(cfg.DataDir, "metadata")); err != nil {
		return nil, err
	}
	if s.registry, err = registry.New(s.metaDB); err != nil {
		return nil, fmt.Errorf("server: open registry: %w", err)
	}
	if err := host.StartShard(MetadataShardID, s.metaDB, s.registry); err != nil {
		return nil, err
	}
	if err := host.WaitLeader(ctx, MetadataShardID); err != nil {
		return nil, err
	}
	if cfg.Join { // the shards this node was added to are recorded in the metadata shard
		if err := s.awaitJoin(ctx); err != nil {
			return nil, err
		}
	}
	s.metrics = s.newMetrics()
	if s.tracer, err = tracing.New(ctx, tracing.Config{Endpoint: cfg.TracingEndpoint, InstanceID: fmt.Sprint(host.NodeID())}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.invoker = invoker.New(s.invokerConfig(), resolver{s.registry}, s.client)
	ncfg := partition.NodeConfig{DataDir: cfg.DataDir, Partitions: cfg.Partitions, Host: host, Invoker: s.invoker, MaxQueued: cfg.MaxQueuedProposals, MaxCalling: cfg.MaxCallsInFlight, Observer: s.metrics}
	if cfg.RemoteAddress != "" {
		s.served.host = host
		listen := cmp.Or(cfg.RemoteListenAddress, cfg.RemoteAddress)
		advertised := ""
		if cfg.RemoteListenAddress != "" {
			advertised = cfg.RemoteAddress
		}
		if s.endpoint, err = remote.Start(remote.Config{Addr: listen, AdvertisedAddr: advertised, Local: &s.served}); err != nil {
			return nil, fmt.Errorf("server: start remoting: %w", err)
		}
		ncfg.Remote, ncfg.Directory = s.endpoint, nodeDirectory{reg: s.registry, self: host.NodeID()}
	}
	n, err := partition.NewNode(ncfg)
	if err != nil {
		return nil, err
	}
	s.node = n
	node.Store(n)
	rl := n.RemoteLocal()
	s.served.p.Store(&rl)
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if len(cfg.Peers) > 0 {
		if err := s.publishNode(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.recordKafkaClusters(ctx); err != nil {
		return nil, err
	}
	s.ingest = ingest.StartManager(ingest.ManagerConfig{Registry: s.registry, Log: s.node.Router(), NodeID: host.NodeID(), Tracer: s.tracer})
	s.started.Store(true)
	ok = true
	return s, nil
}

// checkCluster refuses a cluster configuration this node cannot serve: without remoting, every
// node must hold every partition.
func checkCluster(cfg Config) error {
	if len(cfg.Peers) == 0 {
		return nil
	}
	if cfg.RaftAddress == "" {
		return fmt.Errorf("server: a cluster member needs its Raft address (--raft-addr)")
	}
	if err := checkJoin(cfg); err != nil {
		return err
	}
	f := cfg.ReplicationFactor
	switch {
	case f < 0 || f > len(cfg.Peers):
		return fmt.Errorf("server: replication factor %d with %d peers: between 1 and the number of peers", f, len(cfg.Peers))
	case f != 0 && f != len(cfg.Peers) && cfg.RemoteAddress == "":
		return fmt.Errorf("server: replication factor %d with %d peers needs --remote-addr: a node must reach the partitions it holds no replica of (or use %d)", f, len(cfg.Peers), len(cfg.Peers))
	}
	return nil
}

// checkPartitionCount refuses to reopen a data directory with a different partition count:
// invocations would be routed to partitions that do not hold them.
func checkPartitionCount(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("server: create data dir: %w", err)
	}
	path := filepath.Join(dir, "partitions.count")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte(fmt.Sprint(n)), 0o644)
	}
	if err != nil {
		return fmt.Errorf("server: read %s: %w", path, err)
	}
	var stored int
	if _, err := fmt.Sscan(string(data), &stored); err != nil {
		return fmt.Errorf("server: bad %s: %w", path, err)
	}
	if stored != n {
		return fmt.Errorf("server: data dir %s was created with %d partitions, not %d", dir, stored, n)
	}
	return nil
}

func (s *Server) listen() error {
	var err error
	if s.ingressLn, err = net.Listen("tcp", s.cfg.IngressAddr); err != nil {
		return fmt.Errorf("server: ingress listen on %s: %w", s.cfg.IngressAddr, err)
	}
	if s.adminLn, err = net.Listen("tcp", s.cfg.AdminAddr); err != nil {
		return fmt.Errorf("server: admin listen on %s: %w", s.cfg.AdminAddr, err)
	}
	ing, err := s.guardIngress(s.withHealth("/restate/health", ingress.New(ingress.Config{MaxBodySize: s.cfg.MaxBodySize, Observer: s.metrics, Tracer: s.tracer}, s.registry, s.node.Router())))
	if err != nil {
		return err
	}
	adm, err := s.guardAdmin(s.withHealth("/health", s.withMetrics(s.adminHandler())))
	if err != nil {
		return err
	}
	s.ingressSrv = &http.Server{Handler: h2c.NewHandler(ingress.CORS(ing), &http2.Server{}), ReadHeaderTimeout: 10 * time.Second}
	s.adminSrv = &http.Server{Handler: adm, ReadHeaderTimeout: 10 * time.Second}
	s.serve(s.ingressSrv, s.ingressLn)
	s.serve(s.adminSrv, s.adminLn)
	return s.listenPg()
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("http server stopped", "addr", ln.Addr(), "err", err)
		}
	}()
}

// IngressURL is the base URL of the ingress API.
func (s *Server) IngressURL() string { return "http://" + s.ingressLn.Addr().String() }

// AdminURL is the base URL of the admin API.
func (s *Server) AdminURL() string { return "http://" + s.adminLn.Addr().String() }

// Registry is the node's registry view.
func (s *Server) Registry() *registry.Registry { return s.registry }

// RaftHost is the node's dragonboat host (to inspect logs and snapshots).
func (s *Server) RaftHost() *raftlog.Host { return s.host }

// Node is the node's partitions.
func (s *Server) Node() *partition.Node { return s.node }

// Register runs discovery against uri and registers the deployment's services.
func (s *Server) Register(ctx context.Context, uri string, force bool) (registry.RegisterResult, error) {
	m, err := discovery.Discover(ctx, s.client, uri, nil)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return s.registryClient().Register(ctx, registry.RegisterRequest{URI: uri, Force: force, Manifest: m})
}

func (s *Server) registryClient() registry.Client {
	return registry.Client{Propose: func(ctx context.Context, data []byte) ([]byte, error) {
		return s.host.Propose(ctx, MetadataShardID, data)
	}}
}

// RegisterInProcess serves h (an SDK endpoint) inside this process as inproc://name/ and
// registers it.
func (s *Server) RegisterInProcess(ctx context.Context, name string, h http.Handler) error {
	s.inproc.Register(name, h)
	if _, err := s.Register(ctx, transport.SchemeInProcess+"://"+name+"/", true); err != nil {
		return fmt.Errorf("server: register in-process deployment %s: %w", name, err)
	}
	return nil
}

// Close stops serving and releases everything, in reverse start order.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range []*http.Server{s.ingressSrv, s.adminSrv} {
			if srv != nil {
				srv.Shutdown(ctx)
			}
		}
		s.wg.Wait()
		s.closePg()
		if s.ingest != nil {
			s.ingest.Close()
		}
		if s.query != nil {
			s.query.Close()
		}
		if s.invoker != nil {
			s.invoker.Close()
		}
		if err := s.tracer.Close(ctx); err != nil {
			slog.Warn("tracing: spans not exported at close", "err", err)
		}
		if s.endpoint != nil {
			s.endpoint.Close()
		}
		if s.host != nil {
			s.host.Close()
		}
		if s.node != nil {
			s.node.Close()
		}
		if s.metaDB != nil {
			s.metaDB.Close()
		}
		s.inproc.Close()
	})
}
