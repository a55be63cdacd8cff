// Package cluster tests Resolute as a cluster of real server processes on loopback.
package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// counter is the counting service: add returns the key's count after adding.
func counter() *sdk.Endpoint {
	c := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		}))
	return sdk.NewEndpoint().Bind(c)
}

// startCluster launches n `resolute server` processes that form one cluster (--node-id,
// --raft-addr, --remote-addr, --peers) and waits until each answers its health endpoints.
func startCluster(t *testing.T, n int, extra ...string) []*testenv.Server {
	t.Helper()
	bin := testenv.ResoluteBinary(t)
	ports := testenv.FreePorts(t, 4*n)
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, testenv.Addr(ports[i])))
	}
	nodes := make([]*testenv.Server, n)
	for i := range n {
		args := append([]string{"--node-id", fmt.Sprint(i + 1), "--raft-addr", testenv.Addr(ports[i]),
			"--remote-addr", testenv.Addr(ports[3*n+i]),
			"--peers", strings.Join(peers, ","), "--partitions", "4", "--log-level", "warn"}, extra...)
		nodes[i] = testenv.LaunchServer(t, testenv.ServerConfig{Bin: bin, IngressPort: ports[n+i], AdminPort: ports[2*n+i], Args: args})
	}
	for _, s := range nodes {
		s.WaitReady()
	}
	return nodes
}

// clusterHealth is the part of GET /cluster-health the tests read.
type clusterHealth struct {
	ClusterName           string `json:"cluster_name"`
	MetadataClusterHealth struct {
		Members []uint64 `json:"members"`
	} `json:"metadata_cluster_health"`
	NodeID uint64 `json:"node_id"`
	Nodes  []struct {
		ID uint64 `json:"id"`
	} `json:"nodes"`
	Shards []struct {
		Shard     uint64   `json:"shard"`
		Partition *uint32  `json:"partition"`
		Replicas  []uint64 `json:"replicas"`
		Leader    uint64   `json:"leader"`
	} `json:"shards"`
}

// checkClusterHealth: every node's GET /cluster-health names itself, the three members, the
// metadata shard and the four partitions with three replicas each, and (once elections settle)
// the same leader for each shard as every other node.
func checkClusterHealth(t *testing.T, nodes []*testenv.Server) {
	t.Helper()
	testenv.WaitReady(t, "the nodes agree on the cluster", 30*time.Second, func() error {
		leaders := map[uint64]uint64{}
		for i, s := range nodes {
			resp, err := testenv.HTTPClient.Get(s.Admin + "/cluster-health")
			if err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			var ch clusterHealth
			err = json.NewDecoder(resp.Body).Decode(&ch)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("node %d: %d %v", i+1, resp.StatusCode, err)
			}
			body, _ := json.Marshal(ch)
			if ch.NodeID != uint64(i+1) || len(ch.Nodes) != 3 || !slices.Equal(ch.MetadataClusterHealth.Members, []uint64{1, 2, 3}) || len(ch.Shards) != 5 || ch.ClusterName == "" {
				return fmt.Errorf("node %d: %s", i+1, body)
			}
			for _, sh := range ch.Shards {
				if !slices.Equal(sh.Replicas, []uint64{1, 2, 3}) || sh.Leader == 0 {
					return fmt.Errorf("node %d, shard %d: replicas %v, leader %d", i+1, sh.Shard, sh.Replicas, sh.Leader)
				}
				if l, ok := leaders[sh.Shard]; ok && l != sh.Leader {
					return fmt.Errorf("shard %d: node %d sees leader %d, another node %d", sh.Shard, i+1, sh.Leader, l)
				}
				leaders[sh.Shard] = sh.Leader
			}
		}
		return nil
	})
}

// TestThreeNodes: three processes form a cluster; every node's GET /cluster-health shows the same
// members, shards and leaders; a deployment registered through one node's admin API is known to
// every node (the metadata shard is replicated to all); the counting
// service gives 1, 2, 3 whichever node each call enters by (the key's partition is replicated to
// all three and led by one of them: calls entering elsewhere are proposed through the log and
// answered where they entered).
func TestThreeNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	uri := testenv.ServeH2C(t, counter().Handler())
	if _, err := testenv.Register(nodes[0].Admin, uri); err != nil {
		t.Fatalf("register through node 1: %v", err)
	}
	for i, s := range nodes {
		testenv.WaitReady(t, fmt.Sprintf("node %d knows the service", i+1), 30*time.Second, func() error {
			return testenv.ExpectStatus(testenv.HTTPClient, s.Admin+"/services/Counter", http.StatusOK)
		}, s.Proc())
	}
	checkClusterHealth(t, nodes)
	for i, s := range nodes {
		r, err := testenv.Invoke(s.Ingress, "/Counter/shared/add", "1")
		if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(i+1) {
			t.Fatalf("call %d through node %d: %v %v, want %d", i+1, i+1, r, err, i+1)
		}
	}
}
