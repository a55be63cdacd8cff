//go:build linux

package chaos_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/chaos"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestPlantedBugs builds a server or a deployment with a planted bug (a
// chaosplant_* build tag; production builds carry none) and requires a
// short real chaos run to reject it in the check that covers the bug, while
// the checks the bug cannot touch still pass. About 30 s; skipped with
// -short.
func TestPlantedBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three planted binaries and runs the checker three times (about 45 s)")
	}
	const (
		once  = "acknowledged ops: one output, one invocation"
		runs  = "journaled Run results never recomputed"
		fold  = "final state = fold of acknowledged ops"
		awake = "awakeables: first acknowledged resolution wins"
		wf    = "workflows: run once per key, promise value reaches it"
	)
	cases := []struct {
		name, tag, pkg string
		nodes          int
		cycles         int
		seconds        int
		fail, pass     []string
	}{
		// Ingress derives a new invocation id for every request: the final
		// attach with the same idempotency key runs each op again, kill or
		// not.
		{"ingress ignores idempotency keys", "chaosplant_nodedup", chaos.ServerPkg, 1, 1, 3, []string{once, fold}, nil},
		// The same in every node of a three-node cluster: whichever node
		// a retry or the attach enters by, the op runs again.
		{"cluster ingress ignores idempotency keys", "chaosplant_nodedup", chaos.ServerPkg, 3, 1, 3, []string{once, fold}, nil},
		// The SDK executes a Run body again on replay and discards the new
		// result: a body re-executed after its result was journaled. Two
		// kills are of two kinds, so at least one is not of the Counter
		// deployment alone: a kill that replays sleeping naps.
		{"SDK re-executes journaled Run bodies", "chaosplant_rerun", chaos.DeploymentPkg, 1, 2, 6, []string{runs}, []string{once, fold}},
		// The deployment goes on without waiting for its awakeables, and
		// reports a refused completion of a workflow's promise as a
		// success: no kill is needed.
		{"deployment trusts awakeables and promises", "chaosplant_trusting", chaos.DeploymentPkg, 1, 1, 3, []string{awake, wf}, []string{once, fold, runs}},
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	server, deployment := binaries(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := chaos.Config{Nodes: tc.nodes, Cycles: tc.cycles, Duration: time.Duration(tc.seconds) * time.Second, Workers: 4, DrainTimeout: 30 * time.Second,
				ServerBin: server, DeploymentBin: deployment, WorkDir: t.TempDir(), Log: testLog{t}}
			planted := filepath.Join(t.TempDir(), "planted")
			if err := chaos.Build(t.Context(), root, planted, tc.pkg, tc.tag); err != nil {
				t.Fatal(err)
			}
			if tc.pkg == chaos.ServerPkg {
				cfg.ServerBin = planted
			} else {
				cfg.DeploymentBin = planted
			}
			rep, err := chaos.Run(t.Context(), cfg)
			if err != nil {
				t.Fatalf("seed %d: %v", rep.Seed, err)
			}
			t.Logf("\n%s", rep.Table())
			if rep.Pass {
				t.Fatalf("the checker passed a run with %s planted (seed %d)", tc.tag, rep.Seed)
			}
			for _, name := range tc.fail {
				if c := find(rep, name); c.OK {
					t.Errorf("%s planted: check %q passed: %s", tc.tag, name, c.Detail)
				}
			}
			for _, name := range tc.pass {
				if c := find(rep, name); !c.OK {
					t.Errorf("%s planted: check %q, which it cannot break, failed: %s", tc.tag, name, c.Detail)
				}
			}
		})
	}
}

// find returns the report's check named name.
func find(rep chaos.Report, name string) chaos.Check {
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, name) {
			return c
		}
	}
	panic("no check " + name)
}
