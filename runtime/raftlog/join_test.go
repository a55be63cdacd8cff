package raftlog

import (
	"path/filepath"
	"testing"
)

// TestJoiningNodeHoldsWhatItWasAddedTo: a node that joins (Config.Join) holds the shards every
// node holds and those SetJoinShards names, no other: it starts nothing else.
func TestJoiningNodeHoldsWhatItWasAddedTo(t *testing.T) {
	addrs := freeAddrs(t, 4)
	peers := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	dir := t.TempDir()
	h, err := NewHost(Config{Dir: filepath.Join(dir, "raft"), NodeID: 4, RaftAddress: addrs[3], Peers: peers, Join: true,
		ReplicationFactor: 2, EveryNodeShards: []uint64{1}, PlacementInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	check := func(when string, want map[uint64]bool) {
		t.Helper()
		for shard, holds := range want {
			if got := h.HasReplica(shard); got != holds {
				t.Errorf("%s: HasReplica(%d) = %v, want %v", when, shard, got, holds)
			}
		}
	}
	check("before SetJoinShards", map[uint64]bool{1: true, 1000: false, 1001: false, 1002: false})
	h.SetJoinShards([]uint64{1001})
	check("after SetJoinShards", map[uint64]bool{1: true, 1000: false, 1001: true, 1002: false})
	db, err := OpenDB(filepath.Join(dir, "1000"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if started, err := h.StartReplica(1000, db, &sumApplier{}); started || err != nil {
		t.Fatalf("StartReplica(1000) = %v, %v: started a shard the node was not added to", started, err)
	}
}
