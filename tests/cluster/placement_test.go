package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// shardView is one shard of GET /cluster-health as the placement and replacement tests read it.
type shardView struct {
	Shard           uint64            `json:"shard"`
	Partition       *uint32           `json:"partition"`
	Replicas        []uint64          `json:"replicas"`
	Leader          uint64            `json:"leader"`
	Term            uint64            `json:"term"`
	PreferredLeader uint64            `json:"preferred_leader"`
	AppliedIndex    uint64            `json:"applied_index"`
	ReplicaProgress []replicaProgress `json:"replica_progress"`
}

// replicaProgress is one replica's progress as the answering node found it.
type replicaProgress struct {
	Node         uint64  `json:"node"`
	Reachable    bool    `json:"reachable"`
	AppliedIndex uint64  `json:"applied_index"`
	Lag          *uint64 `json:"lag"`
}

// healthOf reads node s's GET /cluster-health: its shards by shard id.
func healthOf(s *testenv.Server) (map[uint64]shardView, error) {
	resp, err := testenv.HTTPClient.Get(s.Admin + "/cluster-health")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ch struct {
		Shards []shardView `json:"shards"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cluster-health: %d %v", resp.StatusCode, err)
	}
	out := map[uint64]shardView{}
	for _, sh := range ch.Shards {
		out[sh.Shard] = sh
	}
	return out, nil
}

// preferredLeaders waits until every listed node sees each of the shards led by its preferred
// leader, the same on every node, and returns the leaders by shard.
func preferredLeaders(t *testing.T, what string, nodes []*testenv.Server) map[uint64]uint64 {
	t.Helper()
	var leaders map[uint64]uint64
	testenv.WaitReady(t, what, time.Minute, func() error {
		leaders = map[uint64]uint64{}
		for _, s := range nodes {
			shards, err := healthOf(s)
			if err != nil {
				return err
			}
			for id, sh := range shards {
				if sh.Leader == 0 || sh.Leader != sh.PreferredLeader {
					return fmt.Errorf("%s: shard %d led by %d, preferred %d", s.Admin, id, sh.Leader, sh.PreferredLeader)
				}
				if l, ok := leaders[id]; ok && l != sh.Leader {
					return fmt.Errorf("shard %d: leader %d here, %d elsewhere", id, sh.Leader, l)
				}
				leaders[id] = sh.Leader
			}
		}
		return nil
	})
	return leaders
}

// TestLeadersReturn: in a three-node cluster the partitions come to be led by their preferred
// leaders, which are not all one node. A node that leads partitions is SIGKILLed: the others take
// them over; restarted on its data directory, it leads them again.
func TestLeadersReturn(t *testing.T) {
	nodes := startCluster(t, 3)
	leaders := preferredLeaders(t, "every shard led by its preferred node", nodes)
	partitionLeaders := map[uint64]bool{}
	for shard, l := range leaders {
		if shard != 1 { // the metadata shard
			partitionLeaders[l] = true
		}
	}
	if len(partitionLeaders) < 2 {
		t.Fatalf("the partitions are all led by %v (leaders by shard %v)", slices.Collect(maps.Keys(partitionLeaders)), leaders)
	}
	var victim uint64
	var its []uint64
	for shard, l := range leaders {
		if shard != 1 && (victim == 0 || l == victim) {
			victim, its = l, append(its, shard)
		}
	}
	nodes[victim-1].Kill()
	live := slices.Delete(slices.Clone(nodes), int(victim-1), int(victim))
	testenv.WaitReady(t, fmt.Sprintf("node %d's partitions %v led by the others", victim, its), time.Minute, func() error {
		for _, s := range live {
			shards, err := healthOf(s)
			if err != nil {
				return err
			}
			for _, id := range its {
				if l := shards[id].Leader; l == 0 || l == victim {
					return fmt.Errorf("%s: shard %d led by %d", s.Admin, id, l)
				}
			}
		}
		return nil
	})
	nodes[victim-1].Restart()
	back := preferredLeaders(t, fmt.Sprintf("node %d leads its partitions again", victim), nodes)
	if !maps.Equal(back, leaders) {
		t.Fatalf("leaders by shard %v after node %d returned, %v before", back, victim, leaders)
	}
	t.Logf("leaders by shard %v; node %d killed and back", leaders, victim)
}
