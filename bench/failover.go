package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// failoverSettings are the failover scenario's knobs.
type failoverSettings struct {
	Kills       int `json:"kills"`       // leaders killed, one after another
	Concurrency int `json:"concurrency"` // workers of the light background load
}

// failoverKeysPerPartition Counter keys are created per partition, so that every partition
// has keys to probe and to load.
const failoverKeysPerPartition = 4

// failoverProbeEvery is how often a new probe call starts while a partition has no answer:
// the resolution of the failover time.
const failoverProbeEvery = 25 * time.Millisecond

// failoverScenario, on a cluster: under a light background load over every node, it kills
// (SIGKILL) the node leading one partition, measures from the kill until the first successful
// call on a key of that partition through a surviving node, restarts the killed node on its data
// directory and waits until the cluster is whole again; then the next partition's leader.
// Figures: the failover time's p50 and max (and min, mean) over the kills; how soon a surviving
// node reported another leader of the partition (p50); and restart→healthy.
func failoverScenario(ctx context.Context, e *env) []result {
	s, fs := e.srv, e.cfg.failover
	r := e.result("failover", fmt.Sprintf("%d leader kills, %d nodes", fs.Kills, len(s.nodes)))
	fail := func(format string, args ...any) []result {
		r.Err = fmt.Sprintf(format, args...)
		return []result{r}
	}
	ctl := e.cfg.restatectl
	nparts, _, err := s.partitionLeaders(ctx, ctl, s.nodes[0])
	if err != nil {
		return fail("partition leaders: %v", err)
	}
	// Keys until every partition has failoverKeysPerPartition of them (restate-server is asked
	// where each key's state is, so each is called once first).
	byPart := map[int][]string{}
	var all []string
	for batch := 0; len(byPart) < nparts || slices.ContainsFunc(mapValues(byPart), func(ks []string) bool { return len(ks) < failoverKeysPerPartition }); batch++ {
		if batch >= 20 {
			return fail("keys: %d partitions of %d have keys after %d keys", len(byPart), nparts, len(all))
		}
		var keys []string
		for i := range 4 * nparts {
			keys = append(keys, fmt.Sprintf("fo-%d-%d", batch, i))
		}
		if err := sendAll(ctx, s.ingresses, len(keys), 8, func(i int) call { return call{"/Counter/" + keys[i] + "/add", "1"} }); err != nil {
			return fail("create keys: %v", err)
		}
		parts, err := s.counterPartitions(ctx, ctl, s.nodes[0], nparts, keys)
		if err != nil {
			return fail("key partitions: %v", err)
		}
		for _, k := range keys {
			if p := parts[k]; len(byPart[p]) < failoverKeysPerPartition {
				byPart[p] = append(byPart[p], k)
				all = append(all, k)
			}
		}
	}

	var live sync.Map // node index → struct{}: nodes the load and the probes may use
	for i := range s.nodes {
		live.Store(i, struct{}{})
	}
	liveIngresses := func() []string {
		var out []string
		for i, nd := range s.nodes {
			if _, ok := live.Load(i); ok {
				out = append(out, nd.ingress)
			}
		}
		return out
	}
	// The light background load: calls on every key, each through a random live node.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadOK, loadFailed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range fs.Concurrency {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				ing := liveIngresses()
				err := invoke(loadCtx, client, ing[rand.IntN(len(ing))], call{"/Counter/" + all[rand.IntN(len(all))] + "/add", "1"})
				switch {
				case loadCtx.Err() != nil:
				case err != nil:
					loadFailed.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					loadOK.Add(1)
				}
			}
		})
	}
	defer func() { stopLoad(); wg.Wait() }()

	var times, restarts, elections []time.Duration
	victims := map[string]int{}
	for k := range fs.Kills {
		p := k % nparts
		key := byPart[p][k/nparts%failoverKeysPerPartition]
		victim, err := s.settledLeader(ctx, ctl, p, key)
		if err != nil {
			return fail("kill %d, partition %d: before the kill: %v", k+1, p, err)
		}
		nd := s.nodes[victim]
		live.Delete(victim)
		nd.proc.Kill()
		t0 := time.Now()
		elected := make(chan time.Duration, 1)
		watchCtx, stopWatch := context.WithCancel(ctx)
		go func() { elected <- s.newLeaderAfter(watchCtx, ctl, p, victim, t0) }()
		took, err := firstSuccess(ctx, t0, liveIngresses(), "/Counter/"+key+"/add", 2*time.Minute)
		if err != nil {
			stopWatch()
			return fail("kill %d of %s (leader of partition %d): no call on %s succeeded: %v", k+1, nd.name, p, key, err)
		}
		var el time.Duration
		select {
		case el = <-elected:
		case <-time.After(5 * time.Second):
			stopWatch()
			el = <-elected
		}
		stopWatch()
		times = append(times, took)
		if el > 0 {
			elections = append(elections, el)
		}
		victims[nd.name]++
		e.cfg.logf("bench:   kill %d: %s led partition %d; new leader seen after %v; first success on %s after %v", k+1, nd.name, p,
			el.Round(time.Millisecond), key, took.Round(time.Millisecond))
		t1 := time.Now()
		if err := nd.launch(s.kind); err != nil {
			return fail("restart %s: %v", nd.name, err)
		}
		if err := nd.waitUp(s.label(nd)); err != nil {
			return fail("restart %s: %v", nd.name, err)
		}
		if err := s.waitWhole(ctx, ctl, t0); err != nil {
			return fail("after restarting %s: %v", nd.name, err)
		}
		restarts = append(restarts, time.Since(t1))
		live.Store(victim, struct{}{})
	}
	stopLoad()
	wg.Wait()
	slices.Sort(times)
	slices.Sort(restarts)
	var sum time.Duration
	for _, d := range times {
		sum += d
	}
	r.Figures = []figure{
		{"failover p50 s", percentile(times, 50).Seconds(), "lower"},
		{"failover max s", times[len(times)-1].Seconds(), "lower"},
		{"failover min s", times[0].Seconds(), "lower"},
		{"failover mean s", (sum / time.Duration(len(times))).Seconds(), "lower"},
		{"restart→whole p50 s", percentile(restarts, 50).Seconds(), "lower"},
	}
	if len(elections) > 0 {
		slices.Sort(elections)
		r.Figures = append(r.Figures[:4:4], figure{"new leader seen p50 s", percentile(elections, 50).Seconds(), "lower"}, r.Figures[4])
	}
	var vs []string
	for _, nd := range s.nodes {
		vs = append(vs, fmt.Sprintf("%s×%d", nd.name, victims[nd.name]))
	}
	var ts []string
	for _, d := range times {
		ts = append(ts, fmt.Sprintf("%.2f", d.Seconds()))
	}
	r.Note = fmt.Sprintf("killed %s; failover times (s, sorted) %s; background load (%d workers) %d calls answered, %d failed",
		strings.Join(vs, " "), strings.Join(ts, " "), fs.Concurrency, loadOK.Load(), loadFailed.Load())
	return []result{r}
}

// newLeaderAfter polls a surviving node every 50 ms until it reports a leader of partition p
// other than the killed node, and returns the time from t0; 0 if ctx ends first.
func (s *server) newLeaderAfter(ctx context.Context, ctl string, p, victim int, t0 time.Time) time.Duration {
	via := s.nodes[(victim+1)%len(s.nodes)]
	for ctx.Err() == nil {
		if _, leaders, err := s.partitionLeaders(ctx, ctl, via); err == nil && p < len(leaders) && leaders[p] >= 0 && leaders[p] != victim {
			return time.Since(t0)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return 0
}

func mapValues[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// settledLeader waits until partition p has one leader, reported the same by two reads half a
// second apart, and a call on key succeeds through every node; it returns the leader's index.
func (s *server) settledLeader(ctx context.Context, ctl string, p int, key string) (int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		last = func() error {
			_, before, err := s.partitionLeaders(ctx, ctl, s.nodes[0])
			if err != nil {
				return err
			}
			if before[p] < 0 {
				return fmt.Errorf("partition %d has no leader", p)
			}
			for _, ing := range s.ingresses {
				if err := invoke(ctx, controlClient, ing, call{"/Counter/" + key + "/add", "1"}); err != nil {
					return err
				}
			}
			time.Sleep(500 * time.Millisecond)
			_, after, err := s.partitionLeaders(ctx, ctl, s.nodes[0])
			if err != nil {
				return err
			}
			if after[p] != before[p] {
				return fmt.Errorf("partition %d's leader moved from node %d to %d", p, before[p]+1, after[p]+1)
			}
			return nil
		}()
		if last == nil {
			_, leaders, err := s.partitionLeaders(ctx, ctl, s.nodes[0])
			if err == nil && leaders[p] >= 0 {
				return leaders[p], nil
			}
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return -1, fmt.Errorf("no settled leader in 2 minutes: %v", last)
}

// waitWhole waits until every node is up and every partition has a leader, as node 1 sees it.
func (s *server) waitWhole(ctx context.Context, ctl string, since time.Time) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		last = func() error {
			for _, nd := range s.nodes {
				if !nd.alive() {
					return fmt.Errorf("%s is not running", nd.name)
				}
			}
			_, leaders, err := s.partitionLeaders(ctx, ctl, s.nodes[0])
			if err != nil {
				return err
			}
			if i := slices.Index(leaders, -1); i >= 0 {
				return fmt.Errorf("partition %d has no leader", i)
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not whole %v after the kill: %w", time.Since(since).Round(time.Second), errors.Join(last, ctx.Err()))
}

// firstSuccess starts a call to path every failoverProbeEvery, round robin over ingresses, each
// bounded by a minute, until one answers 200, and returns the time from its start to that
// answer, measured from t0. At most 64 calls are in flight; it gives up after timeout.
func firstSuccess(ctx context.Context, t0 time.Time, ingresses []string, path string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Minute}
	defer client.CloseIdleConnections()
	done := make(chan time.Time, 1)
	var lastErr atomic.Value
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(failoverProbeEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case sem <- struct{}{}:
			ing := ingresses[i%len(ingresses)]
			wg.Go(func() {
				defer func() { <-sem }()
				if err := invoke(ctx, client, ing, call{path, "1"}); err != nil {
					if ctx.Err() == nil { // not a call our own deadline cut short: it says nothing
						lastErr.Store(err.Error())
					}
					return
				}
				select {
				case done <- time.Now():
				default:
				}
			})
		case <-ctx.Done():
		}
		select {
		case at := <-done:
			cancel()
			return at.Sub(t0), nil
		case <-ctx.Done():
			last, _ := lastErr.Load().(string)
			return 0, fmt.Errorf("%w; last error: %s", ctx.Err(), last)
		case <-tick.C:
		}
	}
}
