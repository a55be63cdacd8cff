package server

import (
	"maps"
	"slices"

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
	peers := s.cfg.Peers
	if len(peers) == 0 {
		peers = map[uint64]string{s.host.NodeID(): s.host.RaftAddress()}
	}
	for _, id := range slices.Sorted(maps.Keys(peers)) {
		ch.Nodes = append(ch.Nodes, admin.ClusterNode{ID: id, RaftAddress: peers[id]})
	}
	for _, si := range s.host.Shards() {
		sh := admin.ShardHealth{Shard: si.ShardID, Replicas: slices.Sorted(maps.Keys(si.Replicas)), Leader: si.LeaderID, Term: si.Term,
			AppliedIndex: si.AppliedIndex, LastIndex: si.LastIndex}
		if sh.Replicas == nil {
			sh.Replicas = []uint64{}
		}
		if si.ShardID == MetadataShardID {
			ch.MetadataClusterHealth.Members = sh.Replicas
		} else if si.ShardID >= partition.FirstShardID {
			p := uint32(si.ShardID - partition.FirstShardID)
			sh.Partition = &p
		}
		ch.Shards = append(ch.Shards, sh)
	}
	return ch, nil
}
