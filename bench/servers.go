package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// officialServerBin is the official restate-server installed by npm ci in compat/ts.
const officialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"

// serverReadyTimeout covers a cold start, including recovery after SIGKILL.
const serverReadyTimeout = 90 * time.Second

// server is one runtime under test (ours or the official one) that keeps its
// data directory and ports across kill and restart.
type server struct {
	kind    string // "resolute" or "restate"
	ingress string // base URLs, no trailing slash
	admin   string
	dataDir string
	logDir  string
	command func() *exec.Cmd
	proc    *proc.Proc
	starts  int
}

// newServer prepares (does not start) a server of the given kind.
func newServer(cfg *config, kind, dir string) (*server, error) {
	ports, err := proc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	s := &server{kind: kind, ingress: "http://" + proc.Addr(ports[0]), admin: "http://" + proc.Addr(ports[1]),
		dataDir: filepath.Join(dir, "data"), logDir: dir}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, err
	}
	switch kind {
	case "resolute":
		s.command = func() *exec.Cmd {
			return exec.Command(cfg.resoluteBin, "server", "--data-dir", s.dataDir,
				"--ingress-addr", proc.Addr(ports[0]), "--admin-addr", proc.Addr(ports[1]), "--log-level", "warn")
		}
	case "restate":
		s.command = func() *exec.Cmd {
			cmd := exec.Command(filepath.Join(cfg.root, officialServerBin))
			cmd.Env = append(os.Environ(),
				"RESTATE_BASE_DIR="+s.dataDir,
				"RESTATE_INGRESS__BIND_ADDRESS="+proc.Addr(ports[0]),
				"RESTATE_ADMIN__BIND_ADDRESS="+proc.Addr(ports[1]),
				"RESTATE_BIND_ADDRESS="+proc.Addr(ports[2]),
				"RESTATE_ADVERTISED_ADDRESS=http://"+proc.Addr(ports[2]),
				"RESTATE_LISTEN_MODE=tcp",
				"RESTATE_LOG_DISABLE_ANSI_CODES=true",
				"RESTATE_LOG_FILTER=warn",
			)
			return cmd
		}
	default:
		return nil, fmt.Errorf("bench: unknown server %q (want resolute or restate)", kind)
	}
	return s, nil
}

// start launches the server process and waits until its APIs answer.
func (s *server) start() error {
	s.starts++
	p, err := proc.Start(s.kind, s.command(), filepath.Join(s.logDir, s.kind+".log"), proc.Append)
	if err != nil {
		return err
	}
	s.proc = p
	if err := waitReady(s.kind+" admin", serverReadyTimeout, p, func() error { return expectGet(s.admin + "/health") }); err != nil {
		return err
	}
	return waitReady(s.kind+" ingress", serverReadyTimeout, p, func() error { return expectGet(s.ingress + "/restate/health") })
}

// kill is a crash: SIGKILL to the process group.
func (s *server) kill() { s.proc.Kill() }

// stop ends the server (SIGTERM, then SIGKILL).
func (s *server) stop() {
	if s.proc != nil {
		_, _ = s.proc.Terminate(10 * time.Second)
	}
}

// register POSTs the deployment to the admin API.
func (s *server) register(uri string) error {
	payload, _ := json.Marshal(map[string]string{"uri": uri})
	resp, err := controlClient.Post(s.admin+"/deployments", "application/json", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("register %s on %s: %w", uri, s.kind, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register %s on %s: status %d: %s", uri, s.kind, resp.StatusCode, body)
	}
	return nil
}

// rssKiB reads VmRSS of the server process from /proc.
func (s *server) rssKiB() (int64, error) { return rssKiB(s.proc.Pid()) }
