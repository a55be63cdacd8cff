// Package cluster tests Resolute as a cluster of real server processes on loopback.
package cluster

import (
	"fmt"
	"net/http"
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
// --raft-addr, --peers) and waits until each answers its health endpoints.
func startCluster(t *testing.T, n int, extra ...string) []*testenv.Server {
	t.Helper()
	bin := testenv.ResoluteBinary(t)
	ports := testenv.FreePorts(t, 3*n)
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, testenv.Addr(ports[i])))
	}
	nodes := make([]*testenv.Server, n)
	for i := range n {
		args := append([]string{"--node-id", fmt.Sprint(i + 1), "--raft-addr", testenv.Addr(ports[i]),
			"--peers", strings.Join(peers, ","), "--partitions", "4", "--log-level", "warn"}, extra...)
		nodes[i] = testenv.LaunchServer(t, testenv.ServerConfig{Bin: bin, IngressPort: ports[n+i], AdminPort: ports[2*n+i], Args: args})
	}
	for _, s := range nodes {
		s.WaitReady()
	}
	return nodes
}

// TestThreeNodes: three processes form a cluster; a deployment registered through one node's
// admin API is known to every node (the metadata shard is replicated to all); the counting
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
	for i, s := range nodes {
		r, err := testenv.Invoke(s.Ingress, "/Counter/shared/add", "1")
		if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(i+1) {
			t.Fatalf("call %d through node %d: %v %v, want %d", i+1, i+1, r, err, i+1)
		}
	}
}
