//go:build linux

package testenv

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// LogTail bounds how much of a subprocess log is printed on failure.
const LogTail = 64 << 10

// stopGrace is how long Stop waits after SIGTERM before killing the group.
const stopGrace = 10 * time.Second

// Proc is a subprocess in its own process group whose stdout and stderr go to
// a log file.
//
// Invariant: done is closed exactly once, by the goroutine that waits for the
// process, after err is set; err is read only after done is closed.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	err     error
}

// StartProc starts cmd in a new process group, logging to <logDir>/<name>.log.
// On cleanup the whole group is stopped, and if the test failed the log tail
// is printed.
func StartProc(t testing.TB, name, logDir string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Name: name, Cmd: cmd, LogPath: filepath.Join(logDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.LogPath)
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
	t.Cleanup(func() { p.DumpLogIfFailed(t) })
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	t.Logf("%s: started pid %d: %v", name, cmd.Process.Pid, cmd.Args)
	return p
}

// Stop sends SIGTERM to the process group, then SIGKILL if the process has
// not exited within 10 s, and waits for it. A process already gone is not
// signalled again.
func (p *Proc) Stop() {
	_, _ = p.Terminate(stopGrace)
}

// Terminate is Stop with a chosen grace period; it reports whether the
// process exited by itself within it, and its exit status.
func (p *Proc) Terminate(grace time.Duration) (exitedInTime bool, err error) {
	if gone, err := p.Exited(); gone {
		return true, err
	}
	pgid := -p.Cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		exitedInTime = true
	case <-time.After(grace):
	}
	// Descendants may outlive the leader; the group is killed either way.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
	return exitedInTime, p.err
}

// Kill sends SIGKILL to the process group and waits for the process to exit.
func (p *Proc) Kill() {
	if gone, _ := p.Exited(); gone {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended, with its status.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// DumpLogIfFailed prints the tail of the log when t has failed.
func (p *Proc) DumpLogIfFailed(t testing.TB) {
	if !t.Failed() {
		return
	}
	p.DumpLog(t, LogTail)
}

// DumpLog prints the last n bytes of the log, colour codes removed.
func (p *Proc) DumpLog(t testing.TB, n int64) {
	data, err := ReadTail(p.LogPath, n)
	if err != nil {
		t.Logf("%s: read log: %v", p.Name, err)
		return
	}
	t.Logf("===== %s log (%s, last %d bytes at most) =====\n%s\n===== end of %s log =====",
		p.Name, p.LogPath, n, StripANSI(data), p.Name)
}

// ReadTail returns the last n bytes of the file at path.
func ReadTail(path string, n int64) ([]byte, error) {
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

// StripANSI drops terminal colour sequences (ESC [ ... letter) from logs.
func StripANSI(b []byte) []byte {
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
