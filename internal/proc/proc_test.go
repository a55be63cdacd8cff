//go:build linux

package proc_test

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

func TestTerminateReportsExit(t *testing.T) {
	p, err := proc.Start("sleeper", exec.Command("sleep", "60"), filepath.Join(t.TempDir(), "sleeper.log"), proc.Truncate)
	if err != nil {
		t.Fatal(err)
	}
	inTime, err := p.Terminate(10 * time.Second)
	if !inTime || err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("Terminate = %v, %v; want true, signal: terminated", inTime, err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Terminate")
	}
	p.Kill() // already gone: a no-op
}

func TestKillWaitsForExit(t *testing.T) {
	// The shell ignores SIGTERM; SIGKILL to the group still ends it.
	p, err := proc.Start("stubborn", exec.Command("sh", "-c", "trap '' TERM; sleep 60"), filepath.Join(t.TempDir(), "stubborn.log"), proc.Truncate)
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if gone, err := p.Exited(); !gone || err == nil {
		t.Fatalf("Exited = %v, %v after Kill; want true and a kill status", gone, err)
	}
}

func TestLogModes(t *testing.T) {
	for _, tc := range []struct {
		mode proc.LogMode
		want string
	}{{proc.Truncate, "two\n"}, {proc.Append, "one\ntwo\n"}} {
		path := filepath.Join(t.TempDir(), "echo.log")
		for _, word := range []string{"one", "two"} {
			p, err := proc.Start("echo", exec.Command("echo", word), path, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			<-p.Done()
		}
		got, err := proc.ReadTail(path, 1<<10)
		if err != nil || string(got) != tc.want {
			t.Errorf("mode %d: log %q, %v; want %q", tc.mode, got, err, tc.want)
		}
		tail, _ := proc.ReadTail(path, 2)
		if want := tc.want[len(tc.want)-2:]; string(tail) != want {
			t.Errorf("mode %d: tail %q, want %q", tc.mode, tail, want)
		}
	}
}

func TestWaitReadyNoticesExit(t *testing.T) {
	p, err := proc.Start("quitter", exec.Command("false"), filepath.Join(t.TempDir(), "quitter.log"), proc.Truncate)
	if err != nil {
		t.Fatal(err)
	}
	notYet := errors.New("not yet")
	err = proc.WaitReady(context.Background(), time.Minute, 10*time.Millisecond, func() error { return notYet }, p)
	if !errors.Is(err, notYet) || !strings.Contains(err.Error(), "quitter exited before becoming ready") {
		t.Fatalf("WaitReady = %v; want the exit of quitter and the last check", err)
	}
	err = proc.WaitReady(context.Background(), 30*time.Millisecond, 10*time.Millisecond, func() error { return notYet })
	if !errors.Is(err, notYet) || !strings.Contains(err.Error(), "not ready after") {
		t.Fatalf("WaitReady = %v; want a timeout", err)
	}
}

// TestFreePorts: the ports of one call and of later calls all differ, and lie
// below the kernel's ephemeral range, where no outgoing connection takes them.
func TestFreePorts(t *testing.T) {
	start := math.MaxInt
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			start, _ = strconv.Atoi(f[0])
		}
	}
	seen := map[int]bool{}
	for range 100 {
		ports, err := proc.FreePorts(5)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d handed out twice (now in %v)", p, ports)
			}
			seen[p] = true
			if p >= start {
				t.Fatalf("port %d is in the ephemeral range (from %d)", p, start)
			}
		}
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := proc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "proc", "doc.go")); err != nil {
		t.Fatalf("root %s: %v", root, err)
	}
}
