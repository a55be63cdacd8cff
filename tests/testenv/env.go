//go:build linux

package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return
		}
		for _, p := range watch {
			if gone, err := p.Exited(); gone {
				t.Fatalf("%s: %s exited before becoming ready (%v); last check: %v", what, p.Name, err, last)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after %v: %v", what, timeout, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-time.After(pollInterval):
		}
	}
}

// pollInterval spaces readiness checks.
const pollInterval = 100 * time.Millisecond

// FreePorts reserves n distinct loopback ports. The listeners are held until
// all ports are chosen, so the n ports differ; another process could still
// take one before the subprocess binds it, which a re-run resolves.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Addr is the loopback address of port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

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

// ModuleRoot walks up from the working directory (the package directory under
// go test) to the directory holding the main module's go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/resolute-run/resolute\n")) {
			return dir, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod for github.com/resolute-run/resolute above the working directory")
		}
		dir = parent
	}
}

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
