//go:build linux

package compat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// logTail bounds how much of a subprocess log is printed on failure.
const logTail = 64 << 10

// proc is a subprocess in its own process group whose stdout and stderr go to
// a log file. done is closed once the process has exited; err then holds its
// exit status.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startProc starts cmd in a new process group, logging to <logDir>/<name>.log.
// On cleanup the whole group is stopped, and if the test failed the log tail is
// printed.
func startProc(t *testing.T, name, logDir string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(logDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatalf("%s: create log: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Setpgid lets cleanup signal every descendant; Pdeathsig kills the
	// process if the test binary dies first (for example on -timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("%s: start %v: %v", name, cmd.Args, err)
	}
	t.Cleanup(func() { p.dumpLogIfFailed(t) })
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	t.Logf("%s: started pid %d: %v", name, cmd.Process.Pid, cmd.Args)
	return p
}

// stop sends SIGTERM to the process group, then SIGKILL if it has not exited
// within a grace period.
func (p *proc) stop() {
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	// Descendants may outlive the leader; the group is killed either way.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
}

// exited reports whether the process has ended, with its status.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

func (p *proc) dumpLogIfFailed(t *testing.T) {
	if !t.Failed() {
		return
	}
	data, err := readTail(p.logPath, logTail)
	if err != nil {
		t.Logf("%s: read log: %v", p.name, err)
		return
	}
	t.Logf("===== %s log (%s, last %d bytes at most) =====\n%s\n===== end of %s log =====",
		p.name, p.logPath, logTail, stripANSI(data), p.name)
}

func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > n {
		if _, err := f.Seek(st.Size()-n, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(f)
}

// stripANSI drops terminal colour sequences (ESC [ ... letter) from logs.
func stripANSI(b []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && (b[j] < '@' || b[j] > '~') {
				j++
			}
			i = j
			continue
		}
		out.WriteByte(b[i])
	}
	return out.Bytes()
}

// waitReady polls check until it succeeds, a watched process exits, or the
// timeout passes. It never sleeps a fixed time before the first check.
func waitReady(t *testing.T, what string, timeout time.Duration, check func() error, watch ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return
		}
		for _, p := range watch {
			if gone, err := p.exited(); gone {
				t.Fatalf("%s: %s exited before becoming ready (%v); last check: %v", what, p.name, err, last)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after %v: %v", what, timeout, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts reserves n distinct loopback ports. The listeners are held until
// all ports are chosen, so the n ports differ; another process could still
// take one before the subprocess binds it, which a re-run resolves.
func freePorts(t *testing.T, n int) []int {
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

// goBuild runs `go build -o out pkg` in dir, failing the test with the
// compiler output on error.
func goBuild(t *testing.T, goTool, dir, out, pkg string) {
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

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
