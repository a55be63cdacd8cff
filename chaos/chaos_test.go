//go:build linux

package chaos_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/chaos"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestChaos is the short run (about a minute): four kills in 24 s, one of each
// kind at least. RESOLUTE_CHAOS_LONG=1 makes it the long run (50 kills in
// 600 s; give go test a -timeout of 30m); RESOLUTE_CHAOS_SEED=<n> replays a
// schedule.
func TestChaos(t *testing.T) {
	runChaos(t, chaos.Config{Cycles: 4, Duration: 24 * time.Second})
}

// TestChaosCluster is the short run against a three-node cluster (about 40
// s): in 20 s, a kill of one node (restarted on its data directory), of each
// deployment, and the isolation of one node from the others (a network
// partition through the proxies in front of its Raft and remoting
// listeners, healed after 1-3 s), requests entering by every node.
// RESOLUTE_CHAOS_LONG=1 makes it the long run (50 faults in 600 s),
// RESOLUTE_CHAOS_SEED=<n> replays a schedule, as for TestChaos.
func TestChaosCluster(t *testing.T) {
	runChaos(t, chaos.Config{Nodes: 3, Cycles: len(chaos.ClusterKillKinds), Duration: 20 * time.Second})
}

// runChaos runs the checker with cfg (made the long run, or given a seed, by
// the environment) and requires it to pass with every kind of fault landing
// while requests are in flight.
func runChaos(t *testing.T, cfg chaos.Config) {
	cfg.WorkDir, cfg.Log = keptOnFailure(t), testLog{t}
	if os.Getenv("RESOLUTE_CHAOS_LONG") == "1" {
		cfg.Cycles, cfg.Duration = 50, 600*time.Second
	}
	if s := os.Getenv("RESOLUTE_CHAOS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RESOLUTE_CHAOS_SEED=%q: %v", s, err)
		}
		cfg.Seed = seed
	}
	cfg.ServerBin, cfg.DeploymentBin = binaries(t)

	rep, err := chaos.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("seed %d: %v", rep.Seed, err)
	}
	t.Logf("\n%s", rep.Table())
	if !rep.Pass {
		dumpLogs(t, rep.WorkDir)
		t.Fatalf("chaos run failed (seed %d; replay with RESOLUTE_CHAOS_SEED=%d)", rep.Seed, rep.Seed)
	}
	assertKillsNotVacuous(t, rep, chaos.KillKindsFor(cfg.Nodes))
}

// assertKillsNotVacuous requires a kill of each kind with requests in
// flight, of a node leading a partition in a cluster.
func assertKillsNotVacuous(t *testing.T, rep chaos.Report, kinds []string) {
	t.Helper()
	busy := map[string]int{}
	for _, k := range rep.Kills {
		// A fault of a node counts when it led a partition: leadership moved.
		if k.InFlight > 0 && (k.Node == 0 || k.Leading > 0) {
			busy[k.Kind]++
		}
	}
	for _, k := range rep.Kills {
		if k.Kind == chaos.KillIsolate && k.Isolated.Sent() == 0 {
			t.Errorf("no request entered by node %d while it was cut off (%v): the isolation was not seen by the clients", k.Node, k.Cut)
		}
	}
	for _, kind := range kinds {
		if busy[kind] == 0 {
			t.Errorf("no %s kill with requests in flight (kills: %+v)", kind, rep.Kills)
		}
	}
	if tm := rep.Timers; tm.Sleeps == 0 || tm.Delayed == 0 || tm.Before == 0 || tm.During == 0 || tm.After == 0 {
		t.Errorf("timers: want sleeps, delayed sends, and timers armed before a kill due in the second before it, while down and after the restart; got %+v", tm)
	}
	if aw := rep.Awakeables; aw.Waits == 0 || aw.Rejections == 0 || aw.Seconds == 0 || aw.Pairs == 0 || aw.AtKill == 0 || aw.InFlightAtServerKill == 0 {
		t.Errorf("awakeables: want waits, rejections, second resolutions, pairs sent at once, resolutions sent as a kill began and in flight at a kill of the server; got %+v", aw)
	}
	if wf := rep.Promised; wf.Runs == 0 || wf.Early == 0 || wf.Refused == 0 || wf.Resent == 0 || wf.Recalled == 0 ||
		wf.ViaHandler == 0 || wf.ViaHandler == wf.Runs {
		t.Errorf("workflows: want runs, promises completed before the run, second completions refused, runs sent and called again, outputs attached from a handler and over ingress; got %+v", wf)
	}
	if rep.Ops < 100 {
		t.Errorf("only %d operations: the workload did not run", rep.Ops)
	}
}

// shared are the binaries the tests of this package share, built once.
var shared struct {
	once               sync.Once
	dir                string
	server, deployment string
	err                error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// binaries returns the server (RESOLUTE_BIN if set) and the deployment
// binaries, built on first use.
func binaries(t *testing.T) (server, deployment string) {
	t.Helper()
	_, err := exec.LookPath("go")
	testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build the binaries)")
	shared.once.Do(func() {
		start := time.Now()
		root, err := testenv.ModuleRoot()
		if err != nil {
			shared.err = err
			return
		}
		if shared.dir, shared.err = os.MkdirTemp("", "resolute-chaos-test-"); shared.err != nil {
			return
		}
		shared.server = os.Getenv("RESOLUTE_BIN")
		shared.deployment = filepath.Join(shared.dir, "resolute-chaos-deployment")
		if shared.err = chaos.Build(t.Context(), root, shared.deployment, chaos.DeploymentPkg, ""); shared.err != nil {
			return
		}
		if shared.server == "" {
			shared.server = filepath.Join(shared.dir, "resolute")
			shared.err = chaos.Build(t.Context(), root, shared.server, chaos.ServerPkg, "")
		}
		t.Logf("built the binaries in %v", time.Since(start).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.server, shared.deployment
}

// keptOnFailure is a new work directory, removed when the test passes and
// kept (its path logged) for a look at the data and logs when it fails.
func keptOnFailure(t *testing.T) string {
	dir, err := os.MkdirTemp("", "resolute-chaos-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("work directory kept: %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// dumpLogs prints the tails of the process logs of a failed run.
func dumpLogs(t *testing.T, workDir string) {
	logs, _ := filepath.Glob(filepath.Join(workDir, "logs", "*.log"))
	for _, l := range logs {
		data, err := testenv.ReadTail(l, 16<<10)
		if err != nil {
			continue
		}
		t.Logf("===== %s (tail) =====\n%s", filepath.Base(l), testenv.StripANSI(data))
	}
}

// testLog sends progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
