package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/raftlog"
)

// clusterHealth is the admin API's GET /cluster-health: the members and this node's view of
// every shard it holds a replica of (from dragonboat, through raftlog).
func (s *Server) clusterHealth() (admin.ClusterHealth, error) {
	name := s.cfg.Invoker.ClusterName
	if name == "" {
		name = discovery.DefaultClusterName
	}
	ch := admin.ClusterHealth{ClusterName: name, NodeID: s.host.NodeID(), MetadataClusterHealth: &admin.MetadataClusterHealth{Members: []uint64{}}}
	members := s.cfg.Peers // the metadata shard's members, once this node's replica knows them
	if len(members) == 0 {
		members = map[uint64]string{s.host.NodeID(): s.host.RaftAddress()}
	}
	var shards []admin.ShardHealth
	progress := s.replicaProgress()
	for _, si := range s.host.Shards() {
		sh := admin.ShardHealth{Shard: si.ShardID, Replicas: slices.Sorted(maps.Keys(si.Replicas)), Leader: si.LeaderID, Term: si.Term,
			AppliedIndex: si.AppliedIndex, LastIndex: si.LastIndex}
		if sh.Replicas == nil {
			sh.Replicas = []uint64{}
		}
		sh.PreferredLeader, _ = s.host.PreferredLeader(si.ShardID, sh.Replicas)
		sh.ReplicaProgress = shardProgress(si.ShardID, si.LeaderID, sh.Replicas, progress)
		if si.ShardID == MetadataShardID {
			ch.MetadataClusterHealth.Members = sh.Replicas
			if len(si.Replicas) > 0 {
				members = si.Replicas
			}
		} else if si.ShardID >= partition.FirstShardID {
			p := uint32(si.ShardID - partition.FirstShardID)
			sh.Partition = &p
		}
		shards = append(shards, sh)
	}
	for _, id := range slices.Sorted(maps.Keys(members)) {
		ch.Nodes = append(ch.Nodes, admin.ClusterNode{ID: id, RaftAddress: members[id]})
	}
	ch.Shards = shards
	return ch, nil
}

// replicaProgress is the applied index of every replica of every member that answers, by node
// and shard: this node's from its host, the others' from a Ping over actor remoting (asked at
// once, each bounded at a second) at the remoting address they published in the metadata shard.
func (s *Server) replicaProgress() map[uint64]map[uint64]uint64 {
	self := s.host.NodeID()
	out := map[uint64]map[uint64]uint64{self: {}}
	for _, si := range s.host.Shards() {
		out[self][si.ShardID] = si.AppliedIndex
	}
	if s.endpoint == nil {
		return out
	}
	type answer struct {
		node   uint64
		shards map[uint64]uint64
	}
	answers := make(chan answer)
	asked := 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, n := range s.registry.Nodes() {
		if n.ID == self || n.RemoteAddress == "" {
			continue
		}
		asked++
		go func() {
			pong, err := s.endpoint.Ping(ctx, n.RemoteAddress)
			if err != nil {
				answers <- answer{node: n.ID}
				return
			}
			a := answer{n.ID, map[uint64]uint64{}}
			for _, sh := range pong.Shards {
				a.shards[sh.Shard] = sh.AppliedIndex
			}
			answers <- a
		}()
	}
	for range asked {
		if a := <-answers; a.shards != nil {
			out[a.node] = a.shards
		}
	}
	return out
}

// shardProgress is each replica's progress on shardID and its lag behind leader's.
func shardProgress(shardID, leader uint64, replicas []uint64, progress map[uint64]map[uint64]uint64) []admin.ReplicaProgress {
	leaderApplied, leaderKnown := progress[leader][shardID]
	out := make([]admin.ReplicaProgress, 0, len(replicas))
	for _, id := range replicas {
		_, reachable := progress[id]
		applied, ok := progress[id][shardID]
		p := admin.ReplicaProgress{Node: id, Reachable: reachable, AppliedIndex: applied}
		if ok && leaderKnown {
			lag := leaderApplied - min(applied, leaderApplied)
			p.Lag = &lag
		}
		out = append(out, p)
	}
	return out
}

// checkJoin: an initial member is named by --peers at its --raft-addr; a node added to the
// running cluster (--join) is not among them, and holds every shard, so it joins only a cluster
// whose members hold every partition (the replication factor is the number of members).
func checkJoin(cfg Config) error {
	addr, initial := cfg.Peers[cfg.NodeID]
	switch {
	case !cfg.Join && (!initial || addr != cfg.RaftAddress):
		return fmt.Errorf("server: --peers must name this node (%d) at its --raft-addr %s (a node added to a running cluster starts with --join)", cfg.NodeID, cfg.RaftAddress)
	case cfg.Join && initial:
		return fmt.Errorf("server: --join: node %d is an initial member (in --peers); a node added to the cluster has an id never used in it", cfg.NodeID)
	case cfg.Join && cfg.ReplicationFactor != 0 && cfg.ReplicationFactor != len(cfg.Peers):
		return fmt.Errorf("server: --join with replication factor %d of %d members: a joining node holds every partition, so it joins only where every member does", cfg.ReplicationFactor, len(cfg.Peers))
	}
	return nil
}

// clusterNodes adds and removes nodes through this node's replicas (nil for a single node).
func (s *Server) clusterNodes() admin.ClusterNodes {
	if len(s.cfg.Peers) == 0 {
		return nil
	}
	if f := s.cfg.ReplicationFactor; f != 0 && f != len(s.cfg.Peers) {
		return nodeChanger{refusal: fmt.Sprintf("partitions have %d replicas on %d members: nodes are replaced only where every member holds every partition (this node cannot change the shards it holds no replica of)", f, len(s.cfg.Peers))}
	}
	return nodeChanger{h: s.host}
}

// nodeChanger changes the membership of every shard this node holds a replica of: with every
// member holding every partition (what --join requires), that is every shard of the cluster. Each
// shard's change is proposed to its leader (through this node's replica), all shards at once.
type nodeChanger struct {
	h       *raftlog.Host
	refusal string // not empty: every change is refused with it
}

// AddNode adds node id at addr to every shard it is not a member of yet.
func (c nodeChanger) AddNode(ctx context.Context, id uint64, addr string) (admin.NodeChange, error) {
	if c.refusal != "" {
		return admin.NodeChange{}, fmt.Errorf("%w: %s", admin.ErrNodeConflict, c.refusal)
	}
	if id == 0 {
		return admin.NodeChange{}, fmt.Errorf("%w: node ids start at 1", admin.ErrBadNode)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return admin.NodeChange{}, fmt.Errorf("%w: raft_address %q is not host:port", admin.ErrBadNode, addr)
	}
	shards, err := c.each(ctx, func(ctx context.Context, shard uint64, m raftlog.Membership) (bool, error) {
		if slices.Contains(m.Removed, id) {
			return false, fmt.Errorf("%w: node %d was removed from shard %d; a node id is never used again", admin.ErrNodeConflict, id, shard)
		}
		for other, a := range m.Replicas {
			if a == addr && other != id {
				return false, fmt.Errorf("%w: node %d of shard %d has the Raft address %s", admin.ErrNodeConflict, other, shard, addr)
			}
		}
		switch a, ok := m.Replicas[id]; {
		case ok && a != addr:
			return false, fmt.Errorf("%w: node %d is a member of shard %d at %s, not %s", admin.ErrNodeConflict, id, shard, a, addr)
		case ok:
			return false, nil
		}
		return true, c.h.AddReplica(ctx, shard, id, addr)
	})
	return admin.NodeChange{Node: id, RaftAddress: addr, Shards: shards}, err
}

// RemoveNode removes node id from every shard it is a member of.
func (c nodeChanger) RemoveNode(ctx context.Context, id uint64) (admin.NodeChange, error) {
	if c.refusal != "" {
		return admin.NodeChange{}, fmt.Errorf("%w: %s", admin.ErrNodeConflict, c.refusal)
	}
	if id == c.h.NodeID() {
		return admin.NodeChange{}, fmt.Errorf("%w: node %d does not remove itself; ask another node", admin.ErrNodeConflict, id)
	}
	shards, err := c.each(ctx, func(ctx context.Context, shard uint64, m raftlog.Membership) (bool, error) {
		if _, ok := m.Replicas[id]; !ok {
			return false, nil
		}
		if len(m.Replicas) == 1 {
			return false, fmt.Errorf("%w: node %d is the last member of shard %d", admin.ErrNodeConflict, id, shard)
		}
		return true, c.h.RemoveReplica(ctx, shard, id)
	})
	return admin.NodeChange{Node: id, Shards: shards}, err
}

// each reads the membership of every shard this node holds and calls change on it, all shards
// at once; it returns the shards change changed (sorted) and the first error.
func (c nodeChanger) each(ctx context.Context, change func(context.Context, uint64, raftlog.Membership) (bool, error)) ([]uint64, error) {
	infos := c.h.Shards()
	type result struct {
		shard   uint64
		changed bool
		err     error
	}
	results := make(chan result, len(infos))
	for _, si := range infos {
		go func() {
			m, err := c.h.Membership(ctx, si.ShardID)
			if err != nil {
				results <- result{shard: si.ShardID, err: err}
				return
			}
			changed, err := change(ctx, si.ShardID, m)
			results <- result{si.ShardID, changed, err}
		}()
	}
	var changed []uint64
	var errs []error
	for range infos {
		r := <-results
		if r.changed && r.err == nil {
			changed = append(changed, r.shard)
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	slices.Sort(changed)
	return changed, errors.Join(errs...)
}
