//go:build linux

package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// InCI reports whether missing prerequisites must fail instead of skip
// (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// RequirePrereq skips the test when ok is false, or fails it under CI=true.
func RequirePrereq(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := "prerequisite missing: " + fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg + " (CI=true: a missing prerequisite is a failure)")
	}
	t.Skip(msg)
}

// WaitReady polls check until it succeeds, a watched process exits, or the
// timeout passes. It never sleeps a fixed time before the first check.
func WaitReady(t testing.TB, what string, timeout time.Duration, check func() error, watch ...*Proc) {
	t.Helper()
	procs := make([]*proc.Proc, len(watch))
	for i, p := range watch {
		procs[i] = p.Proc
	}
	if err := proc.WaitReady(t.Context(), timeout, pollInterval, check, procs...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pollInterval spaces readiness checks.
const pollInterval = 100 * time.Millisecond

// FreePorts reserves n distinct loopback ports (see proc.FreePorts).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := proc.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// Addr is the loopback address of port.
func Addr(port int) string { return proc.Addr(port) }

// GoBuild runs `go build -o out pkg` in dir, failing the test with the
// compiler output on error.
func GoBuild(t testing.TB, goTool, dir, out, pkg string) {
	t.Helper()
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", out, pkg)
	cmd.Dir = dir
	// A go.work outside the repository must not change what gets built.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	output, err := cmd.CombinedOutput()
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("go build %s in %s: %v", pkg, dir, err)
		}
		t.Fatalf("go build %s in %s failed: %v\n%s", pkg, dir, err, output)
	}
	t.Logf("built %s from %s in %v", filepath.Base(out), dir, time.Since(start).Round(time.Millisecond))
}

// ModuleRoot is the directory holding the main module's go.mod (see
// proc.ModuleRoot).
func ModuleRoot() (string, error) { return proc.ModuleRoot() }

// ResoluteBinary returns RESOLUTE_BIN (which must exist), or builds
// ./cmd/resolute from the module root into a temporary directory of t.
func ResoluteBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("RESOLUTE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("RESOLUTE_BIN=%s: %v", bin, err)
		}
		return bin
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("locate module root: %v", err)
	}
	goTool, err := exec.LookPath("go")
	RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build ./cmd/resolute; or set RESOLUTE_BIN)")
	bin := filepath.Join(t.TempDir(), "resolute")
	GoBuild(t, goTool, root, bin, "./cmd/resolute")
	return bin
}
