package cluster

import (
	"encoding/json"
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

// addRound makes one call adding 1 to each of keys Counter keys, through the nodes in turn,
// each with an idempotency key of its own (round, key): a call that fails (a node just killed,
// a partition without a leader for a moment) is retried with the same key through the next node,
// so it counts once. It fails the test if a call never succeeds.
func addRound(t *testing.T, round string, keys int, nodes []*testenv.Server) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for k := range keys {
		wg.Go(func() {
			tag := fmt.Sprintf("%s-k%d", round, k)
			body := fmt.Sprintf(`{"n":1,"tag":%q}`, tag)
			last := ""
			for attempt := 0; time.Now().Before(deadline); attempt++ {
				node := nodes[(k+attempt)%len(nodes)]
				r, err := testenv.Post(callClient, node.Ingress+fmt.Sprintf("/Counter/k%d/add", k), body, http.Header{"Idempotency-Key": {tag}})
				if err == nil && r.Status == http.StatusOK {
					return
				}
				last = fmt.Sprintf("%v %v", r, err)
				time.Sleep(100 * time.Millisecond)
			}
			errs <- fmt.Errorf("call %s never succeeded; last: %s", tag, last)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// nodeChange asks s's admin API to add (body set) or remove (DELETE path) a node and decodes the
// answer.
func nodeChange(t *testing.T, s *testenv.Server, method, path, body string, want int) []uint64 {
	t.Helper()
	req, err := http.NewRequest(method, s.Admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var c struct {
		Shards  []uint64 `json:"shards"`
		Message string   `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != want {
		t.Fatalf("%s %s %s: %d (%v) %q, want %d", method, path, body, resp.StatusCode, err, c.Message, want)
	}
	return c.Shards
}

// initialPeers reads the members from s's GET /cluster-health as --peers names them.
func initialPeers(t *testing.T, s *testenv.Server) string {
	t.Helper()
	resp, err := testenv.HTTPClient.Get(s.Admin + "/cluster-health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch struct {
		Nodes []struct {
			ID          uint64 `json:"id"`
			RaftAddress string `json:"raft_address"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, n := range ch.Nodes {
		peers = append(peers, fmt.Sprintf("%d@%s", n.ID, n.RaftAddress))
	}
	return strings.Join(peers, ",")
}

// TestReplaceNode: a three-node cluster takes calls; node 3 is SIGKILLed (dead for good) and the
// other two go on; DELETE /cluster/nodes/3 removes it from every shard and POST /cluster/nodes
// adds node 4, started with --join, whose replicas are rebuilt from snapshots (the logs were
// compacted: --snapshot-entries 20) and the logs; it comes to lead the shards node 3 preferred.
// Node 4 takes calls; then node 1 is SIGKILLed
// too, so every shard's quorum needs node 4: the calls go on through nodes 2 and 4, and every key's
// count is exactly its number of acknowledged calls, read through node 4 and node 2.
func TestReplaceNode(t *testing.T) {
	nodes := startCluster(t, 3, "--snapshot-entries", "20")
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, countingSteps(new(sync.Map)).Handler())); err != nil {
		t.Fatal(err)
	}
	checkClusterHealth(t, nodes)
	peers := initialPeers(t, nodes[0])
	const keys = 8
	rounds := 0
	round := func(live ...*testenv.Server) {
		t.Helper()
		rounds++
		addRound(t, fmt.Sprintf("r%d", rounds), keys, live)
	}
	for range 5 {
		round(nodes...)
	}

	nodes[2].Kill()
	for range 5 {
		round(nodes[0], nodes[1])
	}
	all := []uint64{1, 1000, 1001, 1002, 1003} // the metadata shard and the four partitions
	if got := nodeChange(t, nodes[0], "DELETE", "/cluster/nodes/3", "", http.StatusOK); !slices.Equal(got, all) {
		t.Fatalf("node 3 removed from shards %v, want %v", got, all)
	}
	if got := nodeChange(t, nodes[1], "DELETE", "/cluster/nodes/3", "", http.StatusOK); len(got) != 0 {
		t.Fatalf("node 3 removed again from shards %v, want none", got)
	}
	nodeChange(t, nodes[0], "POST", "/cluster/nodes", `{"id":3,"raft_address":"127.0.0.1:1"}`, http.StatusConflict)

	ports := testenv.FreePorts(t, 4)
	raftAddr := testenv.Addr(ports[0])
	add := fmt.Sprintf(`{"id":4,"raft_address":%q}`, raftAddr)
	if got := nodeChange(t, nodes[1], "POST", "/cluster/nodes", add, http.StatusOK); !slices.Equal(got, all) {
		t.Fatalf("node 4 added to shards %v, want %v", got, all)
	}
	fresh := testenv.LaunchServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t), IngressPort: ports[2], AdminPort: ports[3],
		Args: []string{"--node-id", "4", "--join", "--raft-addr", raftAddr, "--remote-addr", testenv.Addr(ports[1]),
			"--peers", peers, "--partitions", "4", "--snapshot-entries", "20", "--log-level", "warn"}})
	fresh.WaitReady()
	testenv.WaitReady(t, "node 4 holds every shard, caught up", time.Minute, func() error {
		mine, err := healthOf(fresh)
		if err != nil {
			return err
		}
		theirs, err := healthOf(nodes[0])
		if err != nil {
			return err
		}
		for _, id := range all {
			sh := mine[id]
			if !slices.Equal(sh.Replicas, []uint64{1, 2, 4}) || sh.Leader == 0 || sh.AppliedIndex < theirs[id].AppliedIndex {
				return fmt.Errorf("node 4, shard %d: %+v; node 1 applied %d", id, sh, theirs[id].AppliedIndex)
			}
			// Node 1 sees node 4's replica through actor remoting, not behind the leader's.
			i := slices.IndexFunc(theirs[id].ReplicaProgress, func(p replicaProgress) bool { return p.Node == 4 })
			if i < 0 || !theirs[id].ReplicaProgress[i].Reachable || theirs[id].ReplicaProgress[i].Lag == nil || *theirs[id].ReplicaProgress[i].Lag != 0 {
				return fmt.Errorf("node 1's view of shard %d: progress %+v", id, theirs[id].ReplicaProgress)
			}
		}
		return nil
	}, fresh.Proc())
	live := []*testenv.Server{nodes[0], nodes[1], fresh}
	// Node 4 took node 3's place in the placement order: it comes to lead node 3's shards.
	leaders := preferredLeaders(t, "node 4 leads the shards node 3 preferred", live)
	if !slices.Contains(slices.Collect(maps.Values(leaders)), 4) {
		t.Fatalf("leaders by shard %v: none on node 4", leaders)
	}
	for range 3 {
		round(live...)
	}

	nodes[0].Kill()
	for range 3 {
		round(nodes[1], fresh)
	}
	for _, s := range []*testenv.Server{fresh, nodes[1]} {
		for k := range keys {
			r, err := testenv.Post(callClient, s.Ingress+fmt.Sprintf("/Counter/k%d/add", k), `{"n":0,"tag":"read"}`, nil)
			if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(rounds) {
				t.Errorf("key k%d through %s: %v %v, want %d", k, s.Ingress, r, err, rounds)
			}
		}
	}
}
