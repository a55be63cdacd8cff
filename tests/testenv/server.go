//go:build linux

package testenv

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// ServerReadyTimeout covers a cold start of the server, including recovery
// of its Raft log after a crash.
const ServerReadyTimeout = 90 * time.Second

// ServerConfig says how to run `resolute server`.
type ServerConfig struct {
	Bin         string // resolute binary; ResoluteBinary(t) if empty
	DataDir     string // t.TempDir() if empty
	LogDir      string // t.TempDir() if empty
	IngressPort int    // free port if 0
	AdminPort   int    // free port if 0
	Args        []string
}

// Server is a `resolute server` process that keeps its data directory and
// ports across Kill and Restart. Ingress and Admin are base URLs with no
// trailing slash. Its methods fail the test and must run on the test's
// goroutine.
type Server struct {
	t       testing.TB
	cfg     ServerConfig
	Ingress string
	Admin   string
	proc    *Proc
	starts  int // processes started so far; names the log files
}

// StartServer starts the server and waits until its admin and ingress APIs
// answer their health endpoints.
func StartServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s := LaunchServer(t, cfg)
	s.WaitReady()
	return s
}

// LaunchServer starts the server without waiting for it (the members of a cluster become ready
// only together): call WaitReady once every member is launched.
func LaunchServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Bin == "" {
		cfg.Bin = ResoluteBinary(t)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	if cfg.IngressPort == 0 || cfg.AdminPort == 0 {
		ports := FreePorts(t, 2)
		cfg.IngressPort, cfg.AdminPort = ports[0], ports[1]
	}
	s := &Server{t: t, cfg: cfg, Ingress: "http://" + Addr(cfg.IngressPort), Admin: "http://" + Addr(cfg.AdminPort)}
	s.launch()
	return s
}

func (s *Server) start() {
	s.t.Helper()
	s.launch()
	s.WaitReady()
}

func (s *Server) launch() {
	s.t.Helper()
	args := append([]string{"server", "--data-dir", s.cfg.DataDir,
		"--ingress-addr", Addr(s.cfg.IngressPort), "--admin-addr", Addr(s.cfg.AdminPort)}, s.cfg.Args...)
	s.starts++
	s.proc = StartProc(s.t, fmt.Sprintf("resolute-server.%d", s.starts), s.cfg.LogDir, exec.Command(s.cfg.Bin, args...))
}

// WaitReady polls the admin /health and ingress /restate/health endpoints.
func (s *Server) WaitReady() {
	s.t.Helper()
	WaitReady(s.t, "resolute admin", ServerReadyTimeout, func() error {
		return ExpectStatus(HTTPClient, s.Admin+"/health", 200)
	}, s.proc)
	WaitReady(s.t, "resolute ingress", ServerReadyTimeout, func() error {
		return ExpectStatus(HTTPClient, s.Ingress+"/restate/health", 200)
	}, s.proc)
}

// Proc is the current server process.
func (s *Server) Proc() *Proc { return s.proc }

// Starts is the number of processes started so far (1 before any restart).
func (s *Server) Starts() int { return s.starts }

// Kill sends SIGKILL to the server and waits until it is gone: a crash.
func (s *Server) Kill() {
	s.proc.Kill()
	s.t.Logf("%s: killed (SIGKILL)", s.proc.Name)
}

// Stop sends SIGTERM and fails the test unless the server exits with status
// 0 within 10 s.
func (s *Server) Stop() {
	s.t.Helper()
	start := time.Now()
	inTime, err := s.proc.Terminate(stopGrace)
	switch {
	case !inTime:
		s.t.Errorf("%s: still running %v after SIGTERM; killed", s.proc.Name, stopGrace)
	case err != nil:
		s.t.Errorf("%s: exit after SIGTERM: %v, want status 0", s.proc.Name, err)
	default:
		s.t.Logf("%s: stopped cleanly (SIGTERM, exit 0 after %v)", s.proc.Name, time.Since(start).Round(time.Millisecond))
	}
}

// Restart starts a new server process on the same data directory and ports,
// once the previous one has exited (Kill or Stop first), and waits until it
// is ready.
func (s *Server) Restart() {
	s.t.Helper()
	if gone, _ := s.proc.Exited(); !gone {
		s.t.Fatalf("%s: restart while still running; Kill or Stop it first", s.proc.Name)
	}
	s.start()
}

// DataDir is the server's data directory.
func (s *Server) DataDir() string { return s.cfg.DataDir }
