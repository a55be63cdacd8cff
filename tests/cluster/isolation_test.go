package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/internal/faultproxy"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/tests/testenv"
)

// proxiedNode is a cluster member whose inter-node traffic reaches it only through proxies: the
// others dial its proxies' addresses (its --raft-addr and --peers entry, its --remote-addr), which
// forward to the addresses it listens on (--raft-listen-addr, --remote-listen-addr).
type proxiedNode struct {
	*testenv.Server
	id      uint64
	proxies []*faultproxy.Proxy // every way in from the other nodes
}

// isolate cuts every connection into the node from the others and black-holes new ones: nothing
// they send reaches it (its Raft peers' messages and votes, replies to what it sends them).
func (n *proxiedNode) isolate() {
	for _, p := range n.proxies {
		p.Cut()
	}
}

// heal lets the others reach the node again.
func (n *proxiedNode) heal() {
	for _, p := range n.proxies {
		p.Heal()
	}
}

// startProxiedCluster is startCluster with each node's Raft and remoting addresses behind fault
// proxies that the test controls.
func startProxiedCluster(t *testing.T, n int, extra ...string) []*proxiedNode {
	t.Helper()
	bin := testenv.ResoluteBinary(t)
	ports := testenv.FreePorts(t, 4*n) // per node: Raft and remoting listen addresses, ingress, admin
	proxy := func(target string) *faultproxy.Proxy {
		p, err := faultproxy.Start(target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		})
		return p
	}
	nodes := make([]*proxiedNode, n)
	var peers []string
	for i := range n {
		raft, remote := proxy(testenv.Addr(ports[i])), proxy(testenv.Addr(ports[3*n+i]))
		nodes[i] = &proxiedNode{id: uint64(i + 1), proxies: []*faultproxy.Proxy{raft, remote}}
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, raft.Addr()))
	}
	for i, node := range nodes {
		raft, remote := node.proxies[0], node.proxies[1]
		args := append([]string{"--node-id", fmt.Sprint(node.id),
			"--raft-addr", raft.Addr(), "--raft-listen-addr", raft.Target(),
			"--remote-addr", remote.Addr(), "--remote-listen-addr", remote.Target(),
			"--peers", strings.Join(peers, ","), "--partitions", "4", "--log-level", "warn"}, extra...)
		node.Server = testenv.LaunchServer(t, testenv.ServerConfig{Bin: bin, IngressPort: ports[n+i], AdminPort: ports[2*n+i], Args: args})
	}
	for _, node := range nodes {
		node.WaitReady()
	}
	return nodes
}

// partitionShard asks node s which Raft shard holds partition p.
func partitionShard(t *testing.T, s *testenv.Server, p int) uint64 {
	t.Helper()
	for _, sh := range getClusterHealth(t, s).Shards {
		if sh.Partition != nil && int(*sh.Partition) == p {
			return sh.Shard
		}
	}
	t.Fatalf("no shard for partition %d in the cluster health", p)
	return 0
}

// Phases of TestIsolatedNode, in order.
const (
	beforeCut int32 = iota
	duringCut
	healed
	stopping
)

// answerBound is how long a call may wait for its answer: twice the longest wait the server
// imposes on a request whose partition has no reachable leader, after which it answers 503.
const answerBound = 2 * partition.DefaultNoLeaderWait

// strictIsolation makes TestIsolatedNode fail when a node leaves a call unanswered past
// answerBound. Today some are: calls in flight at the cut (at the isolated node, waiting for a
// result that cannot reach it; at the others, waiting on the isolated leader over remoting until
// the remoting timeout, then attaching there again) and calls through the healed node just after
// the heal (replies lost while the others' remoting connections to it are re-made). Without the
// flag such a call counts as unanswered and is retried through the next node with its idempotency
// key, as a client would, and the test logs how many there were.
var strictIsolation = flag.Bool("isolation.strict", false, "TestIsolatedNode: a call left unanswered past its bound fails the test")

// isolationLoad is TestIsolatedNode's load: per key, a sequence of adds of 1, each with its own
// idempotency key, retried through the next node until one answers 200; so the i-th add's only
// correct answer is i+1. Each attempt's outcome is reported on answers, a failure on errs.
type isolationLoad struct {
	nodes   []*proxiedNode
	phase   atomic.Int32
	answers chan answer
	errs    chan error
}

// answer is one attempt's outcome: 200 with the right count (ok), a 5xx that says why, no answer
// within answerBound (unanswered, unless strict), or cut short by the end of the load (stopped:
// the add may or may not have been applied).
type answer struct {
	key        int
	node       uint64
	sent       int32 // the phase when the call was sent
	answered   int32 // the phase when its answer came
	ok         bool
	unanswered bool
	stopped    bool
	text       string
}

// run adds to key k until ctx ends (the load stops).
func (l *isolationLoad) run(ctx context.Context, k int) {
	for i := 0; ctx.Err() == nil; i++ {
		if !l.add(ctx, k, i) {
			return
		}
	}
}

// add sends the i-th add of key k, through node after node, until one acknowledges it; false if
// the load stops first or the answer is wrong.
func (l *isolationLoad) add(ctx context.Context, k, i int) bool {
	tag := fmt.Sprintf("k%d-%d", k, i)
	want := fmt.Sprint(i + 1)
	for attempt := 0; ; attempt++ {
		node := l.nodes[(k+i+attempt)%len(l.nodes)]
		sent := l.phase.Load()
		r, err := postWithin(ctx, node.Ingress+fmt.Sprintf("/Counter/k%d/add", k), fmt.Sprintf(`{"n":1,"tag":%q}`, tag), tag)
		a := answer{key: k, node: node.id, sent: sent, answered: l.phase.Load(), text: r.String()}
		got := strings.TrimSpace(string(r.Body))
		switch {
		case ctx.Err() != nil:
			a.stopped = true
		case err == nil && r.Status == http.StatusOK && got == want:
			a.ok = true
		case err == nil && r.Status == http.StatusOK:
			l.errs <- fmt.Errorf("add %s through node %d (phase %d): answered %s, want %s", tag, node.id, sent, got, want)
			return false
		case err == nil && r.Status >= 500 && got != "":
		case errors.Is(err, context.DeadlineExceeded) && !*strictIsolation:
			a.unanswered, a.text = true, err.Error()
		default:
			l.errs <- fmt.Errorf("add %s through node %d (phase %d): %v %v, want 200 or a 5xx that says why within %v", tag, node.id, sent, r, err, answerBound)
			return false
		}
		l.answers <- a
		if a.ok || a.stopped {
			return a.ok
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// postWithin POSTs body to url with the idempotency key tag (none if empty), waiting at most
// answerBound for the answer.
func postWithin(ctx context.Context, url, body, tag string) (testenv.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, answerBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return testenv.Reply{}, err
	}
	req.Header.Set("content-type", "application/json")
	if tag != "" {
		req.Header.Set("idempotency-key", tag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return testenv.Reply{}, fmt.Errorf("POST %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return testenv.Reply{}, fmt.Errorf("POST %s: read body: %w", req.URL.Path, err)
	}
	return testenv.Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// tally counts the answers TestIsolatedNode waits for and checks; only the test goroutine uses it.
type tally struct {
	victim          uint64
	adds            []int // per key: adds acknowledged
	stopped         []int // per key: adds cut short by the end of the load (0 or 1)
	all             int   // adds acknowledged
	majorityAtCut   int   // adds sent during the cut and acknowledged through the majority
	victimAtCut     int   // calls sent to the victim during the cut and answered during it
	victimErrors    int   // of those, answered with a 5xx
	victimFirstErr  string
	unanswered      [stopping]int // per phase sent: calls left unanswered past answerBound
	firstUnanswered string
	victimAfterHeal int // adds sent to the victim after the heal and acknowledged
	retried         int // attempts answered with a 5xx or not at all, any node, any phase
}

func (c *tally) add(a answer) {
	switch {
	case a.stopped:
		c.stopped[a.key]++
		return
	case a.unanswered:
		c.unanswered[a.sent]++
		if c.firstUnanswered == "" {
			c.firstUnanswered = fmt.Sprintf("add to k%d through node %d sent in phase %d: %s", a.key, a.node, a.sent, a.text)
		}
	}
	if !a.ok {
		c.retried++
	}
	if a.node == c.victim && a.sent == duringCut && a.answered == duringCut && !a.unanswered {
		c.victimAtCut++
		if !a.ok {
			c.victimErrors++
			if c.victimFirstErr == "" {
				c.victimFirstErr = a.text
			}
		}
	}
	if !a.ok {
		return
	}
	c.adds[a.key]++
	c.all++
	switch {
	case a.sent == duringCut && a.node != c.victim:
		c.majorityAtCut++
	case a.sent == healed && a.node == c.victim:
		c.victimAfterHeal++
	}
}

// TestIsolatedNode: three server processes whose Raft and remoting traffic passes through fault
// proxies; adds with idempotency keys run against every node's ingress, each retried through the
// next node until acknowledged. The node leading a busy partition is cut off: nothing from the
// other two reaches it. The majority goes on (adds sent through the two others after the cut are
// acknowledged, and the busy partition gets a leader among them); the isolated node answers the
// calls sent to it during the cut with a clear error (a 5xx that says why) or the right count,
// never a wrong one. After the heal the isolated node serves again, every node agrees on the
// cluster and answers every key with its number of acknowledged adds (none lost, none applied
// twice; an add cut short when the load stops may count or not), and no journaled Run ran twice.
func TestIsolatedNode(t *testing.T) {
	nodes := startProxiedCluster(t, 3)
	var runs sync.Map
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, countingSteps(&runs).Handler())); err != nil {
		t.Fatal(err)
	}
	servers := make([]*testenv.Server, len(nodes))
	for i, n := range nodes {
		servers[i] = n.Server
	}
	checkClusterHealth(t, servers)

	const keys = 8
	// The victim leads the partition of k0, which the load keeps busy.
	busy := partitionShard(t, servers[0], ids.KeyedPartitionKey("Counter", "k0").Partition(4))
	victim := nodes[leaderOf(t, servers[0], busy)-1]
	majority := nodes[victim.id%3]
	l := &isolationLoad{nodes: nodes, answers: make(chan answer, 1<<16), errs: make(chan error, keys)}
	c := &tally{victim: victim.id, adds: make([]int, keys), stopped: make([]int, keys)}

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for k := range keys {
		wg.Go(func() { l.run(ctx, k) })
	}
	stopLoad := func() {
		l.phase.Store(stopping)
		stop()
		wg.Wait()
	}
	defer stopLoad() // on a failure below, stop the load before the servers go
	// A bound on a hung cluster, not a timing target.
	deadline := time.After(3 * time.Minute)
	// await counts answers until done holds.
	await := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case a := <-l.answers:
				c.add(a)
			case err := <-l.errs:
				t.Fatalf("%s: %v", what, err)
			case <-deadline:
				t.Fatalf("%s: not by the deadline; so far %+v", what, *c)
			}
		}
	}

	began := time.Now()
	await("adds before the cut", func() bool { return c.all >= 2*keys })
	l.phase.Store(duringCut)
	victim.isolate()
	t.Logf("node %d (leader of shard %d) cut off after %d adds (%v)", victim.id, busy, c.all, time.Since(began).Round(time.Millisecond))

	// The majority goes on: adds sent through the two other nodes after the cut are acknowledged.
	// The victim answers the calls sent to it meanwhile (each answer checked by the load).
	await("adds through the majority and the isolated node's answers after the cut", func() bool {
		return c.majorityAtCut >= keys && c.victimAtCut >= 2
	})
	if lead := leaderOf(t, majority.Server, busy); lead == victim.id || lead == 0 {
		t.Errorf("node %d sees shard %d led by %d after the cut, want one of the majority", majority.id, busy, lead)
	}
	// Cut off, the victim cannot learn any call's result: what it answers is refusals.
	if c.victimErrors == 0 {
		t.Errorf("the isolated node answered the %d calls sent to it during the cut with no error; want a clear error", c.victimAtCut)
	}

	l.phase.Store(healed)
	victim.heal()
	t.Logf("node %d healed after %d adds (%v)", victim.id, c.all, time.Since(began).Round(time.Millisecond))
	await("adds through the healed node", func() bool { return c.victimAfterHeal >= keys })
	stopLoad()
	t.Logf("load stopped after %d adds (%v)", c.all, time.Since(began).Round(time.Millisecond))
	close(l.answers)
	for a := range l.answers {
		c.add(a)
	}
	close(l.errs)
	for err := range l.errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	checkClusterHealth(t, servers)
	// Each key's count, read through every node in turn, is its acknowledged adds, or more by
	// the add cut short when the load stopped (applied or not; it may still be applied between
	// two reads, never undone).
	for k := range keys {
		floor := c.adds[k]
		for _, n := range nodes {
			r, err := postWithin(t.Context(), n.Ingress+fmt.Sprintf("/Counter/k%d/add", k), fmt.Sprintf(`{"n":0,"tag":"k%d-read-%d"}`, k, n.id), "")
			got, perr := strconv.Atoi(strings.TrimSpace(string(r.Body)))
			if err != nil || r.Status != http.StatusOK || perr != nil || got < floor || got > c.adds[k]+c.stopped[k] {
				t.Errorf("key k%d through node %d after the heal: %v %v, want %d to %d (acknowledged adds, and one cut short), at least %d (read before)",
					k, n.id, r, err, c.adds[k], c.adds[k]+c.stopped[k], floor)
				continue
			}
			floor = got
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
	// A Run in flight when its partition's leader is cut off may run again on the new leader; a
	// journaled one never does. Those in flight are at most one per key.
	if twice > keys {
		t.Errorf("%d adds ran their Run more than once, more than the %d that can be in flight at the cut", twice, keys)
	}
	t.Logf("isolated node %d answered %d calls during the cut, %d with an error (the first: %s); %d adds through the majority during the cut; %d attempts not acknowledged in all; adds per key %v, cut short %v",
		victim.id, c.victimAtCut, c.victimErrors, c.victimFirstErr, c.majorityAtCut, c.retried, c.adds, c.stopped)
	if u := c.unanswered; u != [stopping]int{} {
		t.Logf("KNOWN GAP: calls left unanswered for %v, by phase sent (before the cut, during, after the heal): %v; the first: %s. -isolation.strict fails on these",
			answerBound, u, c.firstUnanswered)
	}
}
