//go:build linux

package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

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
	cur    *proc.Proc
}

// start launches the process and waits until it is ready.
func (s *service) start(ctx context.Context, timeout time.Duration) error {
	if err := s.launch(); err != nil {
		return err
	}
	return s.waitReady(ctx, timeout)
}

// launch starts the process, its output to a new log file.
func (s *service) launch() error {
	s.starts++
	logPath := filepath.Join(s.logDir, fmt.Sprintf("%s.%d.log", s.name, s.starts))
	p, err := proc.Start(s.name, exec.Command(s.bin, s.args...), logPath, proc.Truncate)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	s.cur = p
	return nil
}

// waitReady waits until the launched process is ready, or fails if it exits.
// A process that exits names the end of its log in the error, and one that
// could not bind a port wraps errPortTaken.
func (s *service) waitReady(ctx context.Context, timeout time.Duration) error {
	err := waitFor(ctx, timeout, s.name+" ready", func() error { return s.ready(ctx) }, s.cur)
	if err == nil {
		return nil
	}
	if gone, _ := s.cur.Exited(); !gone {
		return err
	}
	tail, _ := s.cur.LogTail(600)
	if bytes.Contains(tail, []byte("address already in use")) {
		return fmt.Errorf("%w: %w; its log ends: %s", errPortTaken, err, tail)
	}
	return fmt.Errorf("%w; its log ends: %s", err, tail)
}

// errPortTaken marks a process that exited because another process took a
// port chosen for it between proc.FreePorts and its bind.
var errPortTaken = errors.New("a port chosen for it was taken")

func (s *service) kill() { s.cur.Kill() }

// waitFor polls check every 50 ms until it succeeds, a watched process
// exits, ctx ends, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() error, watch ...*proc.Proc) error {
	if err := proc.WaitReady(ctx, timeout, 50*time.Millisecond, check, watch...); err != nil {
		return fmt.Errorf("chaos: %s: %w", what, err)
	}
	return nil
}

// probeClient is used for readiness checks and the registration.
var probeClient = &http.Client{Timeout: 10 * time.Second}

func expect200(ctx context.Context, url string) error {
	return proc.ExpectStatus(ctx, probeClient, url, http.StatusOK)
}

// BuildBinaries builds cmd/resolute and cmd/resolute-chaos-deployment from the
// module at root into dir, with the build tags tags (comma-separated; "" for
// none, as in production), and returns their paths.
func BuildBinaries(ctx context.Context, root, dir, tags string) (server, deployment string, err error) {
	server, deployment = filepath.Join(dir, "resolute"), filepath.Join(dir, "resolute-chaos-deployment")
	for out, pkg := range map[string]string{server: ServerPkg, deployment: DeploymentPkg} {
		if err := Build(ctx, root, out, pkg, tags); err != nil {
			return "", "", err
		}
	}
	return server, deployment, nil
}

// The packages of the server and the deployment binaries.
const (
	ServerPkg     = "./cmd/resolute"
	DeploymentPkg = "./cmd/resolute-chaos-deployment"
)

// Build runs `go build -tags tags -o out pkg` in the module at root. The
// chaosplant_* tags build a binary with a planted bug the checker must
// catch (TestPlantedBugs).
func Build(ctx context.Context, root, out, pkg, tags string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", tags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chaos: go build -tags %q %s: %w\n%s", tags, pkg, err, b)
	}
	return nil
}
