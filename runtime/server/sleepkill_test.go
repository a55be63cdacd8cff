//go:build linux

package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
)

// TestSleepSurvivesKill is TestSleepSurvivesRestart with the first server in a child process
// (this test binary re-executed, see TestMain) killed with SIGKILL once the Sleep is journaled.
func TestSleepSurvivesKill(t *testing.T) {
	sleepAcrossStop(t, killFirst)
}

// killFirst runs closeFirst's server in a child process and kills it with SIGKILL once the
// child reports the Sleep journaled.
func killFirst(t *testing.T, dir string, d time.Duration) firstRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sleepChildDirEnv+"="+dir, sleepChildMsEnv+"="+fmt.Sprint(d.Milliseconds()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(stop) // Wait again is harmless: it returns an error
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var report childReport
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &report); err != nil || report.Error != "" {
			stop()
			t.Fatalf("child server: report %q (%v); stderr:\n%s", line, err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		stop()
		t.Fatalf("child server: no report within 60s; stderr:\n%s", stderr.String())
	}
	stop() // SIGKILL
	f := firstRun{wake: report.Wake, stopped: time.Now(), before: report.Before}
	if f.id, err = ids.ParseInvocationID(report.ID); err != nil {
		t.Fatalf("child server: report %+v: %v", report, err)
	}
	if state := cmd.ProcessState; state == nil || state.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child server: %v, want killed by SIGKILL; stderr:\n%s", state, stderr.String())
	}
	return f
}
