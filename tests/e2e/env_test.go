//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// Server kinds, as RESOLUTE_E2E_SERVERS names them.
const (
	ours     = "resolute"
	official = "restate"
)

const (
	// officialServerBin is the native binary shipped by npm @restatedev/restate-server.
	officialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
	// servicesDir holds the vendored TypeScript test services.
	servicesDir = "compat/e2e-services"
	// readyTimeout bounds a cold start of a server or of node.
	readyTimeout = 90 * time.Second
	// probeService is registered with every class (upstream registers it with most) so that
	// the runner can see the ingress route to the new deployment before a scenario starts.
	probeService = "TestUtilsService"
)

// scenario is one upstream test: name is the Kotlin (or vitest) test it ports. needs, when set,
// is the feature our server still lacks: the scenario is skipped on ours only, saying so.
// goNeeds, when set, is the feature our Go SDK (or its test services) still lacks: the scenario
// is skipped with the Go services, saying so.
type scenario struct {
	name    string
	needs   string
	goNeeds string
	run     func(t *testing.T, d *deployment)
}

// class is one upstream test class: the services its ServiceSpec deploys, the suites of
// upstream's TestSuites.kt it belongs to (nil: the default suite only) and its scenarios.
type class struct {
	services  []string
	suites    []suite
	scenarios []scenario
	env       []string // extra environment of the services process (upstream's ServiceSpec withEnv)
	// setup, when set, runs on each fresh server once the services are routable, before the
	// scenarios: what upstream configures at binding time and the TS contract does not (e.g.
	// a retention or ingress-private set through the admin API).
	setup func(t *testing.T, d *deployment)
	// sequential: the scenarios run one after the other (upstream's classes without
	// @Execution(CONCURRENT) whose scenarios restart a process the others use).
	sequential bool
	// tsOnly, when set, says why the class runs with the TypeScript services only (its
	// services are not part of the shared test-services contract): the other services kinds
	// skip it with that reason.
	tsOnly string
}

// suite is one configuration of upstream's TestSuites.kt: how each server is set up.
type suite struct {
	name     string
	ours     []string // resolute server flags
	official []string // restate-server environment
	// suspends: every invocation that waits suspends, so the suite checks that some did.
	suspends bool
	// lazy: keyed handlers start without their state, so the suite checks that some handler
	// read state lazily (suites_test.go).
	lazy bool
}

var (
	defaultSuite = suite{name: "default"}
	// alwaysSuspending is upstream's RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT=0s. Our
	// --inactivity-timeout takes 0 for "the default" (60 s), so ours gets 1 ns: the timer has
	// fired by the time the journal is sent, and the request stream ends there, as
	// restate-server's does with 0 s. (With 1 ms, a completion that arrives within the
	// millisecond keeps the stream open: our Go SDK's invocations of State did not suspend once.)
	alwaysSuspending = suite{
		name:     "alwaysSuspending",
		ours:     []string{"--inactivity-timeout", "1ns"},
		official: []string{"RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT=0s"},
		suspends: true,
	}
)

// deployment is a server under test with the class's services registered through a wiretap.
type deployment struct {
	kind     string // server kind
	services string // services kind
	ingress  string // base URL, no trailing slash
	admin    string
	tap      *testenv.Wiretap
	ran      atomic.Int32 // scenarios run (not skipped) on it
	// server restarts the server; servicesURL is the services endpoint behind the wiretap
	// (restart_test.go: KillRuntime, StopRuntime, SleepWithFailures).
	server      *serverProc
	servicesURL string
}

// runClass starts the class's services once per services kind and, per suite, server and
// services kind, a fresh server that all the scenarios share, running concurrently (upstream's
// @Execution(CONCURRENT)). Suites, servers and services kinds go one after the other: the
// services' process counters (Failing's attempts) are shared by everything that uses one
// process, and a class holds one server at a time (a restate-server takes 220 MB of disk).
func runClass(t *testing.T, c class) {
	// Classes run in parallel (go test -parallel, GOMAXPROCS by default): most of their time
	// is spent waiting for servers to start and handlers to be invoked.
	t.Parallel()
	tl := findTools(t)
	kinds := serverKinds(t, tl)
	svcKinds := servicesKinds(t)
	logDir := t.TempDir()
	services := map[string]servicesProc{}
	for _, sk := range svcKinds {
		services[sk] = startServices(t, tl, logDir, sk, c)
	}
	suites := c.suites
	if suites == nil {
		suites = []suite{defaultSuite}
	}
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			for _, kind := range kinds {
				t.Run(kind, func(t *testing.T) {
					for _, sk := range svcKinds {
						t.Run(sk, func(t *testing.T) {
							runDeployment(t, tl, c, su, kind, services[sk])
						})
					}
				})
			}
		})
	}
}

// runDeployment runs the class's scenarios on a fresh server of kind, set up for suite su, with
// the services sp.
func runDeployment(t *testing.T, tl *tools, c class, su suite, kind string, sp servicesProc) {
	if sp.skip != "" {
		t.Skip(sp.skip)
	}
	testenv.RequirePrereq(t, sp.missing == "", "%s", sp.missing)
	d := deploy(t, tl, kind, su, t.TempDir(), sp.url)
	d.services = sp.kind
	if c.setup != nil {
		c.setup(t, d)
	}
	if su.suspends {
		// Cleanups run after the parallel scenarios.
		t.Cleanup(func() { checkSuspended(t, d) })
	}
	if su.lazy {
		t.Cleanup(func() { checkLazyState(t, d) })
	}
	for _, sc := range c.scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if !c.sequential {
				t.Parallel()
			}
			if kind == ours && sc.needs != "" {
				t.Skipf("on %s: needs %s", ours, sc.needs)
			}
			if sp.kind == goServices && sc.goNeeds != "" {
				t.Skipf("with the %s services: needs %s", goServices, sc.goNeeds)
			}
			d.ran.Add(1)
			sc.run(t, d)
		})
	}
}

// checkSuspended fails unless some invocation stream of d ended in a Suspension: a suite that
// should suspend everything but suspended nothing tested less than it says.
func checkSuspended(t *testing.T, d *deployment) {
	if d.ran.Load() == 0 {
		return // every scenario skipped
	}
	streams := d.tap.Streams()
	for _, s := range streams {
		if s.Has(testenv.FrameSuspension) {
			return
		}
	}
	if !t.Failed() && !t.Skipped() {
		t.Errorf("%s: none of %d invocation streams suspended", d.kind, len(streams))
	}
}

// built is the resolute binary shared by every class when RESOLUTE_BIN is not set: built once
// into buildDir (made and removed by TestMain).
var built struct {
	once sync.Once
	bin  string
}

var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "resolute-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ourBinary is RESOLUTE_BIN, or ./cmd/resolute built once for the whole package.
func ourBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("RESOLUTE_BIN") != "" {
		return testenv.ResoluteBinary(t)
	}
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build ./cmd/resolute; or set RESOLUTE_BIN)")
		root, err := testenv.ModuleRoot()
		if err != nil {
			t.Fatalf("locate module root: %v", err)
		}
		bin := filepath.Join(buildDir, "resolute")
		testenv.GoBuild(t, goTool, root, bin, "./cmd/resolute")
		built.bin = bin
	})
	if built.bin == "" {
		t.Fatal("building ./cmd/resolute failed in an earlier test")
	}
	return built.bin
}

// tools are the programs and directories the runner needs.
type tools struct {
	root     string
	official string // restate-server binary
}

func findTools(t *testing.T) *tools {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatalf("locate module root: %v", err)
	}
	return &tools{root: root, official: filepath.Join(root, officialServerBin)}
}

// findNode is node, once the TypeScript services are installed and built; missing names what
// is not there.
func findNode(t *testing.T, root string) (node, missing string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "node not found in PATH (install Node 20+)"
	}
	dir := filepath.Join(root, servicesDir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@restatedev", "restate-sdk")); err != nil {
		return "", fmt.Sprintf("%s/node_modules missing: run `npm ci --ignore-scripts && npm run build` in %s", servicesDir, servicesDir)
	}
	if stale := staleBuild(dir); stale != "" {
		t.Fatalf("%s/dist is older than %s (or missing): run `npm run build` in %s", servicesDir, stale, servicesDir)
	}
	return node, ""
}

// staleBuild names a source file newer than the build (or the build's entry point when
// there is no build), or returns "" when dist is up to date.
func staleBuild(dir string) string {
	built, err := os.Stat(filepath.Join(dir, "dist", "services.js"))
	if err != nil {
		return "dist/services.js"
	}
	stale := ""
	_ = filepath.WalkDir(filepath.Join(dir, "src"), func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || stale != "" {
			return err
		}
		if info, err := e.Info(); err == nil && info.ModTime().After(built.ModTime()) {
			stale = path
		}
		return nil
	})
	return stale
}

// serverKinds reads RESOLUTE_E2E_SERVERS (default: ours and the official server).
func serverKinds(t *testing.T, tl *tools) []string {
	t.Helper()
	spec := os.Getenv("RESOLUTE_E2E_SERVERS")
	if spec == "" {
		spec = ours + "," + official
	}
	kinds := strings.Split(spec, ",")
	for _, k := range kinds {
		switch k {
		case ours:
		case official:
			_, err := os.Stat(tl.official)
			testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci --ignore-scripts` in compat/ts", officialServerBin)
		default:
			t.Fatalf("RESOLUTE_E2E_SERVERS=%q: %q is neither %s nor %s", spec, k, ours, official)
		}
	}
	return kinds
}

// tsOwnServices is why the sdk-typescript vitest classes run with the TypeScript services only:
// their services (signals.ts, promise_combinators.ts) are the TypeScript SDK's own tests of its
// API, not part of the test-services contract the SDKs share (sdk-go's test-services has none).
const tsOwnServices = "sdk-typescript's own vitest services (SignalTest, PromiseCombinators), not part of the shared test-services contract"

// Services kinds, as RESOLUTE_E2E_SERVICES names them: which implementation of Restate's
// test-services contract serves the scenarios.
const (
	// tsServices are Restate's official TypeScript test services (compat/e2e-services).
	tsServices = "ts"
	// goServices are ours, on our Go SDK: ./cmd/resolute-test-services, built once per test
	// binary.
	goServices = "go"
	// customServices is the command in RESOLUTE_E2E_SERVICES_CMD.
	customServices = "custom"
)

// servicesCmdEnv names a shell command (run from the module root) that serves the test-services
// contract, as Restate's test services do: on the h2c port in PORT, the services named in
// SERVICES, answering GET /health. When it is set, it is the only services kind ("custom").
const servicesCmdEnv = "RESOLUTE_E2E_SERVICES_CMD"

// servicesKinds reads RESOLUTE_E2E_SERVICES (default: ts and go).
func servicesKinds(t *testing.T) []string {
	t.Helper()
	if os.Getenv(servicesCmdEnv) != "" {
		return []string{customServices}
	}
	spec := os.Getenv("RESOLUTE_E2E_SERVICES")
	if spec == "" {
		spec = tsServices + "," + goServices
	}
	kinds := strings.Split(spec, ",")
	for _, k := range kinds {
		if k != tsServices && k != goServices {
			t.Fatalf("RESOLUTE_E2E_SERVICES=%q: %q is neither %s nor %s", spec, k, tsServices, goServices)
		}
	}
	return kinds
}

// servicesProc is a running services process of one kind, or why there is none: skip (the
// class does not run with this kind) or missing (a prerequisite is not installed).
type servicesProc struct {
	kind          string
	url           string
	skip, missing string
}

// startServices runs the services of kind with SERVICES set to the class's services (plus the
// probe service) and waits until the endpoint answers.
func startServices(t *testing.T, tl *tools, logDir, kind string, c class) servicesProc {
	t.Helper()
	sp := servicesProc{kind: kind}
	var cmd *exec.Cmd
	switch {
	case kind != tsServices && c.tsOnly != "":
		sp.skip = "with the TypeScript services only: " + c.tsOnly
		return sp
	case kind == tsServices:
		node, missing := findNode(t, tl.root)
		if missing != "" {
			sp.missing = missing
			return sp
		}
		cmd = exec.Command(node, "app.mjs")
		cmd.Dir = filepath.Join(tl.root, servicesDir)
	case kind == goServices:
		cmd = exec.Command(goServicesBinary(t))
	default:
		cmd = exec.Command("sh", "-c", os.Getenv(servicesCmdEnv))
		cmd.Dir = tl.root
	}
	port := testenv.FreePorts(t, 1)[0]
	names := c.services
	if !slices.Contains(names, probeService) {
		names = append(slices.Clone(names), probeService)
	}
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "SERVICES="+strings.Join(names, ","))
	cmd.Env = append(cmd.Env, c.env...)
	p := testenv.StartProc(t, "e2e-services-"+kind, logDir, cmd)
	sp.url = "http://" + testenv.Addr(port)
	rememberServices(t, sp.url, cmd, p, logDir)
	testenv.WaitReady(t, kind+" test services", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, sp.url+"/health", 200)
	}, p)
	return sp
}

// builtServices is ./cmd/resolute-test-services, built once for the whole package into
// buildDir.
var builtServices struct {
	once sync.Once
	bin  string
}

// goServicesBinary is our Go SDK's test services, built once per test binary.
func goServicesBinary(t *testing.T) string {
	t.Helper()
	builtServices.once.Do(func() {
		goTool, err := exec.LookPath("go")
		testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build ./cmd/resolute-test-services)")
		root, err := testenv.ModuleRoot()
		if err != nil {
			t.Fatalf("locate module root: %v", err)
		}
		bin := filepath.Join(buildDir, "resolute-test-services")
		testenv.GoBuild(t, goTool, root, bin, "./cmd/resolute-test-services")
		builtServices.bin = bin
	})
	if builtServices.bin == "" {
		t.Fatal("building ./cmd/resolute-test-services failed in an earlier test")
	}
	return builtServices.bin
}

// deploy starts a fresh server of kind set up for suite su, registers the services endpoint
// through a wiretap and waits until the ingress routes to it.
func deploy(t *testing.T, tl *tools, kind string, su suite, logDir, services string) *deployment {
	t.Helper()
	var d *deployment
	var p *testenv.Proc
	switch kind {
	case ours:
		args := slices.Clone(su.ours)
		if v := os.Getenv("RESOLUTE_E2E_PROTOCOL"); v != "" {
			args = append(args, "--max-protocol-version", v)
		}
		srv := testenv.StartServer(t, testenv.ServerConfig{Bin: ourBinary(t), LogDir: logDir, Args: args})
		d, p = &deployment{kind: kind, ingress: srv.Ingress, admin: srv.Admin}, srv.Proc()
		d.server = ourServerProc(srv)
	case official:
		d, p = startOfficial(t, tl.official, logDir, su.official)
	}
	d.tap = testenv.StartWiretap(t, services)
	d.servicesURL = services
	if _, err := testenv.Register(d.admin, d.tap.URL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitReady(t, kind+": services routable", readyTimeout, func() error {
		r := d.call("/"+probeService+"/echo", "probe")
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("probe call: %v", r)
		}
		return nil
	}, p)
	return d
}

// startOfficial runs restate-server on free ports and a fresh data dir, configured through its
// environment as upstream's RestateDeployer does.
func startOfficial(t *testing.T, bin, logDir string, env []string) (*deployment, *testenv.Proc) {
	t.Helper()
	ports := testenv.FreePorts(t, 3)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RESTATE_BASE_DIR="+t.TempDir(),
		"RESTATE_INGRESS__BIND_ADDRESS="+testenv.Addr(ports[0]),
		"RESTATE_ADMIN__BIND_ADDRESS="+testenv.Addr(ports[1]),
		"RESTATE_BIND_ADDRESS="+testenv.Addr(ports[2]),
		"RESTATE_ADVERTISED_ADDRESS=http://"+testenv.Addr(ports[2]),
		"RESTATE_LISTEN_MODE=tcp",
		"RESTATE_LOG_DISABLE_ANSI_CODES=true",
		// RocksDB preallocates its write-ahead logs by its memory budget (2 GiB by default):
		// a fresh restate-server takes 220 MB of disk, 150 MB with 128 MiB, and the package
		// runs one per class at a time, a few dozen classes in parallel.
		"RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE=128MiB",
	)
	cmd.Env = append(cmd.Env, env...)
	if os.Getenv("RESOLUTE_E2E_PROTOCOL") == "7" {
		cmd.Env = append(cmd.Env, "RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7=true")
	}
	p := testenv.StartProc(t, "restate-server", logDir, cmd)
	d := &deployment{kind: official, ingress: "http://" + testenv.Addr(ports[0]), admin: "http://" + testenv.Addr(ports[1])}
	d.server = officialServerProc(t, cmd, p, logDir, d)
	testenv.WaitReady(t, "restate-server admin", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, d.admin+"/health", 200)
	}, p)
	testenv.WaitReady(t, "restate-server ingress", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, d.ingress+"/restate/health", 200)
	}, p)
	return d, p
}
