package partition

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/actors/partition/pb"

	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/raftlog"
)

// FirstShardID is the Raft shard of partition 0; partition i is FirstShardID+i. Shards below it
// are reserved for cluster metadata.
const FirstShardID = 1000

// NodeConfig configures the partitions of this node.
type NodeConfig struct {
	DataDir    string
	Partitions int
	Host       *raftlog.Host
	Invoker    Invoker
	// MaxRestarts bounds how often the supervisor restarts a panicking partition actor within
	// RestartWindow before it gives up on it.
	MaxRestarts   int
	RestartWindow time.Duration
	// RecoverInterval is how long a partition that cannot run waits before it tries again
	// (DefaultRecoverInterval if 0); see supervision.go.
	RecoverInterval time.Duration
	// MaxQueued is each partition's admission bound (DefaultMaxQueued if 0); see admission.go.
	MaxQueued int
	// MaxCalling is each partition's bound on calls waiting (DefaultMaxCalling if 0).
	MaxCalling int
	// Remote, when set, reaches the partitions other nodes lead, and Directory finds those nodes
	// (see route.go). Without it every node must hold every partition.
	Remote    remote.Remote
	Directory Directory
	// NoLeaderWait bounds a request's wait for its partition's leader (DefaultNoLeaderWait if 0).
	NoLeaderWait time.Duration
	// Observer, if set, is told of the entries each partition proposed once applied (metrics).
	Observer Observer
}

// Node runs this node's partitions under one supervisor actor.
type Node struct {
	cfg        NodeConfig
	system     *actor.ActorSystem
	supervisor *actor.PID
	router     *Router
	dbs        []*pebble.DB
	byShard    map[uint64]*Partition
	closing    atomic.Bool
}

// NewNode creates the partitions and their actors. Route the Host's leader changes to
// OnLeaderChange, then call Start.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Partitions <= 0 {
		return nil, fmt.Errorf("partition: %d partitions", cfg.Partitions)
	}
	if cfg.MaxRestarts == 0 {
		cfg.MaxRestarts, cfg.RestartWindow = 100, time.Minute
	}
	if cfg.RecoverInterval == 0 {
		cfg.RecoverInterval = DefaultRecoverInterval
	}
	if cfg.NoLeaderWait == 0 {
		cfg.NoLeaderWait = DefaultNoLeaderWait
	}
	if cfg.Remote != nil && cfg.Directory == nil {
		return nil, fmt.Errorf("partition: remoting without a directory of nodes")
	}
	n := &Node{
		cfg:    cfg,
		system: actor.NewActorSystem(actor.WithLoggerFactory(actorLogger)),
		router: &Router{count: cfg.Partitions, parts: make([]*Partition, cfg.Partitions), remote: cfg.Remote, dir: cfg.Directory,
			self: cfg.Host.NodeID(), noLeaderWait: cfg.NoLeaderWait,
			leaders: make([]atomic.Uint64, cfg.Partitions), found: make([]atomic.Pointer[string], cfg.Partitions),
			changed: make([]atomic.Pointer[chan struct{}], cfg.Partitions)},
		byShard: map[uint64]*Partition{},
	}
	strategy := actor.NewOneForOneStrategy(cfg.MaxRestarts, cfg.RestartWindow, actor.DefaultDecider)
	sup := &supervisorActor{closing: n.closing.Load, partition: func(i uint32) *Partition {
		if int(i) < len(n.router.parts) {
			return n.router.parts[i]
		}
		return nil
	}}
	n.supervisor = n.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sup }, actor.WithSupervisor(strategy)))
	for i := 0; i < cfg.Partitions; i++ {
		if !cfg.Host.HasReplica(FirstShardID + uint64(i)) {
			if cfg.Remote == nil {
				n.closeDBs()
				return nil, fmt.Errorf("partition: partition %d has no replica on node %d, and requests cannot be routed to other nodes without remoting", i, cfg.Host.NodeID())
			}
			continue
		}
		db, err := raftlog.OpenDB(filepath.Join(cfg.DataDir, "partitions", fmt.Sprint(i)))
		if err != nil {
			n.closeDBs()
			return nil, err
		}
		n.dbs = append(n.dbs, db)
		p := newPartition(Config{ID: uint32(i), ShardID: FirstShardID + uint64(i), DB: db, Host: cfg.Host, Invoker: cfg.Invoker, Router: n.router,
			MaxQueued: cfg.MaxQueued, MaxCalling: cfg.MaxCalling, RecoverInterval: cfg.RecoverInterval, Observer: cfg.Observer}, n.system)
		n.router.parts[i] = p
		n.byShard[p.cfg.ShardID] = p
		pid, err := n.spawn(p)
		if err != nil {
			n.closeDBs()
			return nil, err
		}
		p.pid.Store(pid)
	}
	return n, nil
}

// spawn asks the supervisor to start p's actor as its child.
func (n *Node) spawn(p *Partition) (*actor.PID, error) {
	res, err := n.system.Root.RequestFuture(n.supervisor, &pb.SpawnPartition{Partition: p.cfg.ID}, 5*time.Second).Result()
	if err != nil {
		return nil, fmt.Errorf("partition: spawn actor of partition %d: %w", p.cfg.ID, err)
	}
	return res.(*actor.PID), nil
}

// Start starts the shard of every partition this node holds a replica of and waits until each
// has a leader, and each it leads has fenced off the earlier leaderships (awaitLeaderReady).
func (n *Node) Start(ctx context.Context) error {
	for _, p := range n.local() {
		if err := n.cfg.Host.StartShard(p.cfg.ShardID, p.cfg.DB, p.applier); err != nil {
			return err
		}
	}
	for _, p := range n.local() {
		if err := n.cfg.Host.WaitLeader(ctx, p.cfg.ShardID); err != nil {
			return err
		}
		for p.IsLeader() && !p.leaderReady() {
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("partition %d: waiting for its leadership's fence: %w", p.cfg.ID, ctx.Err())
			}
		}
	}
	return nil
}

// local lists the partitions this node holds a replica of.
func (n *Node) local() []*Partition {
	out := make([]*Partition, 0, len(n.router.parts))
	for _, p := range n.router.parts {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// OnLeaderChange routes dragonboat's leader events to the partitions.
func (n *Node) OnLeaderChange(shardID uint64, isLeader bool) {
	if p, ok := n.byShard[shardID]; ok {
		p.setLeader(isLeader)
	}
}

// OnLeaderUpdate records which node leads a shard (leader 0: none known), for routing.
func (n *Node) OnLeaderUpdate(shardID, leader, _ uint64) {
	if p, ok := n.byShard[shardID]; ok {
		n.router.setLeader(p.cfg.ID, leader)
	}
}

// Router returns the node's router.
func (n *Node) Router() *Router { return n.router }

// Crash makes partition i's actor panic (for supervision tests); i must be held here.
func (n *Node) Crash(i int) { n.system.Root.Send(n.router.parts[i].pid.Load(), &pb.Crash{}) }

// Close stops the partitions' goroutines and actors and closes their databases. The Host must be
// closed first, so that nothing applies to a closed database.
func (n *Node) Close() {
	n.closing.Store(true)
	for _, p := range n.local() {
		p.Close()
	}
	n.system.Root.Stop(n.supervisor)
	n.system.Shutdown()
	n.closeDBs()
}

func (n *Node) closeDBs() {
	for _, db := range n.dbs {
		if err := db.Close(); err != nil {
			slog.Warn("close partition database", "err", err)
		}
	}
	n.dbs = nil
}

// supervisorActor parents the partition actors; its strategy restarts a child that panics, and
// when the strategy gives up on one, the supervisor starts a new one later (supervision.go).
type supervisorActor struct {
	closing   func() bool
	partition func(uint32) *Partition // the node's replica of a partition (nil: none)
	parts     []*Partition            // the partitions whose actors it spawned; only its goroutine touches it
}

func (s *supervisorActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.SpawnPartition:
		p := s.partition(m.Partition)
		if p == nil {
			ctx.Respond(fmt.Errorf("partition: no replica of partition %d on this node", m.Partition))
			return
		}
		pid, err := ctx.SpawnNamed(s.props(p), partitionActorName(p))
		if err != nil {
			ctx.Respond(err)
			return
		}
		s.parts = append(s.parts, p)
		ctx.Respond(pid)
	case *actor.Terminated:
		if isPartitionActor(m.Who) {
			s.actorStopped(ctx, m.Who)
		}
	case *pb.Respawn:
		if p := s.partition(m.Partition); p != nil {
			s.respawn(ctx, p)
		}
	}
}

func (s *supervisorActor) props(p *Partition) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &partitionActor{p: p} }, actor.WithSupervisor(partsStrategy()))
}

func actorLogger(*actor.ActorSystem) *slog.Logger {
	return slog.New(slog.NewTextHandler(slogWriter{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
