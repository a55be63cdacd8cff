//go:build linux

package compat

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const (
	// serverReadyTimeout covers a cold start of either server.
	serverReadyTimeout = 90 * time.Second
	// serviceReadyTimeout covers node and the Go SDK binary starting up.
	serviceReadyTimeout = 60 * time.Second
	// officialServerBin is the native binary shipped by npm @restatedev/restate-server.
	officialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
	// tsSDKDir marks that `npm ci` has run in compat/ts.
	tsSDKDir = "compat/ts/node_modules/@restatedev/restate-sdk"
)

// inCI reports whether missing prerequisites must fail instead of skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requirePrereq skips the test when ok is false, or fails it under CI=true.
func requirePrereq(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := "compat prerequisite missing: " + fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatal(msg + " (CI=true: a missing prerequisite is a failure)")
	}
	t.Skip(msg)
}

// tools are the external programs and directories the test needs.
type tools struct {
	root   string // main module root
	node   string // node executable
	goTool string
}

func findTools(t *testing.T) tools {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("locate module root: %v", err)
	}
	node, err := exec.LookPath("node")
	requirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	_, err = os.Stat(filepath.Join(root, tsSDKDir))
	requirePrereq(t, err == nil, "%s missing: run `npm ci` in compat/ts", tsSDKDir)
	goTool, err := exec.LookPath("go")
	requirePrereq(t, err == nil, "go tool not found in PATH (needed to build compat/gosdk)")
	return tools{root: root, node: node, goTool: goTool}
}

// moduleRoot walks up from the working directory (the package directory under
// go test) to the directory holding the main module's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/resolute-run/resolute\n")) {
			return dir, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod for github.com/resolute-run/resolute above the working directory")
		}
		dir = parent
	}
}

// server is a running server under test.
type server struct {
	kind    string
	ingress string // base URL, no trailing slash
	admin   string
	proc    *proc
}

// serverLauncher starts the chosen server on the given ports and data dir.
type serverLauncher struct {
	kind  string
	start func(dataDir string, ingress, admin, node int) *exec.Cmd
}

// chooseServer resolves RESOLUTE_COMPAT_SERVER before anything is started, so
// a missing or unbuildable server fails the test early.
func chooseServer(t *testing.T, tl tools) serverLauncher {
	t.Helper()
	kind := os.Getenv("RESOLUTE_COMPAT_SERVER")
	if kind == "" {
		kind = "resolute"
	}
	switch kind {
	case "resolute":
		bin := resoluteBinary(t, tl)
		return serverLauncher{kind: kind, start: func(dataDir string, ingress, admin, _ int) *exec.Cmd {
			return exec.Command(bin, "server",
				"--data-dir", dataDir, "--ingress-addr", addr(ingress), "--admin-addr", addr(admin))
		}}
	case "restate":
		bin := filepath.Join(tl.root, officialServerBin)
		_, err := os.Stat(bin)
		requirePrereq(t, err == nil, "%s missing: run `npm ci` in compat/ts (devDependency @restatedev/restate-server)", officialServerBin)
		return serverLauncher{kind: kind, start: func(dataDir string, ingress, admin, node int) *exec.Cmd {
			return officialServerCmd(bin, dataDir, ingress, admin, node)
		}}
	default:
		t.Fatalf("RESOLUTE_COMPAT_SERVER=%q: want resolute or restate", kind)
		return serverLauncher{}
	}
}

// startServer starts the server on free ports with a fresh data dir and waits
// until its admin and ingress answer their health endpoints.
func startServer(t *testing.T, l serverLauncher, logDir string, ingress, admin, node int) *server {
	t.Helper()
	s := &server{
		kind:    l.kind,
		ingress: "http://" + addr(ingress),
		admin:   "http://" + addr(admin),
	}
	s.proc = startProc(t, l.kind+"-server", logDir, l.start(t.TempDir(), ingress, admin, node))
	waitReady(t, l.kind+" admin", serverReadyTimeout, func() error {
		return expectStatus(httpClient, s.admin+"/health", 200)
	}, s.proc)
	waitReady(t, l.kind+" ingress", serverReadyTimeout, func() error {
		return expectStatus(httpClient, s.ingress+"/restate/health", 200)
	}, s.proc)
	return s
}

// resoluteBinary returns RESOLUTE_BIN, or builds ./cmd/resolute.
func resoluteBinary(t *testing.T, tl tools) string {
	t.Helper()
	if bin := os.Getenv("RESOLUTE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("RESOLUTE_BIN=%s: %v", bin, err)
		}
		return bin
	}
	if _, err := os.Stat(filepath.Join(tl.root, "cmd", "resolute")); err != nil {
		t.Fatalf("the Resolute server is not buildable: %s/cmd/resolute does not exist (%v). "+
			"Set RESOLUTE_COMPAT_SERVER=restate to run this test against the official restate-server.",
			tl.root, err)
	}
	bin := filepath.Join(t.TempDir(), "resolute")
	goBuild(t, tl.goTool, tl.root, bin, "./cmd/resolute")
	return bin
}

// officialServerCmd configures restate-server through its environment.
func officialServerCmd(bin, dataDir string, ingress, admin, node int) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RESTATE_BASE_DIR="+dataDir,
		"RESTATE_INGRESS__BIND_ADDRESS="+addr(ingress),
		"RESTATE_ADMIN__BIND_ADDRESS="+addr(admin),
		"RESTATE_BIND_ADDRESS="+addr(node),
		"RESTATE_ADVERTISED_ADDRESS=http://"+addr(node),
		"RESTATE_LISTEN_MODE=tcp",
		"RESTATE_LOG_DISABLE_ANSI_CODES=true",
	)
	return cmd
}

// startTSService runs compat/ts/service.mjs under node with the Node 20 polyfill.
func startTSService(t *testing.T, tl tools, logDir string, port int) *proc {
	t.Helper()
	cmd := exec.Command(tl.node, "--import", "./polyfill.mjs", "service.mjs", fmt.Sprint(port))
	cmd.Dir = filepath.Join(tl.root, "compat", "ts")
	return startProc(t, "ts-service", logDir, cmd)
}

// startGoService builds compat/gosdk (its own module) and runs it.
func startGoService(t *testing.T, tl tools, logDir string, port int) *proc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gosdk")
	goBuild(t, tl.goTool, filepath.Join(tl.root, "compat", "gosdk"), bin, ".")
	cmd := exec.Command(bin, "-port", fmt.Sprint(port))
	return startProc(t, "go-service", logDir, cmd)
}
