package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// config is the parsed command line plus what the harness derived from it.
type config struct {
	scenarios, servers, deployments []string
	duration, warmup                time.Duration
	size                            string
	out, jsonOut                    string
	workDir                         string
	keep                            bool
	root                            string // module root
	resoluteBin, deploymentBin      string
	retention                       retentionSettings
	retentionJudge                  string // a saved samples CSV to judge instead of running
	// nodes is how many server processes form each server (1: a single node; more: a cluster on
	// loopback); partitions overrides both servers' partition count (0: their defaults).
	nodes, partitions int
	failover          failoverSettings
	restatectl        string // restatectl binary, for the restate cluster's partition leaders
	// resoluteRemote: the resolute binary has --remote-addr (actor remoting: a request is
	// routed to its partition's leader), given to every node of a cluster.
	resoluteRemote bool
	// kafka overrides the kafka scenario's topic sizes (0: the --size preset's); kafkaSrc is
	// the kfake cluster started for it, before any server (restate-server reads it from its
	// configuration file).
	kafka    kafkaSettings
	kafkaSrc *kafkaSource
	// queryInvocations overrides the query scenario's invocations (0: the --size preset's).
	queryInvocations int
	logf             func(format string, args ...any)
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.retentionJudge != "" {
		if err := judgeRetentionCSV(os.Stdout, cfg.retentionJudge, cfg.retention.Period); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	var md bytes.Buffer
	rep.writeMarkdown(&md)
	os.Stdout.Write(md.Bytes())
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, md.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if cfg.jsonOut != "" {
		var js bytes.Buffer
		rep.writeJSON(&js)
		if err := os.WriteFile(cfg.jsonOut, js.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func parseFlags(args []string) (*config, error) {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	scen := fl.String("scenarios", strings.Join(scenarioOrder, ","), "comma-separated scenarios: "+strings.Join(scenarioOrder, ", ")+
		"; not run unless named: "+strings.Join(optionalScenarios, ", "))
	srvs := fl.String("servers", "resolute,restate", "servers to compare: resolute, restate")
	deps := fl.String("deployments", "go,ts", "deployments: go (our Go SDK), ts (official TypeScript SDK)")
	cfg := &config{logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
	fl.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time per load case (and of the fsync loop)")
	fl.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before each load case, not measured")
	fl.StringVar(&cfg.size, "size", "default", "tiny (smoke test) or default")
	fl.StringVar(&cfg.out, "out", "", "also write the markdown report to this file")
	fl.StringVar(&cfg.jsonOut, "json", "", "also write the results as JSON to this file")
	fl.StringVar(&cfg.workDir, "work-dir", "", "where data directories and logs go (default: a new temporary directory)")
	fl.BoolVar(&cfg.keep, "keep", false, "keep the work directory (data and logs) afterwards")
	fl.StringVar(&cfg.resoluteBin, "resolute-bin", os.Getenv("RESOLUTE_BIN"), "resolute binary (default $RESOLUTE_BIN, else built from ./cmd/resolute)")
	fl.DurationVar(&cfg.retention.Duration, "retention-duration", time.Hour, "retention: how long the steady load lasts")
	fl.Float64Var(&cfg.retention.Rate, "retention-rate", 100, "retention: idempotent calls per second, open loop")
	fl.IntVar(&cfg.retention.MaxInFlight, "retention-max-in-flight", 512, "retention: most calls in flight; past that the generator waits")
	fl.DurationVar(&cfg.retention.Period, "retention-period", time.Minute, "retention: idempotency and journal retention set on the services (PATCH /services)")
	fl.StringVar(&cfg.retentionJudge, "retention-judge", "", "retention: judge this samples CSV of an earlier run (with --retention-period) and exit")
	fl.DurationVar(&cfg.retention.Sample, "retention-sample", 10*time.Second, "retention: how often the data directory is measured")
	fl.IntVar(&cfg.nodes, "nodes", 1, "server processes per server: 1, or a cluster of that many nodes on loopback (resolute --peers; restate replicated metadata and loglet)")
	fl.IntVar(&cfg.partitions, "partitions", 0, "partitions of both servers (0: each server's default, resolute 8, restate 24)")
	fl.IntVar(&cfg.failover.Kills, "failover-kills", 20, "failover: leaders killed, one after another")
	fl.IntVar(&cfg.failover.Concurrency, "failover-load", 4, "failover: workers of the light background load during the kills")
	fl.StringVar(&cfg.restatectl, "restatectl", os.Getenv("RESTATECTL"), "restatectl binary for the restate cluster (default $RESTATECTL, else on PATH, else compat/ts/node_modules/.bin/restatectl)")
	fl.IntVar(&cfg.kafka.Records, "kafka-records", 0, "kafka: records of the backlog topic (0: 1,000,000; tiny 2,000)")
	fl.IntVar(&cfg.kafka.ThroughputRecords, "kafka-throughput-records", 0, "kafka: records of the throughput topic (0: 50,000; tiny 500)")
	fl.IntVar(&cfg.queryInvocations, "query-invocations", 0, "query: completed invocations to query over (0: 1,000,000; tiny 2,000)")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	cfg.scenarios, cfg.servers, cfg.deployments = splitList(*scen), splitList(*srvs), splitList(*deps)
	if _, ok := sizePresets[cfg.size]; !ok {
		return nil, fmt.Errorf("--size %q: want tiny or default", cfg.size)
	}
	if rs := cfg.retention; rs.Duration <= 0 || rs.Rate <= 0 || rs.MaxInFlight <= 0 || rs.Period <= 0 || rs.Sample <= 0 {
		return nil, fmt.Errorf("--retention-*: duration, rate, max in flight, period and sample must be positive")
	}
	for _, s := range cfg.scenarios {
		if !slices.Contains(allScenarios(), s) {
			return nil, fmt.Errorf("--scenarios: unknown scenario %q", s)
		}
	}
	switch {
	case cfg.nodes < 1:
		return nil, fmt.Errorf("--nodes %d: want 1 or more", cfg.nodes)
	case cfg.nodes > 1 && slices.Contains(cfg.scenarios, "retention"):
		return nil, fmt.Errorf("--scenarios retention measures one node's data directory: run it with --nodes 1")
	case cfg.nodes < 3 && slices.Contains(cfg.scenarios, "failover"):
		return nil, fmt.Errorf("--scenarios failover kills a leader and needs a majority left: run it with --nodes 3 or more")
	case cfg.failover.Kills < 1 || cfg.failover.Concurrency < 0:
		return nil, fmt.Errorf("--failover-kills must be positive and --failover-load not negative")
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// run prepares binaries and directories, then runs every selected scenario
// for every (deployment, server) pair.
func run(ctx context.Context, cfg *config) (*report, error) {
	if err := cfg.prepare(ctx); err != nil {
		return nil, err
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.workDir)
	} else {
		defer cfg.logf("bench: data and logs kept in %s", cfg.workDir)
	}
	sz := sizePresets[cfg.size]
	if cfg.queryInvocations > 0 {
		sz.QueryInvocations = cfg.queryInvocations
	}
	if slices.Contains(cfg.scenarios, "kafka") {
		if cfg.kafka.Records > 0 {
			sz.Kafka.Records = cfg.kafka.Records
		}
		if cfg.kafka.ThroughputRecords > 0 {
			sz.Kafka.ThroughputRecords = cfg.kafka.ThroughputRecords
		}
		src, err := startKafka(ctx, sz.Kafka, cfg.logf)
		if err != nil {
			return nil, err
		}
		defer src.close()
		cfg.kafkaSrc = src
	}
	rep := &report{Date: time.Now(), Machine: describeMachine(cfg), servers: cfg.servers, deployments: cfg.deployments,
		Settings: settings{Scenarios: cfg.scenarios, Servers: cfg.servers, Deployments: cfg.deployments, Size: cfg.size,
			Duration: cfg.duration.String(), Warmup: cfg.warmup.String(), Sizes: sz, Nodes: cfg.nodes, Partitions: cfg.partitions}}
	if slices.Contains(cfg.scenarios, "retention") {
		rep.Settings.Retention = &cfg.retention
	}
	if slices.Contains(cfg.scenarios, "fsync") {
		cfg.logf("bench: fsync on %s", cfg.workDir)
		rep.Results = append(rep.Results, fsyncScenario(cfg, cfg.workDir))
	}
	for _, dep := range cfg.deployments {
		for _, srv := range cfg.servers {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Results = append(rep.Results, runPair(ctx, cfg, sz, srv, dep)...)
		}
	}
	rep.addBatching()
	rep.Machine.LoadEnd = loadAvg()
	return rep, nil
}

// runPair runs the scenarios against fresh processes of one server and one
// deployment. A failure to start becomes an error row per scenario.
func runPair(ctx context.Context, cfg *config, sz sizes, srvKind, depKind string) []result {
	dir := filepath.Join(cfg.workDir, srvKind+"-"+depKind)
	fail := func(err error) []result {
		cfg.logf("bench: %s with %s deployment: %v", srvKind, depKind, err)
		var out []result
		for _, s := range cfg.scenarios {
			if s != "fsync" {
				out = append(out, result{Scenario: s, Case: "(all)", Server: srvKind, Deployment: depKind, Err: err.Error()})
			}
		}
		return out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	dep, err := startDeployment(cfg, depKind, dir)
	if err != nil {
		return fail(err)
	}
	defer dep.stop()
	srv, err := startServer(cfg, srvKind, dir)
	if srv != nil {
		defer srv.stop()
	}
	if err != nil {
		return fail(err)
	}
	if err := srv.register(dep.uri); err != nil {
		return fail(err)
	}
	// Registration propagates asynchronously on the official server, and to a cluster's other
	// nodes through its metadata.
	for i, ingress := range srv.ingresses {
		if err := waitReady(srv.label(srv.nodes[i])+": services routable", 60*time.Second, srv.nodes[i].proc, func() error {
			return invoke(ctx, controlClient, ingress, call{"/Bench/noop", "1"})
		}); err != nil {
			return fail(err)
		}
	}
	if waited, err := srv.waitSettled(ctx); err != nil {
		cfg.logf("bench: %s: leaders not settled (measuring anyway): %v", srvKind, err)
	} else if waited > 0 {
		cfg.logf("bench: %s: leaders settled after %v", srvKind, waited.Round(100*time.Millisecond))
	}
	e := &env{cfg: cfg, sz: sz, srv: srv, dep: dep}
	var out []result
	for _, name := range allScenarios() {
		if name == "fsync" || !slices.Contains(cfg.scenarios, name) || ctx.Err() != nil {
			continue
		}
		cfg.logf("bench: %s on %s with %s deployment", name, srvKind, depKind)
		start := time.Now()
		rs := scenarios[name](ctx, e)
		for _, r := range rs {
			cfg.logf("bench:   %s %s: %s", r.Case, figuresText(r), r.Err)
		}
		cfg.logf("bench:   (%v)", time.Since(start).Round(100*time.Millisecond))
		out = append(out, rs...)
		if err := srv.exited(); err != nil {
			return append(out, fail(fmt.Errorf("during %s: %w", name, err))...)
		}
	}
	return out
}

// startServer prepares and starts a server on fresh ports and empty data directories. The ports
// were free when chosen, but another process on the machine may bind one before the server does
// (a cluster takes 3 per node): then it tries again on other ports, at most three times.
func startServer(cfg *config, kind, dir string) (*server, error) {
	for attempt := 1; ; attempt++ {
		srv, err := newServer(cfg, kind, dir)
		if err != nil {
			return nil, err
		}
		err = srv.start()
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return srv, err
		}
		cfg.logf("bench: %s: a port was taken (%v); again on other ports", kind, firstLine(err.Error()))
		srv.stop()
		for _, nd := range srv.nodes {
			if err := os.RemoveAll(nd.dataDir); err != nil {
				return nil, err
			}
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func figuresText(r result) string {
	var parts []string
	for _, f := range r.Figures {
		parts = append(parts, fmt.Sprintf("%s=%s", f.Name, formatValue(f.Value)))
	}
	return strings.Join(parts, " ")
}

// prepare finds the module root, the work directory and the binaries.
func (cfg *config) prepare(ctx context.Context) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cfg.root = root
	if cfg.workDir == "" {
		if cfg.workDir, err = os.MkdirTemp("", "resolute-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		return err
	}
	if slices.Contains(cfg.servers, "resolute") && cfg.resoluteBin == "" {
		cfg.resoluteBin = filepath.Join(cfg.workDir, "resolute")
		if err := goBuild(ctx, root, cfg.resoluteBin, "./cmd/resolute"); err != nil {
			return err
		}
	}
	if slices.Contains(cfg.servers, "resolute") && cfg.nodes > 1 {
		help, _ := exec.CommandContext(ctx, cfg.resoluteBin, "server", "--help").CombinedOutput()
		cfg.resoluteRemote = bytes.Contains(help, []byte("--remote-addr"))
		if !cfg.resoluteRemote {
			cfg.logf("bench: %s has no --remote-addr: requests entering a follower are proposed through the log there", cfg.resoluteBin)
		}
	}
	if slices.Contains(cfg.deployments, "go") {
		cfg.deploymentBin = filepath.Join(cfg.workDir, "bench-deployment")
		if err := goBuild(ctx, root, cfg.deploymentBin, "./bench/deployment"); err != nil {
			return err
		}
	}
	if slices.Contains(cfg.servers, "restate") {
		if _, err := os.Stat(filepath.Join(root, officialServerBin)); err != nil {
			return fmt.Errorf("official server missing (run `npm ci` in compat/ts): %w", err)
		}
		if cfg.nodes > 1 && slices.Contains(cfg.scenarios, "failover") {
			if cfg.restatectl, err = findRestatectl(root, cfg.restatectl); err != nil {
				return err
			}
		}
	}
	return nil
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// moduleRoot is proc.ModuleRoot with advice when run elsewhere.
func moduleRoot() (string, error) {
	root, err := proc.ModuleRoot()
	if errors.Is(err, proc.ErrNoModule) {
		return "", fmt.Errorf("bench: run inside the resolute module (%w)", err)
	}
	return root, err
}
