package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is a subprocess in its own process group with its output in a log
// file.
//
// Invariant: done is closed exactly once, by the goroutine waiting for the
// process, after err is set; err is read only after done is closed.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startProc starts cmd in a new process group, logging to logDir/name.log
// (appending, so a restarted process keeps one log).
func startProc(name, logDir string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(logDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: create log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %v: %w", name, cmd.Args, err)
	}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended, with its status.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// kill sends SIGKILL to the process group and waits for the process.
func (p *proc) kill() {
	if gone, _ := p.exited(); gone {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM to the group, SIGKILL after grace, and waits.
func (p *proc) stop(grace time.Duration) {
	if gone, _ := p.exited(); gone {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// logTail returns the last n bytes of the log.
func (p *proc) logTail(n int64) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// waitReady polls check until it succeeds, p exits, or timeout passes.
func waitReady(what string, timeout time.Duration, p *proc, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if p != nil {
			if gone, perr := p.exited(); gone {
				return fmt.Errorf("%s: %s exited (%v) before ready; last check: %v; log tail:\n%s", what, p.name, perr, err, p.logTail(4096))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready after %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts reserves n distinct loopback ports (held until all are chosen).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// controlClient talks to admin, health and control endpoints.
var controlClient = &http.Client{Timeout: 10 * time.Second}

// expectGet GETs url and fails unless the status is 200.
func expectGet(url string) error {
	resp, err := controlClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}
