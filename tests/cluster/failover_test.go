package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// countingSteps is a Counter whose add journals a Run step (counted per idempotency key, the
// call's "tag") between reading and writing the count.
func countingSteps(runs *sync.Map) *sdk.Endpoint {
	c := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, in struct {
			N   int    `json:"n"`
			Tag string `json:"tag"`
		}) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (int, error) {
				v, _ := runs.LoadOrStore(in.Tag, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
				return in.N, nil
			}); err != nil {
				return 0, err
			}
			return count + in.N, sdk.Set(ctx, "count", count+in.N)
		}))
	return sdk.NewEndpoint().Bind(c)
}

// callClient bounds each call, so that one sent to a node as it dies is retried elsewhere soon.
var callClient = &http.Client{Timeout: 10 * time.Second}

// leaderOf asks node s which node leads partition shard's Raft group.
func leaderOf(t *testing.T, s *testenv.Server, shard uint64) uint64 {
	t.Helper()
	ch := getClusterHealth(t, s)
	for _, sh := range ch.Shards {
		if sh.Shard == shard {
			return sh.Leader
		}
	}
	t.Fatalf("no shard %d in the cluster health", shard)
	return 0
}

// TestLeaderKilledUnderLoad: calls with idempotency keys run against every key of a three-node
// cluster while the node leading partition 0 is SIGKILLed; a call that fails (its node died, or the
// partition had no leader for a moment) is retried with the same key through another node. In the
// end every key's count is exactly its number of calls (no acknowledged call lost, none applied
// twice) and no call's journaled Run ran twice. The killed node then restarts on its data
// directory, rejoins and answers with the state it missed.
func TestLeaderKilledUnderLoad(t *testing.T) {
	nodes := startCluster(t, 3)
	var runs sync.Map
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, countingSteps(&runs).Handler())); err != nil {
		t.Fatal(err)
	}
	checkClusterHealth(t, nodes)
	victim := leaderOf(t, nodes[0], 1000) // partition 0's leader
	var dead atomic.Uint64

	const keys, calls = 8, 24
	// Bounds the retries: a call the cluster never answers fails the test instead of hanging it.
	deadline := time.Now().Add(90 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	progress := make(chan struct{}, keys*calls)
	for k := range keys {
		wg.Go(func() {
			for i := range calls {
				tag := fmt.Sprintf("k%d-%d", k, i)
				body := fmt.Sprintf(`{"n":1,"tag":%q}`, tag)
				var last string
				ok := false
				for attempt := 0; !ok && time.Now().Before(deadline); attempt++ {
					node := nodes[(k+i+attempt)%len(nodes)]
					if uint64((k+i+attempt)%len(nodes)+1) == dead.Load() {
						continue
					}
					r, err := testenv.Post(callClient, node.Ingress+fmt.Sprintf("/Counter/k%d/add", k), body, http.Header{"Idempotency-Key": {tag}})
					if err == nil && r.Status == http.StatusOK {
						ok = true
						break
					}
					last = fmt.Sprintf("%v %v", r, err)
					time.Sleep(100 * time.Millisecond)
				}
				if !ok {
					errs <- fmt.Errorf("call %s never succeeded; last: %s", tag, last)
					return
				}
				progress <- struct{}{}
			}
		})
	}
	for range keys * calls / 3 { // a third of the calls are done: kill the leader
		<-progress
	}
	dead.Store(victim)
	nodes[victim-1].Kill()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	live := nodes[victim%uint64(len(nodes))]
	for k := range keys {
		tag := fmt.Sprintf("k%d-read", k)
		r, err := testenv.Post(testenv.HTTPClient, live.Ingress+fmt.Sprintf("/Counter/k%d/add", k), fmt.Sprintf(`{"n":0,"tag":%q}`, tag), nil)
		if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(calls) {
			t.Errorf("key k%d after the kill: %v %v, want %d", k, r, err, calls)
		}
	}
	// The killed node restarts on its data directory, rejoins, catches up and serves again.
	nodes[victim-1].Restart()
	checkClusterHealth(t, nodes)
	for k := range keys {
		tag := fmt.Sprintf("k%d-rejoined", k)
		r, err := testenv.Post(callClient, nodes[victim-1].Ingress+fmt.Sprintf("/Counter/k%d/add", k), fmt.Sprintf(`{"n":1,"tag":%q}`, tag), nil)
		if err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != fmt.Sprint(calls+1) {
			t.Errorf("key k%d through the rejoined node: %v %v, want %d", k, r, err, calls+1)
		}
	}
	twice := 0
	runs.Range(func(tag, n any) bool {
		if n.(*atomic.Int64).Load() > 1 {
			twice++
			t.Logf("Run of %s ran %d times", tag, n.(*atomic.Int64).Load())
		}
		return true
	})
	// A Run in flight at the kill (its result not yet journaled) may run again; a journaled one
	// never does. Those in flight are at most one per key.
	if twice > keys {
		t.Errorf("%d calls ran their Run more than once, more than the %d that can be in flight at the kill", twice, keys)
	}
	t.Logf("killed node %d (partition 0's leader); %d calls with a repeated in-flight Run", victim, twice)
}
