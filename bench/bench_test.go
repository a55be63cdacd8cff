package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// TestScenariosTiny runs every scenario at the tiny size against both servers
// with both deployments and checks only that each completes without errors:
// benchmarks are never pass/fail on their figures.
func TestScenariosTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and deployments; skipped with -short")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, serverErr := os.Stat(filepath.Join(root, officialServerBin))
	_, sdkErr := os.Stat(filepath.Join(root, "compat/ts/node_modules/@restatedev/restate-sdk"))
	if nodeErr != nil || serverErr != nil || sdkErr != nil {
		msg := "node and compat/ts/node_modules are needed (run `npm ci` in compat/ts)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("prerequisite missing: %s: %v %v %v", msg, nodeErr, serverErr, sdkErr)
		}
		t.Skip(msg)
	}
	workDir := t.TempDir()
	t.Cleanup(func() { dumpLogsIfFailed(t, workDir) })
	cfg, err := parseFlags([]string{"--size", "tiny", "--duration", "200ms", "--warmup", "100ms", "--work-dir", workDir})
	if err != nil {
		t.Fatal(err)
	}
	cfg.logf = t.Logf
	start := time.Now()
	rep, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("suite took %v", time.Since(start).Round(time.Millisecond))
	seen := map[string]bool{}
	for _, r := range rep.Results {
		seen[r.Scenario+"/"+r.Server+"/"+r.Deployment] = true
		if r.Err != "" {
			t.Errorf("%s %s on %s with %s deployment: %s", r.Scenario, r.Case, r.Server, r.Deployment, r.Err)
		}
	}
	for _, s := range scenarioOrder {
		if s == "fsync" {
			if !seen["fsync/machine/-"] {
				t.Errorf("fsync: no result")
			}
			continue
		}
		for _, srv := range []string{"resolute", "restate"} {
			for _, dep := range []string{"go", "ts"} {
				if !seen[s+"/"+srv+"/"+dep] {
					t.Errorf("%s on %s with %s deployment: no result", s, srv, dep)
				}
			}
		}
	}
	var md bytes.Buffer
	rep.writeMarkdown(&md)
	if !strings.Contains(md.String(), "| case | deployment |") {
		t.Errorf("markdown report has no table:\n%s", md.String())
	}
	if err := rep.writeJSON(&bytes.Buffer{}); err != nil {
		t.Errorf("JSON report: %v", err)
	}
	t.Logf("\n%s", md.String())
}

// dumpLogsIfFailed prints the tail of every process log of the run when the test failed, so a
// flaky failure on a loaded CI machine can be diagnosed.
func dumpLogsIfFailed(t *testing.T, dir string) {
	if !t.Failed() {
		return
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "data" {
			return filepath.SkipDir // the servers' stores: their write-ahead logs end in .log too
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		tail, err := proc.ReadTail(path, 8<<10)
		if err == nil {
			t.Logf("===== %s (last 8 KiB) =====\n%s", path, tail)
		}
		return nil
	})
}
