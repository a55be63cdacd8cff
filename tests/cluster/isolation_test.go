package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/internal/faultproxy"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/sdk"
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

// freeze stops the node's process (SIGSTOP) until thaw: its connections stay open and the
// kernel keeps them, but the node answers nothing, to anyone, as a node whose network dropped
// every packet both ways or a machine that hangs. (Proxies cut only what the others send to the
// node: it still reaches them over its own connections, and protoactor's remoting answers
// requests over those.)
func (n *proxiedNode) freeze(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(n.Proc().Pid(), syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze node %d: %v", n.id, err)
	}
	t.Cleanup(n.thaw) // before the process is stopped: a stopped process ignores SIGTERM
}

// thaw lets a frozen node run again.
func (n *proxiedNode) thaw() { _ = syscall.Kill(n.Proc().Pid(), syscall.SIGCONT) }

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

// answerBound is how long a call may wait for its answer: half as long again as the longest wait
// the server imposes on a request whose partition has no reachable leader, after which it answers
// 503 (measured: 10.2 s for a 10 s wait).
const answerBound = partition.DefaultNoLeaderWait * 3 / 2

// strictIsolation (the default) makes TestIsolatedNode fail when a node leaves a call unanswered
// past answerBound, and runs TestIsolatedLeaderAnswers. Calls in flight at the cut used to stay
// unanswered (at the isolated node, waiting for a result that cannot reach it; at the others,
// waiting on the isolated leader over remoting); the router now gives up on a leader that lost
// the partition and asks the new one. -isolation.strict=false counts such calls as unanswered,
// retries them through the next node with their idempotency key, as a client would, and logs how
// many there were.
var strictIsolation = flag.Bool("isolation.strict", true, "TestIsolatedNode: a call left unanswered past its bound fails the test")

// isolationLoad is TestIsolatedNode's load: per key, a sequence of adds of 1, each with its own
// idempotency key, retried through the next node until one answers 200; so the i-th add's only
// correct answer is i+1. Each attempt's outcome is reported on answers, a failure on errs.
type isolationLoad struct {
	nodes   []*proxiedNode
	victim  uint64 // the node cut off
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
		case errors.Is(err, context.DeadlineExceeded) && (!*strictIsolation || sent == beforeCut && node.id == l.victim):
			// Even strict, a call sent through the victim before the cut may be held until the
			// heal: a known gap (seen with the cut held 21 s: unanswered after 20 s), logged
			// below as such; the calls sent to it during the cut must be answered.
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
	return post(ctx, url, body, tag)
}

// post POSTs body to url with the idempotency key tag (none if empty) until ctx ends.
func post(ctx context.Context, url, body, tag string) (testenv.Reply, error) {
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
	l := &isolationLoad{nodes: nodes, victim: victim.id, answers: make(chan answer, 1<<16), errs: make(chan error, keys)}
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
	testenv.WaitReady(t, "the majority leads the busy partition", 30*time.Second, func() error {
		if lead := leaderOf(t, majority.Server, busy); lead == victim.id || lead == 0 {
			return fmt.Errorf("node %d sees shard %d led by %d after the cut, want one of the majority", majority.id, busy, lead)
		}
		return nil
	})
	// Cut off, the victim cannot learn any call's result: what it answers is refusals.
	if c.victimErrors == 0 {
		t.Errorf("the isolated node answered the %d calls sent to it during the cut with no error; want a clear error", c.victimAtCut)
	}

	l.phase.Store(healed)
	victim.heal()
	t.Logf("node %d healed after %d adds (%v)", victim.id, c.all, time.Since(began).Round(time.Millisecond))
	await("adds through the healed node", func() bool { return c.victimAfterHeal >= keys/2 })
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
		t.Logf("KNOWN GAP: calls left unanswered for %v, by phase sent (before the cut, during, after the heal): %v; the first: %s. Strict, only those sent through the victim before the cut are let through",
			answerBound, u, c.firstUnanswered)
	}
}

// blockingCounter is the counting service whose add, once started, waits until release is
// closed (or a minute has passed), having told entered its key.
func blockingCounter(entered chan<- string, release <-chan struct{}) *sdk.Endpoint {
	c := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			select {
			case entered <- ctx.Key():
			default:
			}
			select {
			case <-release:
			case <-time.After(time.Minute):
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		}))
	return sdk.NewEndpoint().Bind(c)
}

// TestIsolatedLeaderAnswers (unless -isolation.strict=false): for every partition the
// node to be isolated leads, an add without idempotency key enters through that node and another
// through a node of the majority; once both have started running (so both are accepted, in the
// log) the node is cut off and the adds are let go. Each call must be answered within
// answerBound, with the count (1) or a 5xx that does not claim the request was not accepted; after
// the heal each key counts exactly 1. (Before the router gave up on a leader that lost the
// partition, the isolated node answered neither call within a minute, and the majority node
// answered 503 "The request was not accepted: it can be retried as it is" after about 44 s.)
func TestIsolatedLeaderAnswers(t *testing.T) {
	if !*strictIsolation {
		t.Skip("-isolation.strict=false")
	}
	nodes := startProxiedCluster(t, 3)
	servers := serversOf(nodes)
	isolatedLeaderAnswers(t, nodes, (*proxiedNode).isolate, (*proxiedNode).heal, false, func(healed bool) (*proxiedNode, []leaderAdd) {
		checkClusterHealth(t, servers)
		if healed {
			return nil, nil
		}
		victim := nodes[leaderOf(t, servers[0], partitionShard(t, servers[0], 0))-1]
		majority := nodes[victim.id%3]
		// Per partition the victim leads, a key for an add through the victim and one for an
		// add through the majority.
		var adds []leaderAdd
		for p := range 4 {
			if leaderOf(t, servers[0], partitionShard(t, servers[0], p)) == victim.id {
				adds = append(adds, keysOf(p, victim, majority)...)
			}
		}
		return victim, adds
	})
}

// TestIsolatedLeaderAnswersElsewhere: as TestIsolatedLeaderAnswers with four nodes and three
// replicas per partition, the adds entering through the node that holds no replica of their
// partition, and the leader frozen (SIGSTOP) rather than cut off: the entry node learns of no leader change from a replica of its own, only that the
// leader it waits on stopped answering its heartbeats; it then finds the new leader and attaches
// there, so each add answers its count, 1. (Without heartbeats such a call waited for the
// remoting's 30 s timeout and then on the silent leader again; with the leader search asking the
// silent node first and giving up after its one second, the new leader was never found.)
func TestIsolatedLeaderAnswersElsewhere(t *testing.T) {
	if !*strictIsolation {
		t.Skip("-isolation.strict=false")
	}
	nodes := startProxiedCluster(t, 4, "--replication-factor", "3")
	servers := serversOf(nodes)
	freeze := func(n *proxiedNode) { n.freeze(t) }
	isolatedLeaderAnswers(t, nodes, freeze, (*proxiedNode).thaw, true, func(healed bool) (*proxiedNode, []leaderAdd) {
		var ch clusterHealth
		testenv.WaitReady(t, "every shard has a leader", 30*time.Second, func() error {
			ch = getClusterHealth(t, servers[0])
			for _, sh := range ch.Shards {
				if sh.Leader == 0 || (sh.Partition != nil && len(sh.Replicas) != 3) {
					return fmt.Errorf("shard %d: replicas %v, leader %d", sh.Shard, sh.Replicas, sh.Leader)
				}
			}
			return nil
		})
		if healed {
			return nil, nil
		}
		victim := nodes[leaderOf(t, servers[0], partitionShard(t, servers[0], 0))-1]
		var adds []leaderAdd
		for _, sh := range ch.Shards {
			if sh.Partition == nil || sh.Leader != victim.id {
				continue
			}
			for _, n := range nodes {
				if !slices.Contains(sh.Replicas, n.id) {
					adds = append(adds, keysOf(int(*sh.Partition), n)...)
				}
			}
		}
		return victim, adds
	})
}

// leaderAdd is an add to key entering through entry.
type leaderAdd struct {
	key   string
	entry *proxiedNode
}

// keysOf picks, for each of entries, a key of its own in partition p.
func keysOf(p int, entries ...*proxiedNode) []leaderAdd {
	var adds []leaderAdd
	for k := 0; len(entries) > 0; k++ {
		if key := fmt.Sprintf("p%d-%d", p, k); ids.KeyedPartitionKey("Counter", key).Partition(4) == p {
			adds = append(adds, leaderAdd{key, entries[0]})
			entries = entries[1:]
		}
	}
	return adds
}

func serversOf(nodes []*proxiedNode) []*testenv.Server {
	servers := make([]*testenv.Server, len(nodes))
	for i, n := range nodes {
		servers[i] = n.Server
	}
	return servers
}

// isolatedLeaderAnswers registers a blocking counter, asks plan for the node to isolate and the
// adds to make (once the cluster has settled), starts them, isolates the node once all run, lets
// them go, and checks every answer (with wantCount, each must be 200 with the count); after the
// heal it calls plan(true) to wait for the cluster to settle again and checks, through a node
// other than the isolated one, that each key counts 1.
func isolatedLeaderAnswers(t *testing.T, nodes []*proxiedNode, isolate, heal func(*proxiedNode), wantCount bool, plan func(healed bool) (*proxiedNode, []leaderAdd)) {
	t.Helper()
	entered, release := make(chan string, 64), make(chan struct{})
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, blockingCounter(entered, release).Handler())); err != nil {
		t.Fatal(err)
	}
	victim, adds := plan(false)
	if len(adds) == 0 {
		t.Fatalf("node %d leads no partition to test", victim.id)
	}
	type add = leaderAdd
	type outcome struct {
		add
		r    testenv.Reply
		err  error
		took time.Duration
	}
	// A guard on a hung call, well past answerBound, so that a late answer is still seen.
	guard := 4 * answerBound
	outcomes := make(chan outcome, len(adds))
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, a := range adds {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), guard)
			defer cancel()
			start := time.Now()
			r, err := post(ctx, a.entry.Ingress+"/Counter/"+a.key+"/add", "1", "")
			outcomes <- outcome{a, r, err, time.Since(start)}
		})
	}
	running := map[string]bool{}
	for len(running) < len(adds) {
		select {
		case key := <-entered:
			running[key] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("adds running: %v of %d", running, len(adds))
		}
	}
	isolate(victim)
	close(release)
	t.Logf("node %d cut off with adds running through it or others: %v", victim.id, adds)
	for range adds {
		o := <-outcomes
		t.Logf("add to %s through node %d: %v %v after %v", o.key, o.entry.id, o.r, o.err, o.took.Round(time.Millisecond))
		body := strings.TrimSpace(string(o.r.Body))
		switch {
		case o.err != nil:
			t.Errorf("add to %s through node %d: no answer in %v (%v), want one within %v", o.key, o.entry.id, guard, o.err, answerBound)
			continue
		case o.took > answerBound:
			t.Errorf("add to %s through node %d: answered after %v, want within %v", o.key, o.entry.id, o.took.Round(time.Millisecond), answerBound)
		}
		switch {
		case wantCount && (o.r.Status != http.StatusOK || body != "1"):
			t.Errorf("add to %s through node %d: %v; want its count, 1", o.key, o.entry.id, o.r)
		case o.r.Status == http.StatusOK && body != "1":
			t.Errorf("add to %s through node %d: answered %s, want 1", o.key, o.entry.id, body)
		case o.r.Status != http.StatusOK && (o.r.Status < 500 || strings.Contains(body, "not accepted")):
			t.Errorf("add to %s through node %d, which had started running: %v; want the count or an error that does not say it was not accepted", o.key, o.entry.id, o.r)
		}
	}
	heal(victim)
	plan(true)
	other := nodes[victim.id%uint64(len(nodes))]
	for _, a := range adds {
		if r, err := postWithin(t.Context(), other.Ingress+"/Counter/"+a.key+"/add", "0", ""); err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "1" {
			t.Errorf("%s after the heal: %v %v, want 1 (its add was accepted)", a.key, r, err)
		}
	}
}
