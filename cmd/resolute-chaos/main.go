//go:build linux

// Command resolute-chaos runs the chaos checker (package chaos): a real
// `resolute server` (or, with --nodes 3, a three-node cluster) and the chaos
// deployments as subprocesses, a randomized workload through ingress,
// SIGKILLs of the server, a deployment or all of them (of a cluster: of one
// node or a deployment, and network partitions isolating one node), then
// the checks, printed as a table with a final PASS or FAIL line.
//
//	go run ./cmd/resolute-chaos                          # short run: 4 kills in 30s
//	go run ./cmd/resolute-chaos --cycles 50 --seconds 600
//	go run ./cmd/resolute-chaos --seed 1234              # replay a schedule
//	go run ./cmd/resolute-chaos --nodes 3                # against a three-node cluster
//	go run ./cmd/resolute-chaos --nodes 3 --cycles 50 --seconds 600 --server-args "--log-level debug"
//	go run ./cmd/resolute-chaos --tags chaosplant_nodedup # a planted bug: must FAIL
//
// The binaries are built from the module in the working directory unless
// --server-bin and --deployment-bin (or RESOLUTE_BIN) name them. The exit
// status is 0 on PASS, 1 on FAIL, 2 when the run could not be carried out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/resolute-run/resolute/chaos"
)

func main() {
	var cfg chaos.Config
	var seconds int
	var tags string
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the workload and the kill schedule (0: from the clock)")
	flag.IntVar(&cfg.Nodes, "nodes", 1, "server processes: 1 runs one server, 3 a three-node cluster (kills of a node or a deployment, a node isolated from the others)")
	flag.IntVar(&cfg.Cycles, "cycles", 4, "number of kills")
	flag.IntVar(&seconds, "seconds", 30, "length of the workload under kills, in seconds")
	flag.IntVar(&cfg.Workers, "workers", 6, "concurrent clients")
	flag.IntVar(&cfg.HotKeys, "hot-keys", 3, "hot Counter keys (checked for linearizability one by one)")
	flag.IntVar(&cfg.ColdKeys, "cold-keys", 40, "cold Counter keys")
	flag.StringVar(&cfg.ServerBin, "server-bin", os.Getenv("RESOLUTE_BIN"), "resolute binary (built from ./cmd/resolute if empty)")
	flag.StringVar(&cfg.DeploymentBin, "deployment-bin", "", "resolute-chaos-deployment binary (built if empty)")
	serverArgs := flag.String("server-args", "", "arguments added to every server's command line, separated by spaces (e.g. \"--log-level debug\")")
	flag.StringVar(&tags, "tags", "", "build tags of the binaries it builds, e.g. chaosplant_nodedup to watch a planted bug get caught")
	flag.StringVar(&cfg.WorkDir, "work-dir", "", "directory for data, logs and the execution log (a new temporary one if empty)")
	flag.Parse()
	cfg.Duration = time.Duration(seconds) * time.Second
	cfg.ServerArgs = strings.Fields(*serverArgs)
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := buildMissing(ctx, &cfg, tags); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "resolute-chaos: seed %d: %v\n", rep.Seed, err)
		os.Exit(2)
	}
	fmt.Print(rep.Table())
	if !rep.Pass {
		os.Exit(1)
	}
}

// buildMissing builds the binaries not given, with tags, from the module
// holding the working directory.
func buildMissing(ctx context.Context, cfg *chaos.Config, tags string) error {
	if cfg.ServerBin != "" && cfg.DeploymentBin != "" {
		return nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return fmt.Errorf("resolute-chaos: not inside the resolute module (go env GOMOD: %q, %v); pass --server-bin and --deployment-bin", out, err)
	}
	dir, err := os.MkdirTemp("", "resolute-chaos-bin-")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "resolute-chaos: building binaries into %s\n", dir)
	server, deployment, err := chaos.BuildBinaries(ctx, filepath.Dir(strings.TrimSpace(string(out))), dir, tags)
	if err != nil {
		return err
	}
	if cfg.ServerBin == "" {
		cfg.ServerBin = server
	}
	if cfg.DeploymentBin == "" {
		cfg.DeploymentBin = deployment
	}
	return nil
}
