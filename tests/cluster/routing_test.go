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

// routed is the counting service plus what makes requests cross nodes inside the runtime:
// Relay/add calls Counter (an outbox delivery to the counter key's partition and the call's
// result back), Waiter/wait parks on an awakeable whose id it sends to Mailbox (another
// partition), where the test picks it up to resolve it through another node's ingress.
func routed() *sdk.Endpoint {
	relay := sdk.NewService("Relay").
		Handler("add", sdk.ServiceHandler(func(ctx sdk.Context, key string) (int, error) {
			return sdk.Call[int](ctx, sdk.ToObject("Counter", key, "add"), 1)
		}))
	waiter := sdk.NewObject("Waiter").
		Handler("wait", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ string) (string, error) {
			a := sdk.Awakeable[string](ctx)
			sdk.Send(ctx, sdk.ToObject("Mailbox", ctx.Key(), "put"), a.ID())
			return a.Result()
		}))
	mailbox := sdk.NewObject("Mailbox").
		Handler("put", sdk.ObjectHandler(func(ctx sdk.ObjectContext, id string) (string, error) {
			return id, sdk.Set(ctx, "id", id)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ string) (string, error) {
			id, err := sdk.Get[string](ctx, "id")
			return id, err
		}))
	return counter().Bind(relay).Bind(waiter).Bind(mailbox)
}

// TestFewerReplicasThanNodes: with one replica of each partition (--replication-factor 1) each
// node holds a part of the partitions only, so a request entering by a node that does not hold
// its partition can only be served over actor remoting, at the partition's leader. Counting gives
// 1..6 per key whichever node each call enters by; a service on one partition calls an object on
// another (the outbox delivery and the call's result cross nodes); an awakeable created on one
// node is resolved through another node's ingress, and the caller waiting at a third gets the
// value.
func TestFewerReplicasThanNodes(t *testing.T) {
	nodes := startCluster(t, 3, "--replication-factor", "1")
	uri := testenv.ServeH2C(t, routed().Handler())
	if _, err := testenv.Register(nodes[0].Admin, uri); err != nil {
		t.Fatalf("register through node 1: %v", err)
	}
	for i, s := range nodes {
		testenv.WaitReady(t, fmt.Sprintf("node %d knows the services", i+1), 30*time.Second, func() error {
			return testenv.ExpectStatus(testenv.HTTPClient, s.Admin+"/services/Mailbox", http.StatusOK)
		}, s.Proc())
	}
	held := map[uint64]int{}
	for i, s := range nodes {
		ch := getClusterHealth(t, s)
		for _, sh := range ch.Shards {
			if sh.Partition == nil {
				continue
			}
			if len(sh.Replicas) != 1 || sh.Replicas[0] != uint64(i+1) {
				t.Fatalf("node %d reports shard %d with replicas %v, want itself alone", i+1, sh.Shard, sh.Replicas)
			}
			held[sh.Replicas[0]]++
		}
	}
	if len(held) != 3 {
		t.Fatalf("partitions held by nodes %v: want every node to hold some and none all", held)
	}

	for _, key := range []string{"a", "b", "c", "d"} {
		for n := 1; n <= 6; n++ {
			s := nodes[(n-1)%3]
			path := "/Counter/" + key + "/add"
			body := "1"
			if n%2 == 0 {
				path, body = "/Relay/add", fmt.Sprintf("%q", key)
			}
			r, err := testenv.Invoke(s.Ingress, path, body)
			if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(n) {
				t.Fatalf("key %s, call %d (%s) through node %d: %v %v, want %d", key, n, path, (n-1)%3+1, r, err, n)
			}
		}
	}

	// The admin API of every node reads a key's state wherever its partition is (over remoting at
	// the leader when not here).
	for i, s := range nodes {
		var st struct {
			State map[string][]int `json:"state"` // byte arrays, as restate writes state values
		}
		resp, err := testenv.HTTPClient.Get(s.Admin + "/services/Counter/state/a")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !slices.Equal(st.State["count"], []int{'6'}) {
			t.Fatalf("state of Counter/a through node %d's admin API: %d %+v %v, want count 6", i+1, resp.StatusCode, st, err)
		}
	}

	type reply struct {
		r   testenv.Reply
		err error
	}
	waited := make(chan reply, 1)
	go func() {
		r, err := testenv.Invoke(nodes[0].Ingress, "/Waiter/w/wait", `""`)
		waited <- reply{r, err}
	}()
	var id string
	testenv.WaitReady(t, "the awakeable's id in the mailbox, read through node 2", 30*time.Second, func() error {
		r, err := testenv.Invoke(nodes[1].Ingress, "/Mailbox/w/get", `""`)
		if err != nil || r.Status != http.StatusOK {
			return fmt.Errorf("%v %v", r, err)
		}
		if err := json.Unmarshal(r.Body, &id); err != nil || id == "" {
			return fmt.Errorf("no id yet: %s", r.Body)
		}
		return nil
	}, nodes[1].Proc())
	testenv.MustPost(t, nodes[2].Ingress+"/restate/awakeables/"+id+"/resolve", `"resolved through node 3"`, http.StatusAccepted)
	select {
	case w := <-waited:
		if w.err != nil || w.r.Status != http.StatusOK || strings.TrimSpace(string(w.r.Body)) != `"resolved through node 3"` {
			t.Fatalf("the waiting call through node 1: %v %v", w.r, w.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the waiting call through node 1 never returned")
	}
}

// getClusterHealth reads one node's GET /cluster-health.
func getClusterHealth(t *testing.T, s *testenv.Server) clusterHealth {
	t.Helper()
	resp, err := testenv.HTTPClient.Get(s.Admin + "/cluster-health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch clusterHealth
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("cluster-health: %d %v", resp.StatusCode, err)
	}
	return ch
}
