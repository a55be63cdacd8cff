package server

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/discovery"
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
// running cluster (--join) is not among them (it joins the shards recorded for it: awaitJoin).
// Restarted on its data directory, a node that joined starts the replicas the directory holds,
// with --join or without.
func checkJoin(cfg Config) error {
	addr, initial := cfg.Peers[cfg.NodeID]
	switch {
	case !cfg.Join && !initial && joinedBefore(cfg.DataDir):
		return nil
	case !cfg.Join && (!initial || addr != cfg.RaftAddress):
		return fmt.Errorf("server: --peers must name this node (%d) at its --raft-addr %s (a node added to a running cluster starts with --join)", cfg.NodeID, cfg.RaftAddress)
	case cfg.Join && initial:
		return fmt.Errorf("server: --join: node %d is an initial member (in --peers); a node added to the cluster has an id never used in it", cfg.NodeID)
	}
	return nil
}

// joinedBefore reports whether dataDir holds a Raft log: for a node outside --peers, one that
// joined the cluster (its first start needed --join).
func joinedBefore(dataDir string) bool {
	if dataDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dataDir, "raft", "nodehost"))
	return err == nil
}
