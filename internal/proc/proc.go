//go:build linux

package proc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// LogMode says what Start does with an existing log file.
type LogMode int

const (
	// Truncate empties the log first.
	Truncate LogMode = iota
	// Append keeps what is there, so a restarted process keeps one log.
	Append
)

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

// Start starts cmd in a new process group with its output in logPath.
func Start(name string, cmd *exec.Cmd, logPath string, mode LogMode) (*Proc, error) {
	flags, perm := os.O_RDWR|os.O_CREATE|os.O_TRUNC, os.FileMode(0o666) // as os.Create
	if mode == Append {
		flags, perm = os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644
	}
	logFile, err := os.OpenFile(logPath, flags, perm)
	if err != nil {
		return nil, fmt.Errorf("%s: create log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Setpgid lets a signal reach every descendant; Pdeathsig kills the
	// process if the harness dies first (for example on a test -timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %v: %w", name, cmd.Args, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id, also the id of its process group.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

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

// Kill sends SIGKILL to the process group and waits for the process to exit.
// A process already gone is not signalled again.
func (p *Proc) Kill() {
	if gone, _ := p.Exited(); gone {
		return
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// Terminate sends SIGTERM to the process group, then SIGKILL if the process
// has not exited within grace, and waits for it. It reports whether the
// process exited by itself within grace (true for one already gone, which is
// not signalled again), and its exit status.
func (p *Proc) Terminate(grace time.Duration) (exitedInTime bool, err error) {
	if gone, err := p.Exited(); gone {
		return true, err
	}
	pgid := -p.Pid()
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

// LogTail returns the last n bytes of the log.
func (p *Proc) LogTail(n int64) ([]byte, error) { return ReadTail(p.LogPath, n) }

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
