package raftlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	// transport: no port is opened.
	RaftAddress string
	// RTT is the assumed network round trip; elections and heartbeats are multiples of it.
	RTT time.Duration
	// LogDB is the LogDB memory budget (default tiny).
	LogDB LogDBSize
	// SnapshotEntries is how often (in entries) a shard snapshots so its log can be compacted.
	SnapshotEntries uint64
	// OnLeaderChange is called from a dragonboat goroutine when a shard's leader changes.
	OnLeaderChange func(shardID uint64, isLeader bool)
}

// Host is this process's dragonboat NodeHost and the shards started on it.
type Host struct {
	nh        *dragonboat.NodeHost
	cfg       Config
	replicaID uint64
}

const singleReplicaID = 1

var loggerOnce sync.Once

// NewHost starts a NodeHost.
func NewHost(cfg Config) (*Host, error) {
	loggerOnce.Do(func() { logger.SetLoggerFactory(newQuietLogger) })
	if cfg.RTT == 0 {
		cfg.RTT = 5 * time.Millisecond
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 10000
	}
	h := &Host{cfg: cfg, replicaID: singleReplicaID}
	nhc := config.NodeHostConfig{
		NodeHostDir:       filepath.Join(cfg.Dir, "nodehost"),
		WALDir:            filepath.Join(cfg.Dir, "wal"),
		RTTMillisecond:    uint64(cfg.RTT / time.Millisecond),
		RaftAddress:       cfg.RaftAddress,
		RaftEventListener: leaderListener{h},
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
			return nil, err
		}
		nhc.RaftAddress = addr
		nhc.Expert.TransportFactory = localTransportFactory{}
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("raftlog: start node host in %s: %w", cfg.Dir, err)
	}
	h.nh = nh
	return h, nil
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

// StartShard starts (or restarts) a single-replica shard whose state lives in db.
func (h *Host) StartShard(shardID uint64, db *pebble.DB, applier Applier) error {
	rc := config.Config{
		ReplicaID:          h.replicaID,
		ShardID:            shardID,
		ElectionRTT:        20,
		HeartbeatRTT:       2,
		CheckQuorum:        true,
		SnapshotEntries:    h.cfg.SnapshotEntries,
		CompactionOverhead: h.cfg.SnapshotEntries / 2,
	}
	members := map[uint64]dragonboat.Target{h.replicaID: h.nh.RaftAddress()}
	create := func(uint64, uint64) sm.IOnDiskStateMachine {
		return &diskStateMachine{db: db, applier: applier}
	}
	if err := h.nh.StartOnDiskReplica(members, false, create, rc); err != nil {
		return fmt.Errorf("raftlog: start shard %d: %w", shardID, err)
	}
	return nil
}

// Proposal is an asynchronous proposal; Wait returns the applier's result.
type Proposal struct {
	rs  *dragonboat.RequestState
	err error
}

// Wait blocks until the proposal is applied or fails.
func (p *Proposal) Wait(ctx context.Context) ([]byte, error) {
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

// Close stops every shard and the NodeHost.
func (h *Host) Close() { h.nh.Close() }

type leaderListener struct{ h *Host }

func (l leaderListener) LeaderUpdated(info raftio.LeaderInfo) {
	if l.h.cfg.OnLeaderChange != nil {
		l.h.cfg.OnLeaderChange(info.ShardID, info.LeaderID == info.ReplicaID)
	}
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
