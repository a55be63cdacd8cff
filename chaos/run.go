//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// Config says how long and how hard to shake the system.
type Config struct {
	// Seed draws the operations, their keys and the kill schedule; 0 picks one
	// from the clock. Report.Seed is the seed used, to replay with.
	Seed uint64
	// Nodes is the number of server processes: 0 or 1 runs one server
	// alone, more form a cluster (--node-id, --peers; Raft and remoting
	// behind proxies), each with its own data directory, ingress and admin
	// port; the workload spreads its requests over every node's ingress.
	Nodes int
	// Cycles is the number of faults: kills of the server, the Counter
	// deployment, the Workflowish deployment, or all three; in a cluster,
	// a kill of one node or of a deployment, or the isolation of one node
	// (KillKindsFor). Default 4.
	Cycles int
	// Duration is the length of the workload under kills; the kills are
	// spread over it. Default 30s.
	Duration time.Duration
	// Workers is the number of concurrent clients. Default 6.
	Workers int
	// HotKeys and ColdKeys are the numbers of Counter keys; 70% of operations
	// go to a hot key. Defaults 3 and 40.
	HotKeys, ColdKeys int
	// MaxOpsPerWorker bounds the workload. Default 100000.
	MaxOpsPerWorker int
	// Pause is the largest pause of a worker between two operations. Default 10ms.
	Pause time.Duration
	// DrainTimeout bounds the drain: outstanding operations, attaches, dumps. Default 90s.
	DrainTimeout time.Duration
	// ServerArgs are added to every server's command line, e.g.
	// --log-level debug.
	ServerArgs []string
	// ServerBin and DeploymentBin are the binaries of `resolute` and
	// `resolute-chaos-deployment`; both are required.
	ServerBin, DeploymentBin string
	// WorkDir holds the data directory, the logs and the execution log; a new
	// temporary directory if empty (kept, its path is in the report).
	WorkDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Cycles <= 0 {
		c.Cycles = 4
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 6
	}
	if c.HotKeys <= 0 {
		c.HotKeys = 3
	}
	if c.ColdKeys <= 0 {
		c.ColdKeys = 40
	}
	if c.MaxOpsPerWorker <= 0 {
		c.MaxOpsPerWorker = 100000
	}
	if c.Pause <= 0 {
		c.Pause = 10 * time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 90 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// startupTimeout covers a cold start of the server, including recovery.
const startupTimeout = 90 * time.Second

// Run starts the server and the deployment, drives the workload while
// killing them Cycles times, drains, and checks. The error is for a run that
// could not be carried out (a binary missing, a process that would not
// start); a run that found a violation returns a Report with Pass false.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	rep := Report{Seed: cfg.Seed}
	if cfg.ServerBin == "" || cfg.DeploymentBin == "" {
		return rep, fmt.Errorf("chaos: ServerBin and DeploymentBin are required")
	}
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "resolute-chaos-")
		if err != nil {
			return rep, err
		}
		cfg.WorkDir = dir
	}
	rep.WorkDir = cfg.WorkDir
	logf(cfg, "seed %d (replay with --seed %d), work dir %s", cfg.Seed, cfg.Seed, cfg.WorkDir)
	sys, err := startSystem(ctx, cfg)
	if err != nil {
		return rep, err
	}
	defer sys.close()
	r := &run{cfg: cfg, sys: sys, rng: rand.New(rand.NewPCG(cfg.Seed, 0xc4a05))}
	if err := r.shake(ctx); err != nil {
		r.hardCancel()
		r.workers.Wait()
		if r.resolver != nil {
			_, _ = r.resolver.finish(ctx)
		}
		return rep, err
	}
	r.drain(ctx)
	execs, err := deployment.ReadExecLog(sys.execLog)
	if err != nil {
		return rep, err
	}
	r.tallyIsolations()
	rep.Kills, rep.Ops = r.kills, len(r.ops)
	rep.ServerLogs = filepath.Join(cfg.WorkDir, "logs")
	rep.Checks = check(r, execs)
	rep.Timers = timerStats(r, timers(r, decodeOutputs(r.ops)))
	rep.Awakeables = awakeStats(r)
	rep.Promised = promisedStats(r)
	rep.Pass = true
	for _, c := range rep.Checks {
		rep.Pass = rep.Pass && c.OK
	}
	// The table stays with the logs it is read with.
	if err := os.WriteFile(filepath.Join(cfg.WorkDir, "report.txt"), []byte(rep.Table()), 0o644); err != nil {
		logf(cfg, "writing the report: %v", err)
	}
	return rep, nil
}

func logf(cfg Config, format string, args ...any) {
	fmt.Fprintf(cfg.Log, "chaos: "+format+"\n", args...)
}

// run is one checker run: the workload's operations and the kills.
type run struct {
	cfg    Config
	sys    *system
	rng    *rand.Rand // the kill schedule; the main goroutine only
	client *client
	start  time.Time // when the workload started: op times count from it
	kills  []Kill
	ops    []*op // every op once the workers stopped, fanout subs included after the drain
	keys   keys
	dumps  map[string]deployment.State
	// resolver resolves the awakeables of await ops while the workload and
	// the drain run; awaited is what it learned and sent, by op id.
	resolver *resolver
	awaited  map[string]*awaited
	// drained is what the drain measured: how long it took, and how many
	// Run executions were recorded when it ended (checkStuck compares the
	// execution log read after the quiet period with it).
	drained struct {
		took     time.Duration
		execs    int
		slowest  string // the request of the whole run that waited longest
		timedOut int    // requests left without an answer for requestTimeout
	}
	// orphans are the running invocations without an attempt after the drain.
	orphans struct {
		ids []string
		err error
	}
	hard       context.Context // ends at the drain deadline: no request is sent after it
	hardCancel context.CancelFunc
	workers    sync.WaitGroup
}

// killKinds is the schedule of kinds: each kind once in a seeded order, then
// seeded draws.
func (r *run) killKinds() []string {
	all := KillKindsFor(r.cfg.Nodes)
	kinds := slices.Clone(all)
	r.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	for len(kinds) < r.cfg.Cycles {
		kinds = append(kinds, all[r.rng.IntN(len(all))])
	}
	return kinds[:r.cfg.Cycles]
}

// shake runs the workload for cfg.Duration with the kills spread over it,
// then stops the workers from starting new operations.
func (r *run) shake(ctx context.Context) error {
	start := time.Now()
	r.start = start
	r.client = newClient(r.sys.ingresses(), start)
	r.keys = newKeys(r.cfg.HotKeys, r.cfg.ColdKeys)
	stop, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	hard, hardCancel := context.WithTimeout(ctx, r.cfg.Duration+r.cfg.DrainTimeout)
	r.hard, r.hardCancel = hard, hardCancel
	r.resolver = startResolver(hard, r.client, r.sys.execLog, r.cfg.Seed)
	for w := range r.cfg.Workers {
		rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w+1)))
		r.workers.Go(func() {
			r.client.worker(stop, hard, rng, r.keys, w, r.cfg.MaxOpsPerWorker, r.cfg.Pause)
		})
	}
	per := r.cfg.Duration / time.Duration(r.cfg.Cycles)
	for i, kind := range r.killKinds() {
		at := per*time.Duration(i) + time.Duration(float64(per)*(0.25+0.6*r.rng.Float64()))
		down := time.Duration(r.rng.Int64N(int64(400 * time.Millisecond)))
		sleepCtx(ctx, time.Until(start.Add(at)))
		if err := r.kill(ctx, kind, start, down); err != nil {
			return err
		}
	}
	sleepCtx(ctx, time.Until(start.Add(r.cfg.Duration)))
	stopWorkers()
	return ctx.Err()
}

// kill SIGKILLs the processes of kind while requests are in flight, waits
// down, and restarts them; or (KillIsolate) cuts a node off from the others
// for isolation(down), and heals.
func (r *run) kill(ctx context.Context, kind string, start time.Time, down time.Duration) error {
	var victim, led int // of a fault of one node, drawn before the moment is chosen
	if kind == KillNode || kind == KillIsolate {
		victim, led = r.sys.pickNode(ctx, r.rng)
	}
	// Wait (briefly) for requests in flight, so the kill is not vacuous.
	_ = waitFor(ctx, 2*time.Second, "requests in flight", func() error {
		if r.client.inFlight.Load() == 0 {
			return fmt.Errorf("none")
		}
		return nil
	})
	// Then for a Run body to execute, and a seeded 0-2 ms more: the kill
	// lands in a body, or while its result, a state write or an output is
	// being journaled.
	r.waitRunExecuted(ctx)
	r.resolver.killing()
	sleepCtx(ctx, time.Duration(r.rng.Int64N(int64(2*time.Millisecond))))
	k := Kill{Kind: kind, At: time.Since(start), InFlight: int(r.client.inFlight.Load())}
	t0 := time.Now()
	if kind == KillIsolate {
		k.Node, k.Leading = victim, led
		cut, err := r.isolate(ctx, r.sys.nodes[victim-1], r.isolation(down))
		if err != nil {
			return err
		}
		k.Cut = cut
		k.Downtime = time.Since(t0)
		r.kills = append(r.kills, k)
		logf(r.cfg, "fault %d: %s at %v with %d requests in flight; healed and every node ready after %v",
			len(r.kills), k.name(), k.At.Round(time.Millisecond), k.InFlight, k.Downtime.Round(time.Millisecond))
		return nil
	}
	var svcs []*service
	switch kind {
	case KillServer:
		svcs = []*service{r.sys.nodes[0].svc}
	case KillNode:
		k.Node, k.Leading = victim, led
		svcs = []*service{r.sys.nodes[k.Node-1].svc}
	case KillCounter:
		svcs = []*service{r.sys.counter}
	case KillWorkflow:
		svcs = []*service{r.sys.workflow}
	default:
		svcs = append([]*service{r.sys.counter, r.sys.workflow}, r.sys.nodeServices()...)
	}
	for _, s := range svcs {
		s.kill()
	}
	sleepCtx(ctx, down)
	// Deployments first, then the nodes together (a cluster's nodes are
	// ready only once a quorum runs).
	if err := startAll(ctx, svcs); err != nil {
		return err
	}
	k.Downtime = time.Since(t0)
	r.kills = append(r.kills, k)
	logf(r.cfg, "kill %d: %s at %v with %d requests in flight; back after %v",
		len(r.kills), k.name(), k.At.Round(time.Millisecond), k.InFlight, k.Downtime.Round(time.Millisecond))
	return nil
}

// minIsolation is the shortest isolation of a node: many election timeouts
// (100 ms), so that the majority elects new leaders while it lasts.
const minIsolation = time.Second

// longIsolation outlasts the 10 s for which a node's ingress waits for a
// partition's leader before it answers 503.
const longIsolation = 12 * time.Second

// isolation is how long to cut a node off, given the seeded down time (up
// to 400 ms): 1-3 s; in a run of 10 faults or more, one isolation in three
// lasts longIsolation, so that the isolated node's callers get its 503.
func (r *run) isolation(down time.Duration) time.Duration {
	if r.cfg.Cycles >= 10 && r.rng.IntN(3) == 0 {
		return longIsolation
	}
	return minIsolation + 5*down
}

// isolate cuts n off from the other nodes for d, heals, and waits until
// every node is ready again. It returns how long n was cut off.
//
// While n is cut off, one more worker sends its operations by n's ingress
// only (each until acknowledged, as every worker): the workers spread over
// every ingress may all be waiting on answers for the whole cut, and then
// no client would see the isolation.
func (r *run) isolate(ctx context.Context, n *node, d time.Duration) (time.Duration, error) {
	t0 := time.Now()
	n.cut()
	probing, stopProbing := context.WithCancel(ctx)
	w := r.cfg.Workers + len(r.kills) // an op id no other worker draws
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w+1)))
	r.workers.Go(func() {
		r.client.worker(probing, viaIngress(r.hard, n.id-1), rng, r.keys, w, r.cfg.MaxOpsPerWorker, r.cfg.Pause)
	})
	sleepCtx(ctx, d)
	stopProbing()
	n.heal()
	cut := time.Since(t0)
	for _, nd := range r.sys.nodes {
		if err := nd.svc.waitReady(ctx, startupTimeout); err != nil {
			return cut, err
		}
	}
	return cut, nil
}

// tallyIsolations counts, for each isolation, the requests that entered by
// the isolated node's ingress while it was cut off, by their answer.
func (r *run) tallyIsolations() {
	xs := r.client.exchanges()
	for i := range r.kills {
		k := &r.kills[i]
		if k.Kind != KillIsolate {
			continue
		}
		from, to := int64(k.At), int64(k.At+k.Cut)
		for _, x := range xs {
			if x.ingress != k.Node-1 || x.sent < from || x.sent >= to {
				continue
			}
			switch {
			case x.status == 0:
				k.Isolated.NoAnswer++
			case x.done >= to:
				k.Isolated.AfterHeal++
			case x.status/100 == 2:
				k.Isolated.OK++
			case x.status/100 == 5:
				k.Isolated.Unavailable++
			default:
				k.Isolated.Other++
			}
			k.Isolated.Longest = max(k.Isolated.Longest, time.Duration(x.done-x.sent))
		}
	}
}

// waitRunExecuted waits up to 1s for the execution log to grow.
func (r *run) waitRunExecuted(ctx context.Context) {
	size := func() int64 {
		st, err := os.Stat(r.sys.execLog)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	before := size()
	deadline := time.Now().Add(time.Second)
	for size() == before && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(200 * time.Microsecond)
	}
}

// drain waits for the workers' outstanding operations, attaches to every
// acknowledged idempotent operation (and to the adds sent by fanouts) for
// its final output, reads every counter, then marks the execution log and
// waits quietPeriod, so that checkStuck can tell whether anything still ran.
func (r *run) drain(ctx context.Context) {
	t0 := time.Now()
	defer r.hardCancel()
	r.workers.Wait()
	dctx, cancel := context.WithTimeout(ctx, r.cfg.DrainTimeout)
	defer cancel()
	r.ops = withSubs(r.client.ops())
	r.resolver.release()
	r.attachAll(dctx, toAttach(r.ops))
	var err error
	if r.awaited, err = r.resolver.finish(dctx); err != nil {
		logf(r.cfg, "reading the execution log for awakeables: %v", err)
	}
	r.dumpAll(dctx)
	r.drained.took = time.Since(t0)
	xs := r.client.exchanges()
	r.drained.slowest, r.drained.timedOut = slowest(xs), timedOut(xs)
	// Something still in flight would execute a Run body in the quiet
	// period: checkStuck compares the execution log with this mark.
	at, _ := deployment.ReadExecLog(r.sys.execLog)
	r.drained.execs = len(at)
	logf(r.cfg, "drained %d operations in %v; quiet for %v", len(r.ops), r.drained.took.Round(time.Millisecond), quietPeriod)
	sleepCtx(ctx, quietPeriod)
	r.orphans.ids, r.orphans.err = readAllOrphans(ctx, r.sys.nodes)
}

// quietPeriod is how long the checker watches for Run executions after
// the drain.
const quietPeriod = 2 * time.Second

// withSubs appends to ops the adds sent by their fanouts. A fanout's sends
// exist once it is acknowledged; the adds of one that never was may or may
// not have been sent, so a sub is acknowledged when its fanout is.
func withSubs(ops []*op) []*op {
	all := ops
	for _, o := range ops {
		for _, s := range o.subs {
			all = append(all, &op{id: s.ID, kind: kindSub, key: s.Key, delta: s.Delta, delay: s.DelayMs, idem: true, parent: o, call: o.call, acked: o.acked})
		}
	}
	return all
}

// toAttach are the ops whose final output the drain fetches: every
// acknowledged idempotent op.
func toAttach(ops []*op) []*op {
	var attach []*op
	for _, o := range ops {
		if o.acked && o.idem {
			attach = append(attach, o)
		}
	}
	return attach
}

func (r *run) attachAll(ctx context.Context, ops []*op) {
	next := make(chan *op)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for o := range next {
				r.client.attach(ctx, o)
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
}

// dumpAll reads the state of every counter.
func (r *run) dumpAll(ctx context.Context) {
	r.dumps = map[string]deployment.State{}
	for _, key := range append(append([]string(nil), r.keys.hot...), r.keys.cold...) {
		for try := 1; ctx.Err() == nil; try++ {
			a := r.client.post(ctx, "/Counter/"+key+"/dump", nil, "")
			if a.ok() {
				var s deployment.State
				if err := json.Unmarshal(a.body, &s); err == nil {
					r.dumps[key] = s
				}
				break
			}
			sleepCtx(ctx, backoff(try))
		}
	}
}
