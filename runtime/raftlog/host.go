package raftlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	chantransport "github.com/lni/dragonboat/v4/plugin/chan"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/dragonboat/v4/tools"
)

// ErrProposal is returned (wrapped) when a proposal was not applied: dropped, timed out, rejected
// or aborted by dragonboat. Whether it was applied is unknown only on timeout; callers retry with
// commands that the state machine deduplicates.
var ErrProposal = errors.New("raftlog: proposal not applied")

// LogDBSize selects dragonboat's LogDB memory budget.
type LogDBSize string

// LogDB sizes.
const (
	LogDBTiny   LogDBSize = "tiny"   // up to 256 MiB
	LogDBSmall  LogDBSize = "small"  // up to 1 GiB
	LogDBMedium LogDBSize = "medium" // up to 4 GiB
)

// Config configures a Host.
type Config struct {
	// Dir holds dragonboat's NodeHost directory (the Raft log).
	Dir string
	// RaftAddress is this node's Raft address. Empty means a single node with an in-process
	// transport (no port is opened), or, with Peers, this node's address in Peers.
	RaftAddress string
	// ListenAddress, if set, is where the Raft transport listens while RaftAddress is the address
	// other nodes dial (a proxy or NAT in front of this node); empty: it listens on RaftAddress.
	ListenAddress string
	// NodeID is this node's id, and its replica id on every shard (default 1). Node ids are never
	// reused: a node that replaces another gets a new one.
	NodeID uint64
	// Peers maps the node id of every initial member of the cluster to its Raft address
	// (host:port, TCP), the same on every node and for the cluster's whole life: shards are
	// placed on them by InitialReplicas. Empty: a single node. A node added later to replace one
	// gives the same Peers, its own NodeID (not among them) and RaftAddress: it holds only the
	// replicas added to it (AddReplica, JoinShard).
	Peers map[uint64]string
	// Join says this node was added to the running cluster after it formed (its NodeID is not
	// among Peers; AddReplica made it a member of some shards): a replica it never ran of one of
	// EveryNodeShards, or of a shard SetJoinShards names, starts as JoinShard starts it; no other.
	// Without Join, a node outside Peers starts nothing but what JoinShard starts (and, after a
	// restart, what its directory holds).
	Join bool
	// PlacementInterval is how often the placement loop checks this node's replicas and asks
	// for leadership of the shards it is the preferred leader of (placement.go): 0 means
	// DefaultPlacementInterval, a negative value switches it off. A single node has none.
	PlacementInterval time.Duration
	// ReplicationFactor is how many initial members hold a replica of each shard (default 3,
	// and never more than len(Peers)).
	ReplicationFactor int
	// EveryNodeShards are shards with a replica on every initial member whatever
	// ReplicationFactor (the metadata shard, so that every node reads it locally).
	EveryNodeShards []uint64
	// OnLeaderUpdate, if set, is called from a dragonboat goroutine when this node learns of a
	// shard's new leader (leaderID 0: none known) in term.
	OnLeaderUpdate func(shardID, leaderID, term uint64)
	// RTT is the assumed network round trip; elections and heartbeats are multiples of it.
	RTT time.Duration
	// LogDB is the LogDB memory budget (default tiny).
	LogDB LogDBSize
	// SnapshotEntries is how often (in applied entries) a shard takes a snapshot so its log can
	// be compacted (default DefaultSnapshotEntries). With on-disk state machines a snapshot taken
	// on schedule is metadata only, after a Sync of the pebble database; a full snapshot is only
	// written when streamed to a replica that lags behind the compacted log.
	SnapshotEntries uint64
	// CompactionOverhead is how many entries before a snapshot's index stay in the log when it is
	// compacted after the snapshot, so a follower slightly behind catches up from the log instead
	// of a streamed snapshot (default SnapshotEntries/2).
	CompactionOverhead uint64
	// OnLeaderChange is called from a dragonboat goroutine when a shard's leader changes.
	OnLeaderChange func(shardID uint64, isLeader bool)
	// OnEvent, if set, is called from dragonboat goroutines for snapshot and log compaction
	// events. It must not block.
	OnEvent func(Event)
}

// DefaultSnapshotEntries is the default Config.SnapshotEntries.
const DefaultSnapshotEntries = 10000

// EventKind is the kind of an Event.
type EventKind string

// Event kinds.
const (
	SnapshotCreated       EventKind = "snapshot-created"        // Index: the snapshot's index
	SnapshotRecovered     EventKind = "snapshot-recovered"      // at start or from a streamed one
	SnapshotReceived      EventKind = "snapshot-received"       // streamed from another replica
	SendSnapshotStarted   EventKind = "send-snapshot-started"   // streaming to replica From
	SendSnapshotCompleted EventKind = "send-snapshot-completed" //
	SendSnapshotAborted   EventKind = "send-snapshot-aborted"   //
	LogCompacted          EventKind = "log-compacted"           // Index: entries up to it removed
)

// Event is a snapshot or log compaction event of one replica of a shard.
type Event struct {
	Kind      EventKind
	ShardID   uint64
	ReplicaID uint64
	// Index is the snapshot's index, or the last index removed from the log.
	Index uint64
	// From is the replica a streamed snapshot came from, or goes to.
	From uint64
}

// Host is this process's dragonboat NodeHost and the shards started on it.
type Host struct {
	nh        *dragonboat.NodeHost
	cfg       Config
	replicaID uint64   // cfg.NodeID
	nodes     []uint64 // the initial members' node ids, sorted (this node alone without Peers)

	mu     sync.Mutex
	shards map[uint64]*diskStateMachine // started on this node, for ShardInfo
	joinTo []uint64                     // SetJoinShards: the shards a joining node was added to

	placer *placer // the placement loop (nil: none runs)

	// life guards the NodeHost's descriptions against Close: dragonboat's NodeHost.Close clears
	// what GetNodeHostInfo, GetLeaderID and GetLogReader read, unsynchronized, and a partition's
	// goroutines may still ask about their shard while the server shuts down. Readers hold it
	// shared for the (short, non-blocking) call; Close takes it once to set closed.
	life struct {
		sync.RWMutex
		closed bool
	}

	// For tests: the batch size of snapshot recovery (0: DefaultRecoverBatchBytes), and a hook
	// called after each recovery batch is committed.
	recoverBatchBytes int
	recoverHook       func(shardID uint64, bytes int)
}

const singleReplicaID = 1

// ErrNotReplica is returned (wrapped) by StartShard on a node that holds no replica of the shard.
var ErrNotReplica = errors.New("raftlog: no replica of the shard on this node")

var loggerOnce sync.Once

// NewHost starts a NodeHost.
func NewHost(cfg Config) (*Host, error) {
	loggerOnce.Do(func() { logger.SetLoggerFactory(newQuietLogger) })
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, replicaID: cfg.NodeID, shards: map[uint64]*diskStateMachine{}}
	if len(cfg.Peers) == 0 {
		h.nodes = []uint64{cfg.NodeID}
	} else {
		h.nodes = slices.Sorted(maps.Keys(cfg.Peers))
	}
	nhc, err := nodeHostConfig(cfg)
	if err != nil {
		return nil, err
	}
	nhc.RaftEventListener = leaderListener{h}
	if cfg.OnEvent != nil {
		nhc.SystemEventListener = eventListener{cfg.OnEvent}
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("raftlog: start node host in %s: %w", cfg.Dir, err)
	}
	h.nh = nh
	h.startPlacement()
	return h, nil
}

func (cfg *Config) setDefaults() error {
	if cfg.NodeID == 0 {
		cfg.NodeID = singleReplicaID
	}
	if cfg.ReplicationFactor == 0 {
		cfg.ReplicationFactor = 3
	}
	if cfg.ReplicationFactor < 0 {
		return fmt.Errorf("raftlog: replication factor %d", cfg.ReplicationFactor)
	}
	if cfg.Join && len(cfg.Peers) == 0 {
		return fmt.Errorf("raftlog: node %d joins a cluster, but no peers name its initial members", cfg.NodeID)
	}
	if len(cfg.Peers) > 0 {
		addr, ok := cfg.Peers[cfg.NodeID]
		switch {
		case !ok && cfg.RaftAddress == "":
			return fmt.Errorf("raftlog: node %d is not among the peers %v and has no Raft address", cfg.NodeID, cfg.Peers)
		case ok && cfg.Join:
			return fmt.Errorf("raftlog: node %d is an initial member (among the peers): it does not join", cfg.NodeID)
		case !ok:
			// A node added after the cluster formed: it holds only the replicas added to it.
			for id, a := range cfg.Peers {
				if a == cfg.RaftAddress {
					return fmt.Errorf("raftlog: node %d has the Raft address %s of peer %d", cfg.NodeID, a, id)
				}
			}
		case cfg.RaftAddress == "":
			cfg.RaftAddress = addr
		case cfg.RaftAddress != addr:
			return fmt.Errorf("raftlog: Raft address %s, but the peers give node %d %s", cfg.RaftAddress, cfg.NodeID, addr)
		}
		seen := map[string]uint64{}
		for id, a := range cfg.Peers {
			if id == 0 || a == "" {
				return fmt.Errorf("raftlog: peer %d at %q: node ids start at 1 and need an address", id, a)
			}
			if other, dup := seen[a]; dup {
				return fmt.Errorf("raftlog: peers %d and %d share the address %s", other, id, a)
			}
			seen[a] = id
		}
	}
	if cfg.RTT == 0 {
		cfg.RTT = 5 * time.Millisecond
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = DefaultSnapshotEntries
	}
	if cfg.CompactionOverhead == 0 {
		cfg.CompactionOverhead = cfg.SnapshotEntries / 2
	}
	return nil
}

// nodeHostConfig is dragonboat's configuration for cfg, without event listeners.
func nodeHostConfig(cfg Config) (config.NodeHostConfig, error) {
	nhc := config.NodeHostConfig{
		NodeHostDir:    filepath.Join(cfg.Dir, "nodehost"),
		WALDir:         filepath.Join(cfg.Dir, "wal"),
		RTTMillisecond: uint64(cfg.RTT / time.Millisecond),
		RaftAddress:    cfg.RaftAddress,
		ListenAddress:  cfg.ListenAddress,
	}
	if nhc.RTTMillisecond == 0 {
		nhc.RTTMillisecond = 1
	}
	switch cfg.LogDB {
	case LogDBSmall:
		nhc.Expert.LogDB = config.GetSmallMemLogDBConfig()
	case LogDBMedium:
		nhc.Expert.LogDB = config.GetMediumMemLogDBConfig()
	default:
		nhc.Expert.LogDB = config.GetTinyMemLogDBConfig()
	}
	if cfg.RaftAddress == "" {
		addr, err := localAddress(cfg.Dir)
		if err != nil {
			return config.NodeHostConfig{}, err
		}
		nhc.RaftAddress = addr
		nhc.Expert.TransportFactory = localTransportFactory{}
	}
	return nhc, nil
}

// localAddress returns the single-node Raft address of the data directory dir. dragonboat stores
// the address in its directory and refuses to start under another one, and the in-process
// transport keys listeners by it, so it is chosen once at random and kept in a file: the data
// directory can then be moved or named by another path.
func localAddress(dir string) (string, error) {
	path := filepath.Join(dir, "local-address")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("raftlog: read %s: %w", path, err)
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("raftlog: new local address: %w", err)
	}
	addr := "local-" + hex.EncodeToString(r[:]) + ":1"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("raftlog: create %s: %w", dir, err)
	}
	if err := os.WriteFile(path, []byte(addr+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("raftlog: write %s: %w", path, err)
	}
	return addr, nil
}

// NodeID is this node's id (its replica id on every shard).
func (h *Host) NodeID() uint64 { return h.replicaID }

// RaftAddress is this node's Raft address.
func (h *Host) RaftAddress() string { return h.nh.RaftAddress() }

// InitialReplicas returns the node ids of the initial members that hold shardID's founding
// replicas. Placement is a pure function of the sorted node ids of Config.Peers: with n members
// and f = min(ReplicationFactor, n) (n for Config.EveryNodeShards), the replicas of shard s are
// the members at positions (s+i) mod n, i < f. Consecutive shards thus start on consecutive
// members, and the first of each list (its preferred leader) spreads over the members. A single
// node holds every shard.
func (h *Host) InitialReplicas(shardID uint64) []uint64 {
	f := h.cfg.ReplicationFactor
	if slices.Contains(h.cfg.EveryNodeShards, shardID) {
		f = len(h.nodes)
	}
	return placement(h.nodes, shardID, f)
}

func placement(nodes []uint64, shardID uint64, factor int) []uint64 {
	n := uint64(len(nodes))
	f := min(uint64(factor), n)
	out := make([]uint64, 0, f)
	for i := range f {
		out = append(out, nodes[(shardID+i)%n])
	}
	return out
}

// HasReplica reports whether this node holds a replica of shardID: one it started before (its
// Raft log is in this node's directory), or one InitialReplicas places on it, or, on a node that
// joins (Config.Join), one of Config.EveryNodeShards or of the shards SetJoinShards named, unless
// DropReplica dropped it.
func (h *Host) HasReplica(shardID uint64) bool {
	if len(h.cfg.Peers) > 0 && h.dropped(shardID) {
		return false
	}
	return h.joins(shardID) || h.nh.HasNodeInfo(shardID, h.replicaID) || slices.Contains(h.InitialReplicas(shardID), h.replicaID)
}

// SetJoinShards names the shards (besides Config.EveryNodeShards) a joining node (Config.Join)
// was added to, as recorded where the node was added; call it before starting them. A node that
// does not join ignores it.
func (h *Host) SetJoinShards(shards []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.joinTo = slices.Clone(shards)
}

// joins reports whether shardID's replica on this node, if it never ran, starts by joining the
// running shard: this node joins (Config.Join) and the shard is one every node holds or one
// SetJoinShards named.
func (h *Host) joins(shardID uint64) bool {
	if !h.cfg.Join {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.cfg.EveryNodeShards, shardID) || slices.Contains(h.joinTo, shardID)
}

// StartShard starts this node's replica of shardID (StartReplica), and fails with ErrNotReplica
// if this node holds none. A single node holds every shard.
func (h *Host) StartShard(shardID uint64, db *pebble.DB, applier Applier) error {
	ok, err := h.StartReplica(shardID, db, applier)
	if err == nil && !ok {
		err = fmt.Errorf("%w: shard %d on node %d (replicas %v)", ErrNotReplica, shardID, h.replicaID, h.InitialReplicas(shardID))
	}
	return err
}

// StartReplica starts this node's replica of shardID, whose state lives in db, and reports
// whether it did. A replica this node ran before restarts from its own log, with the members its
// log records (rejoining the shard); otherwise, if InitialReplicas places one here, it starts as a
// founding member with the initial replicas; on a node that joins (Config.Join), one of
// Config.EveryNodeShards or of the shards SetJoinShards named starts as JoinShard starts it;
// otherwise (or once DropReplica dropped it) nothing starts. A replica added to a running shard
// by AddReplica starts with JoinShard.
func (h *Host) StartReplica(shardID uint64, db *pebble.DB, applier Applier) (bool, error) {
	if len(h.cfg.Peers) > 0 && h.dropped(shardID) {
		return false, nil
	}
	if h.nh.HasNodeInfo(shardID, h.replicaID) {
		return true, h.startReplica(shardID, nil, false, db, applier)
	}
	if h.joins(shardID) {
		return true, h.JoinShard(shardID, db, applier)
	}
	replicas := h.InitialReplicas(shardID)
	if !slices.Contains(replicas, h.replicaID) {
		return false, nil
	}
	members := make(map[uint64]dragonboat.Target, len(replicas))
	for _, id := range replicas {
		if len(h.cfg.Peers) == 0 {
			members[id] = h.nh.RaftAddress()
		} else {
			members[id] = h.cfg.Peers[id]
		}
	}
	return true, h.startReplica(shardID, members, false, db, applier)
}

// JoinShard starts this node's replica of shardID after AddReplica made it a member of the
// running shard: it catches up from the leader's log or, when the log was compacted, from a
// snapshot streamed into db. db must be empty the first time (a restart on it rejoins as
// StartReplica does).
func (h *Host) JoinShard(shardID uint64, db *pebble.DB, applier Applier) error {
	if !h.nh.HasNodeInfo(shardID, h.replicaID) {
		idx, err := appliedIndex(db)
		if err != nil {
			return err
		}
		if idx != 0 {
			return fmt.Errorf("raftlog: join shard %d: its database already applied up to %d, want an empty one", shardID, idx)
		}
	}
	return h.startReplica(shardID, nil, true, db, applier)
}

// startReplica starts this host's replica of shardID: a founding member of members, or (join) a
// replica added to a running shard, which catches up from the leader's log or a streamed snapshot.
func (h *Host) startReplica(shardID uint64, members map[uint64]dragonboat.Target, join bool, db *pebble.DB, applier Applier) error {
	rc := config.Config{
		ReplicaID:          h.replicaID,
		ShardID:            shardID,
		ElectionRTT:        20,
		HeartbeatRTT:       2,
		CheckQuorum:        true,
		PreVote:            true, // a node back from a partition or a restart does not depose a working leader
		SnapshotEntries:    h.cfg.SnapshotEntries,
		CompactionOverhead: h.cfg.CompactionOverhead,
	}
	dsm := &diskStateMachine{db: db, applier: applier, recoverBatchBytes: h.recoverBatchBytes}
	if hook := h.recoverHook; hook != nil {
		dsm.onRecoverBatch = func(n int) { hook(shardID, n) }
	}
	create := func(uint64, uint64) sm.IOnDiskStateMachine { return dsm }
	if h.nh.HasNodeInfo(shardID, h.replicaID) {
		// A restart: dragonboat knows the members, and refuses any for a replica that joined
		// (as one rebuilt by ImportSnapshot is recorded).
		members, join = nil, false
	}
	if err := h.nh.StartOnDiskReplica(members, join, create, rc); err != nil {
		return fmt.Errorf("raftlog: start shard %d: %w", shardID, err)
	}
	h.mu.Lock()
	h.shards[shardID] = dsm
	h.mu.Unlock()
	return nil
}

// ExportSnapshot writes a full snapshot of shardID (every key of its database, as streamed to a
// replica) into a new directory under dir, which must exist, and returns that directory: the
// srcDir of ImportSnapshot. A request made while another snapshot is being saved is asked again
// until ctx ends (default one minute).
func (h *Host) ExportSnapshot(ctx context.Context, shardID uint64, dir string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	// dragonboat rejects a request that arrives while another snapshot of the shard is being
	// saved (an automatic one every SnapshotEntries entries): wait for it and ask again.
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		idx, err := h.nh.SyncRequestSnapshot(ctx, shardID, dragonboat.SnapshotOption{Exported: true, ExportPath: dir})
		if err == nil {
			return filepath.Join(dir, fmt.Sprintf("snapshot-%016X", idx)), nil
		}
		if !errors.Is(err, dragonboat.ErrRejected) {
			return "", fmt.Errorf("raftlog: export snapshot of shard %d: %w", shardID, err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("raftlog: export snapshot of shard %d: rejected while other snapshots were taken until %w", shardID, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// ImportSnapshot makes the exported snapshot in srcDir the whole history of its shard on the
// single node configured by cfg, which must not be running and must have the Raft address the
// snapshot was taken under (for a single node: the data directory's local-address file). When the
// shard next starts, its database, whatever it holds, is replaced by the snapshot's keys.
func ImportSnapshot(cfg Config, srcDir string) error {
	loggerOnce.Do(func() { logger.SetLoggerFactory(newQuietLogger) })
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	nhc, err := nodeHostConfig(cfg)
	if err != nil {
		return err
	}
	members := map[uint64]string{cfg.NodeID: nhc.RaftAddress}
	if err := tools.ImportSnapshot(nhc, srcDir, members, cfg.NodeID); err != nil {
		return fmt.Errorf("raftlog: import snapshot %s: %w", srcDir, err)
	}
	return nil
}

// LogInfo describes a shard's Raft log on this node.
type LogInfo struct {
	// FirstIndex and LastIndex bound the entries still in the log: entries below FirstIndex were
	// compacted away.
	FirstIndex, LastIndex uint64
	// SnapshotIndex is the index of the latest snapshot (0: none yet).
	SnapshotIndex uint64
}

// LogInfo reports the range of shardID's log and its latest snapshot.
func (h *Host) LogInfo(shardID uint64) (li LogInfo, err error) {
	err = h.describing(shardID, func() error {
		li, err = h.logInfo(shardID)
		return err
	})
	return li, err
}

// describing runs f, which reads the NodeHost's description of its shards, unless the host is
// closed (dragonboat.ErrClosed, wrapped); Close waits for it.
func (h *Host) describing(shardID uint64, f func() error) error {
	h.life.RLock()
	defer h.life.RUnlock()
	if h.life.closed {
		return fmt.Errorf("raftlog: shard %d on node %d: %w", shardID, h.replicaID, dragonboat.ErrClosed)
	}
	return f()
}

func (h *Host) logInfo(shardID uint64) (LogInfo, error) {
	r, err := h.nh.GetLogReader(shardID)
	if err != nil {
		return LogInfo{}, fmt.Errorf("raftlog: log of shard %d: %w", shardID, err)
	}
	first, last := r.GetRange()
	return LogInfo{FirstIndex: first, LastIndex: last, SnapshotIndex: r.Snapshot().Index}, nil
}

// Snapshot takes a snapshot of shardID now and compacts its log up to the snapshot's index less
// compactionOverhead; it returns the snapshot's index. dragonboat rejects the request when a
// snapshot was already requested at the current applied index (also one it then skipped because
// another was being taken): try again after the next entry.
func (h *Host) Snapshot(ctx context.Context, shardID uint64, compactionOverhead uint64) (uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	opt := dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: compactionOverhead}
	idx, err := h.nh.SyncRequestSnapshot(ctx, shardID, opt)
	if err != nil {
		return 0, fmt.Errorf("raftlog: snapshot of shard %d: %w", shardID, err)
	}
	return idx, nil
}

// Proposal is an asynchronous proposal; Wait returns the applier's result.
type Proposal struct {
	rs  *dragonboat.RequestState
	err error
}

// Wait blocks until the proposal is applied or fails.
func (p *Proposal) Wait(ctx context.Context) ([]byte, error) { return p.WaitOr(ctx, nil) }

// ErrAbandoned is returned by WaitOr when its caller stopped waiting (abort closed): the entry's
// outcome is unknown.
var ErrAbandoned = fmt.Errorf("%w: no longer waited for", ErrProposal)

// WaitOr is Wait that also stops waiting once abort is closed (ErrAbandoned).
func (p *Proposal) WaitOr(ctx context.Context, abort <-chan struct{}) ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	defer p.rs.Release()
	select {
	case r := <-p.rs.ResultC():
		if r.Completed() {
			return r.GetResult().Data, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrProposal, describe(r))
	case <-abort:
		return nil, ErrAbandoned
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrProposal, ctx.Err())
	}
}

func describe(r dragonboat.RequestResult) string {
	switch {
	case r.Timeout():
		return "timeout"
	case r.Terminated():
		return "shard closed"
	case r.Rejected():
		return "rejected"
	case r.Dropped():
		return "dropped (no leader)"
	case r.Aborted():
		return "aborted"
	}
	return "unknown outcome"
}

// ProposeAsync starts a proposal of data to shard. Proposals made from one goroutine are appended
// in the order made.
func (h *Host) ProposeAsync(shardID uint64, data []byte, timeout time.Duration) *Proposal {
	rs, err := h.nh.Propose(h.nh.GetNoOPSession(shardID), data, timeout)
	if err != nil {
		return &Proposal{err: fmt.Errorf("%w: %w", ErrProposal, err)}
	}
	return &Proposal{rs: rs}
}

// Propose proposes data and waits for the result.
func (h *Host) Propose(ctx context.Context, shardID uint64, data []byte) ([]byte, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	return h.ProposeAsync(shardID, data, timeout).Wait(ctx)
}

// WaitLeader blocks until shard has a leader (single node: this one).
func (h *Host) WaitLeader(ctx context.Context, shardID uint64) error {
	for {
		_, _, ok, err := h.nh.GetLeaderID(shardID)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raftlog: shard %d has no leader: %w", shardID, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close stops the placement loop, every shard and the NodeHost.
func (h *Host) Close() {
	h.stopPlacement()
	h.life.Lock()
	h.life.closed = true
	h.life.Unlock()
	h.nh.Close()
}

type leaderListener struct{ h *Host }

func (l leaderListener) LeaderUpdated(info raftio.LeaderInfo) {
	if l.h.cfg.OnLeaderUpdate != nil {
		l.h.cfg.OnLeaderUpdate(info.ShardID, info.LeaderID, info.Term)
	}
	if l.h.cfg.OnLeaderChange != nil {
		l.h.cfg.OnLeaderChange(info.ShardID, info.LeaderID == info.ReplicaID)
	}
}

// eventListener forwards dragonboat's snapshot and compaction events to Config.OnEvent.
type eventListener struct{ f func(Event) }

func (l eventListener) snapshot(k EventKind, i raftio.SnapshotInfo) {
	l.f(Event{Kind: k, ShardID: i.ShardID, ReplicaID: i.ReplicaID, Index: i.Index, From: i.From})
}

func (eventListener) NodeHostShuttingDown()                       {}
func (eventListener) NodeUnloaded(raftio.NodeInfo)                {}
func (eventListener) NodeDeleted(raftio.NodeInfo)                 {}
func (eventListener) NodeReady(raftio.NodeInfo)                   {}
func (eventListener) MembershipChanged(raftio.NodeInfo)           {}
func (eventListener) ConnectionEstablished(raftio.ConnectionInfo) {}
func (eventListener) ConnectionFailed(raftio.ConnectionInfo)      {}
func (eventListener) SnapshotCompacted(raftio.SnapshotInfo)       {}
func (eventListener) LogDBCompacted(raftio.EntryInfo)             {}
func (l eventListener) SendSnapshotStarted(i raftio.SnapshotInfo) {
	l.snapshot(SendSnapshotStarted, i)
}
func (l eventListener) SendSnapshotCompleted(i raftio.SnapshotInfo) {
	l.snapshot(SendSnapshotCompleted, i)
}
func (l eventListener) SendSnapshotAborted(i raftio.SnapshotInfo) {
	l.snapshot(SendSnapshotAborted, i)
}
func (l eventListener) SnapshotReceived(i raftio.SnapshotInfo) { l.snapshot(SnapshotReceived, i) }
func (l eventListener) SnapshotRecovered(i raftio.SnapshotInfo) {
	if i.Index > 0 { // dragonboat reports a start without a snapshot as a recovery at index 0
		l.snapshot(SnapshotRecovered, i)
	}
}
func (l eventListener) SnapshotCreated(i raftio.SnapshotInfo) { l.snapshot(SnapshotCreated, i) }
func (l eventListener) LogCompacted(i raftio.EntryInfo) {
	l.f(Event{Kind: LogCompacted, ShardID: i.ShardID, ReplicaID: i.ReplicaID, Index: i.Index})
}

// localTransportFactory is dragonboat's in-process channel transport with address validation
// that accepts our synthetic single-node addresses.
type localTransportFactory struct{}

func (localTransportFactory) Create(nhc config.NodeHostConfig, mh raftio.MessageHandler, ch raftio.ChunkHandler) raftio.ITransport {
	return chantransport.NewChanTransport(nhc, mh, ch)
}

func (localTransportFactory) Validate(string) bool { return true }

// quietLogger forwards dragonboat's errors to slog, warnings at debug level, and drops the rest.
type quietLogger struct{ pkg string }

func newQuietLogger(pkg string) logger.ILogger { return &quietLogger{pkg: pkg} }

func (q *quietLogger) SetLevel(logger.LogLevel) {}
func (q *quietLogger) Debugf(string, ...any)    {}
func (q *quietLogger) Infof(string, ...any)     {}
func (q *quietLogger) Warningf(f string, a ...any) {
	// dragonboat reports routine elections as warnings; keep them at debug level.
	slog.Debug(fmt.Sprintf(f, a...), "component", "dragonboat/"+q.pkg)
}
func (q *quietLogger) Errorf(f string, a ...any) {
	slog.Error(fmt.Sprintf(f, a...), "component", "dragonboat/"+q.pkg)
}
func (q *quietLogger) Panicf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
