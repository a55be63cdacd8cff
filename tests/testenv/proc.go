//go:build linux

package testenv

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// LogTail bounds how much of a subprocess log is printed on failure.
const LogTail = 64 << 10

// stopGrace is how long Stop waits after SIGTERM before killing the group.
const stopGrace = 10 * time.Second

// Proc is a subprocess in its own process group whose stdout and stderr go to
// a log file (see proc.Proc), with helpers that report to a test.
type Proc struct{ *proc.Proc }

// StartProc starts cmd in a new process group, logging to <logDir>/<name>.log.
// On cleanup the whole group is stopped, and if the test failed the log tail
// is printed.
func StartProc(t testing.TB, name, logDir string, cmd *exec.Cmd) *Proc {
	t.Helper()
	pp, err := proc.Start(name, cmd, filepath.Join(logDir, name+".log"), proc.Truncate)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{pp}
	// Cleanups run last first: stop the process, then print its log.
	t.Cleanup(func() { p.DumpLogIfFailed(t) })
	t.Cleanup(p.Stop)
	t.Logf("%s: started pid %d: %v", name, p.Pid(), cmd.Args)
	return p
}

// Stop sends SIGTERM to the process group, then SIGKILL if the process has
// not exited within 10 s, and waits for it. A process already gone is not
// signalled again.
func (p *Proc) Stop() {
	_, _ = p.Terminate(stopGrace)
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
	data, err := p.LogTail(n)
	if err != nil {
		t.Logf("%s: read log: %v", p.Name, err)
		return
	}
	t.Logf("===== %s log (%s, last %d bytes at most) =====\n%s\n===== end of %s log =====",
		p.Name, p.LogPath, n, StripANSI(data), p.Name)
}

// ReadTail returns the last n bytes of the file at path.
func ReadTail(path string, n int64) ([]byte, error) { return proc.ReadTail(path, n) }

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
