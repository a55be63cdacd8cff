package raftlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lni/dragonboat/v4"
)

// This file holds what a cluster of nodes needs beyond a single one: membership changes for
// replacing a node, leadership, and what each node knows of its replicas for a health view.

// withDeadline gives ctx a deadline (dragonboat's synchronous requests need one).
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// membershipAttempt bounds one attempt of a membership change: a change handed to a leader that
// just died is lost, and is asked again after this long.
const membershipAttempt = time.Second

// retryMembership runs a membership change until it succeeds, fails for good, or ctx ends.
// A change dropped for want of a leader (ErrShardNotReady), refused while busy, or timed out is
// asked again (a change already applied is then rejected, or a no-op).
func retryMembership(ctx context.Context, what string, change func(context.Context) error) error {
	ctx, cancel := withDeadline(ctx, 30*time.Second)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		attempt, cancelAttempt := context.WithTimeout(ctx, membershipAttempt)
		err := change(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		if !errors.Is(err, dragonboat.ErrShardNotReady) && !errors.Is(err, dragonboat.ErrSystemBusy) &&
			!errors.Is(err, dragonboat.ErrTimeout) {
			return fmt.Errorf("raftlog: %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raftlog: %s: %w (last: %w)", what, ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

// AddReplica makes node nodeID, reachable at the Raft address addr, a member of shardID. Call it
// on a node holding a replica of the shard (the change is proposed through its leader); then
// start the new replica on node nodeID with JoinShard. A node id removed from a shard can never
// be added back to it.
// Adding a member already there with the same address succeeds (an attempt that timed out may
// have been applied: dragonboat rejects the next).
func (h *Host) AddReplica(ctx context.Context, shardID, nodeID uint64, addr string) error {
	err := retryMembership(ctx, fmt.Sprintf("add node %d (%s) to shard %d", nodeID, addr, shardID), func(ctx context.Context) error {
		return h.nh.SyncRequestAddReplica(ctx, shardID, nodeID, addr, 0)
	})
	if errors.Is(err, dragonboat.ErrRejected) {
		if m, merr := h.Membership(ctx, shardID); merr == nil && m.Replicas[nodeID] == addr {
			return nil
		}
	}
	return err
}

// RemoveReplica removes node nodeID's replica from shardID's members. Call it on a node holding
// a replica of the shard. The removed node, if it still runs, should then DropReplica.
func (h *Host) RemoveReplica(ctx context.Context, shardID, nodeID uint64) error {
	return retryMembership(ctx, fmt.Sprintf("remove node %d from shard %d", nodeID, shardID), func(ctx context.Context) error {
		return h.nh.SyncRequestDeleteReplica(ctx, shardID, nodeID, 0)
	})
}

// DropReplica stops this node's replica of shardID and deletes its Raft log and snapshots, once
// RemoveReplica took it out of the shard (doing so on a member corrupts the shard). It first
// records the drop in the host's directory, so that this node never starts the replica again
// (StartReplica and HasReplica say no, even where InitialReplicas places it). The caller closes
// and deletes the replica's database afterwards.
func (h *Host) DropReplica(ctx context.Context, shardID uint64) error {
	path := h.droppedPath(shardID)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("raftlog: record drop of shard %d: %w", shardID, err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return fmt.Errorf("raftlog: record drop of shard %d: %w", shardID, err)
	}
	if err := h.nh.StopReplica(shardID, h.replicaID); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
		return fmt.Errorf("raftlog: stop replica of shard %d: %w", shardID, err)
	}
	h.mu.Lock()
	delete(h.shards, shardID)
	h.mu.Unlock()
	ctx, cancel := withDeadline(ctx, 30*time.Second)
	defer cancel()
	if err := h.nh.SyncRemoveData(ctx, shardID, h.replicaID); err != nil {
		return fmt.Errorf("raftlog: remove data of shard %d: %w", shardID, err)
	}
	return nil
}

func (h *Host) droppedPath(shardID uint64) string {
	return filepath.Join(h.cfg.Dir, "dropped-shards", fmt.Sprint(shardID))
}

// dropped reports whether DropReplica dropped this node's replica of shardID.
func (h *Host) dropped(shardID uint64) bool {
	_, err := os.Stat(h.droppedPath(shardID))
	return err == nil
}

// Membership is a shard's membership as its log has it.
type Membership struct {
	// Replicas are the voting members: node id → Raft address.
	Replicas map[uint64]string
	// Removed are the node ids removed from the shard; they can never be added back.
	Removed []uint64
	// ConfigChangeIndex is the log index of the last membership change applied.
	ConfigChangeIndex uint64
}

// Membership reads shardID's membership through its leader (a linearizable read: it needs a
// leader, and this node to hold a replica of the shard).
func (h *Host) Membership(ctx context.Context, shardID uint64) (Membership, error) {
	ctx, cancel := withDeadline(ctx, 10*time.Second)
	defer cancel()
	m, err := h.nh.SyncGetShardMembership(ctx, shardID)
	if err != nil {
		return Membership{}, fmt.Errorf("raftlog: membership of shard %d: %w", shardID, err)
	}
	return Membership{
		Replicas:          maps.Clone(m.Nodes),
		Removed:           slices.Sorted(maps.Keys(m.Removed)),
		ConfigChangeIndex: m.ConfigChangeID,
	}, nil
}

// LeaderID returns the node id of shardID's leader as this node knows it, and whether it knows
// one. Only a node running a replica of the shard knows (ErrShardNotFound, wrapped, otherwise).
func (h *Host) LeaderID(shardID uint64) (uint64, bool, error) {
	var (
		id uint64
		ok bool
	)
	err := h.describing(shardID, func() (err error) {
		id, _, ok, err = h.nh.GetLeaderID(shardID)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("raftlog: leader of shard %d: %w", shardID, err)
	}
	return id, ok && id != 0, nil
}

// RequestLeaderTransfer asks shardID's leader to hand leadership to node nodeID's replica. It
// returns once the request is made; whether and when leadership moves shows in LeaderID and
// Config.OnLeaderUpdate. It only has an effect when called on the current leader's node.
func (h *Host) RequestLeaderTransfer(shardID, nodeID uint64) error {
	if err := h.nh.RequestLeaderTransfer(shardID, nodeID); err != nil {
		return fmt.Errorf("raftlog: transfer leadership of shard %d to node %d: %w", shardID, nodeID, err)
	}
	return nil
}

// ShardInfo is what this node knows of one of its replicas: for a cluster-health view.
// Replication lag is not something dragonboat exposes; compare the AppliedIndex of each node's
// replica with the leader's (and LastIndex, the end of this replica's log).
type ShardInfo struct {
	ShardID uint64
	// NodeID is this node (the replica's id).
	NodeID uint64
	// Replicas are the shard's voting members (node id → Raft address) as this replica knows
	// them (from the last membership change it applied).
	Replicas map[uint64]string
	// LeaderID is the leader this replica knows of (0: none) in Term.
	LeaderID, Term uint64
	// AppliedIndex is the last log index applied into this replica's database.
	AppliedIndex uint64
	// FirstIndex and LastIndex bound the entries in this replica's log; SnapshotIndex is its
	// latest snapshot.
	FirstIndex, LastIndex, SnapshotIndex uint64
	// Pending: dragonboat has no details yet (the replica has applied nothing).
	Pending bool
}

// Shards describes every replica running on this node, by shard id.
func (h *Host) Shards() []ShardInfo {
	var out []ShardInfo
	_ = h.describing(0, func() error {
		info := h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
		if info == nil { // the host is closed
			return nil
		}
		out = make([]ShardInfo, 0, len(info.ShardInfoList))
		for _, si := range info.ShardInfoList {
			out = append(out, h.shardInfo(si))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b ShardInfo) int { return cmpUint(a.ShardID, b.ShardID) })
	return out
}

// Shard describes this node's replica of shardID (ErrShardNotFound, wrapped, if none runs).
func (h *Host) Shard(shardID uint64) (out ShardInfo, err error) {
	err = h.describing(shardID, func() error {
		info := h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
		if info == nil { // the host is closed
			return fmt.Errorf("raftlog: shard %d on node %d: %w", shardID, h.replicaID, dragonboat.ErrClosed)
		}
		for _, si := range info.ShardInfoList {
			if si.ShardID == shardID {
				out = h.shardInfo(si)
				return nil
			}
		}
		return fmt.Errorf("raftlog: shard %d on node %d: %w", shardID, h.replicaID, dragonboat.ErrShardNotFound)
	})
	return out, err
}

func (h *Host) shardInfo(si dragonboat.ShardInfo) ShardInfo {
	out := ShardInfo{
		ShardID:  si.ShardID,
		NodeID:   si.ReplicaID,
		Replicas: maps.Clone(si.Replicas),
		LeaderID: si.LeaderID,
		Term:     si.Term,
		Pending:  si.Pending,
	}
	h.mu.Lock()
	dsm := h.shards[si.ShardID]
	h.mu.Unlock()
	if dsm != nil {
		out.AppliedIndex = dsm.applied.Load()
	}
	if li, err := h.logInfo(si.ShardID); err == nil { // under describing already
		out.FirstIndex, out.LastIndex, out.SnapshotIndex = li.FirstIndex, li.LastIndex, li.SnapshotIndex
	}
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
