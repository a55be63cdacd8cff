//go:build linux

package chaos

import (
	"context"
	"errors"
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

// proc is one subprocess in its own process group, output to a log file.
//
// Invariant: done is closed once, by the goroutine waiting for the process,
// after err is set; err is read only after done is closed.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(name, logPath, bin string, args ...string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("chaos: %s: create log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Setpgid lets a kill reach every descendant; Pdeathsig kills the process
	// if the checker dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("chaos: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process group and waits until the process is gone.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM, then SIGKILL after grace; it reports whether the
// process exited by itself with status 0.
func (p *proc) stop(grace time.Duration) bool {
	if p.exited() {
		return false
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	clean := false
	select {
	case <-p.done:
		clean = p.err == nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return clean
}

// service is a subprocess that can be killed and restarted on the same
// ports and files: the server or the deployment. Its methods are called by
// the checker's main goroutine only.
type service struct {
	name   string
	bin    string
	args   []string
	logDir string
	ready  func(ctx context.Context) error
	starts int
	cur    *proc
}

func (s *service) start(ctx context.Context, timeout time.Duration) error {
	s.starts++
	p, err := startProc(s.name, filepath.Join(s.logDir, fmt.Sprintf("%s.%d.log", s.name, s.starts)), s.bin, s.args...)
	if err != nil {
		return err
	}
	s.cur = p
	return waitFor(ctx, timeout, s.name+" ready", func() error {
		if p.exited() {
			return fmt.Errorf("%w: %s exited: %v", errGiveUp, s.name, p.err)
		}
		return s.ready(ctx)
	})
}

func (s *service) kill() { s.cur.kill() }

// errGiveUp marks a readiness error that no further polling can cure.
var errGiveUp = errors.New("chaos: giving up")

// waitFor polls check every 50 ms until it succeeds, returns errGiveUp,
// or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if errors.Is(err, errGiveUp) || time.Now().After(deadline) {
			return fmt.Errorf("chaos: %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chaos: %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// probeClient is used for readiness checks and the registration.
var probeClient = &http.Client{Timeout: 10 * time.Second}

func expect200(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// freePorts reserves n distinct loopback ports (held until all are chosen).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chaos: reserve port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// BuildBinaries builds cmd/resolute and cmd/resolute-chaos-deployment from the
// module at root into dir and returns their paths.
func BuildBinaries(ctx context.Context, root, dir string) (server, deployment string, err error) {
	server, deployment = filepath.Join(dir, "resolute"), filepath.Join(dir, "resolute-chaos-deployment")
	for out, pkg := range map[string]string{server: "./cmd/resolute", deployment: "./cmd/resolute-chaos-deployment"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("chaos: go build %s: %w\n%s", pkg, err, b)
		}
	}
	return server, deployment, nil
}
