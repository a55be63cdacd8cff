package cluster

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestReplaceNodeFewerReplicas: four nodes hold each partition three times
// (--replication-factor 3), so no node holds every shard. Node 3 is SIGKILLed; DELETE
// /cluster/nodes/3 through node 1 removes it from every shard it held, node 1's and the one only
// nodes 2 and 4 hold; POST /cluster/nodes through node 2 adds node 5 to exactly those shards (the
// ones left with two replicas), and node 5, started with --join, joins them alone. Then every
// partition shard has three replicas again, node 1 reaches node 5 over remoting, node 5 comes to
// lead the shard node 3 preferred (calls entering elsewhere are routed to it); node 5, restarted without --join, starts the same
// replicas from its directory; node 4 is SIGKILLed too (so the shards it shared with node 5 need
// node 5 for a quorum), and in the end every key's count is its number of rounds: no
// acknowledged call lost, none counted twice.
func TestReplaceNodeFewerReplicas(t *testing.T) {
	nodes := startCluster(t, 4, "--replication-factor", "3", "--snapshot-entries", "20")
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, countingSteps(new(sync.Map)).Handler())); err != nil {
		t.Fatal(err)
	}
	peers := initialPeers(t, nodes[0])
	const keys = 8
	rounds := 0
	round := func(n int, live ...*testenv.Server) {
		t.Helper()
		for range n {
			rounds++
			addRound(t, fmt.Sprintf("r%d", rounds), keys, live)
		}
	}
	round(3, nodes...)

	held, err := healthOf(nodes[2]) // the shards node 3 holds a replica of
	if err != nil {
		t.Fatal(err)
	}
	lost := slices.Sorted(maps.Keys(held))
	if len(lost) == 0 || len(lost) == 5 {
		t.Fatalf("node 3 holds shards %v: want the metadata shard and some partitions, not all", lost)
	}
	nodes[2].Kill()
	round(2, nodes[0], nodes[1], nodes[3])

	if got := nodeChange(t, nodes[0], "DELETE", "/cluster/nodes/3", "", http.StatusOK); !slices.Equal(got, lost) {
		t.Fatalf("node 3 removed from shards %v, want %v", got, lost)
	}
	if got := nodeChange(t, nodes[3], "DELETE", "/cluster/nodes/3", "", http.StatusOK); len(got) != 0 {
		t.Fatalf("node 3 removed again from shards %v, want none", got)
	}
	ports := testenv.FreePorts(t, 4)
	raftAddr, dir5 := testenv.Addr(ports[0]), t.TempDir()
	add := fmt.Sprintf(`{"id":5,"raft_address":%q}`, raftAddr)
	if got := nodeChange(t, nodes[1], "POST", "/cluster/nodes", add, http.StatusOK); !slices.Equal(got, lost) {
		t.Fatalf("node 5 added to shards %v, want node 3's %v", got, lost)
	}
	node5 := func(args ...string) *testenv.Server {
		s := testenv.LaunchServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t), DataDir: dir5, IngressPort: ports[2], AdminPort: ports[3],
			Args: append([]string{"--node-id", "5", "--raft-addr", raftAddr, "--remote-addr", testenv.Addr(ports[1]), "--peers", peers,
				"--replication-factor", "3", "--partitions", "4", "--snapshot-entries", "20", "--log-level", "warn"}, args...)})
		s.WaitReady()
		return s
	}
	fresh := node5("--join")
	live := []*testenv.Server{nodes[0], nodes[1], nodes[3], fresh}
	testenv.WaitReady(t, "node 5 holds node 3's shards, every partition three replicas", time.Minute, func() error {
		mine, err := healthOf(fresh)
		if err != nil {
			return err
		}
		if got := slices.Sorted(maps.Keys(mine)); !slices.Equal(got, lost) {
			return fmt.Errorf("node 5 holds shards %v, want %v", got, lost)
		}
		replicas := map[uint64][]uint64{}
		for _, s := range live {
			shards, err := healthOf(s)
			if err != nil {
				return err
			}
			for id, sh := range shards {
				if sh.Leader == 0 || len(sh.Replicas) != 3 && sh.Partition != nil || slices.Contains(sh.Replicas, 3) {
					return fmt.Errorf("%s: shard %d: replicas %v, leader %d", s.Admin, id, sh.Replicas, sh.Leader)
				}
				replicas[id] = sh.Replicas
			}
		}
		for _, id := range lost {
			if !slices.Contains(replicas[id], 5) {
				return fmt.Errorf("shard %d: replicas %v, without node 5", id, replicas[id])
			}
		}
		// Node 1 reaches node 5 over actor remoting, at the address node 5 published.
		theirs, err := healthOf(nodes[0])
		if err != nil {
			return err
		}
		for id, sh := range theirs {
			i := slices.IndexFunc(sh.ReplicaProgress, func(p replicaProgress) bool { return p.Node == 5 })
			if slices.Contains(sh.Replicas, 5) && (i < 0 || !sh.ReplicaProgress[i].Reachable) {
				return fmt.Errorf("node 1's view of shard %d: progress %+v", id, sh.ReplicaProgress)
			}
		}
		if len(replicas) != 5 {
			return fmt.Errorf("the live nodes hold shards %v, want the metadata shard and 4 partitions", slices.Sorted(maps.Keys(replicas)))
		}
		return nil
	}, fresh.Proc())
	// Node 5 took node 3's place in the placement order: it comes to lead what node 3 preferred,
	// and the calls entering elsewhere for those partitions are routed to it.
	if leaders := preferredLeaders(t, "node 5 leads the shards node 3 preferred", live); !slices.Contains(slices.Collect(maps.Values(leaders)), 5) {
		t.Fatalf("leaders by shard %v: none on node 5", leaders)
	}
	round(2, live...)

	// Restarted on its data directory without --join, node 5 starts the replicas it holds.
	fresh.Kill()
	fresh = node5()
	if shards, err := healthOf(fresh); err != nil || !slices.Equal(slices.Sorted(maps.Keys(shards)), lost) {
		t.Fatalf("node 5 restarted holds shards %v (%v), want %v", slices.Sorted(maps.Keys(shards)), err, lost)
	}
	nodes[3].Kill()
	last := []*testenv.Server{nodes[0], nodes[1], fresh}
	round(2, last...)
	for _, s := range last {
		for k := range keys {
			r, err := testenv.Post(callClient, s.Ingress+fmt.Sprintf("/Counter/k%d/add", k), `{"n":0,"tag":"read"}`, nil)
			if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(rounds) {
				t.Errorf("key k%d through %s: %v %v, want %d", k, s.Ingress, r, err, rounds)
			}
		}
	}
}
