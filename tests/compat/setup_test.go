//go:build linux

package compat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
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
	// suspendAfter is the server's inactivity timeout: an invocation stream idle this long is
	// closed and the SDK suspends. Short, so that a sleep of sleepFor suspends.
	suspendAfter = 200 * time.Millisecond
)

// tools are the external programs and directories the test needs.
type tools struct {
	root   string // main module root
	node   string // node executable
	goTool string
}

func findTools(t *testing.T) tools {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatalf("locate module root: %v", err)
	}
	node, err := exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	_, err = os.Stat(filepath.Join(root, tsSDKDir))
	testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci` in compat/ts", tsSDKDir)
	goTool, err := exec.LookPath("go")
	testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build compat/gosdk)")
	return tools{root: root, node: node, goTool: goTool}
}

// server is a running server under test.
type server struct {
	kind    string
	ingress string // base URL, no trailing slash
	admin   string
	proc    *testenv.Proc
}

// serverLauncher starts the chosen server on the given ports and data dir. versions lists the
// protocol versions to run the test under; start makes the server speak protocol (the highest
// version both sides know, so each invocation stream must use exactly that one).
type serverLauncher struct {
	kind     string
	bin      string
	versions []int
	start    func(dataDir string, ingress, admin, node, protocol int) *exec.Cmd
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
		// V7 is our default; V6 is what the official server speaks by default, so the official
		// SDKs meet it most in production.
		return serverLauncher{kind: kind, bin: bin, versions: []int{7, 6}, start: func(dataDir string, ingress, admin, _, protocol int) *exec.Cmd {
			return exec.Command(bin, "server", "--data-dir", dataDir, "--ingress-addr", testenv.Addr(ingress),
				"--admin-addr", testenv.Addr(admin), "--max-protocol-version", fmt.Sprint(protocol),
				"--inactivity-timeout", suspendAfter.String())
		}}
	case "restate":
		bin := filepath.Join(tl.root, officialServerBin)
		_, err := os.Stat(bin)
		testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci` in compat/ts (devDependency @restatedev/restate-server)", officialServerBin)
		// V6 is its default; V7 needs an experimental flag.
		return serverLauncher{kind: kind, bin: bin, versions: []int{6, 7}, start: func(dataDir string, ingress, admin, node, protocol int) *exec.Cmd {
			cmd := officialServerCmd(bin, dataDir, ingress, admin, node)
			if protocol == 7 {
				cmd.Env = append(cmd.Env, "RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7=true")
			}
			return cmd
		}}
	default:
		t.Fatalf("RESOLUTE_COMPAT_SERVER=%q: want resolute or restate", kind)
		return serverLauncher{}
	}
}

// startServer starts the server on free ports with a fresh data dir and waits
// until its admin and ingress answer their health endpoints.
func startServer(t *testing.T, l serverLauncher, logDir string, ingress, admin, node, protocol int) *server {
	t.Helper()
	s := &server{
		kind:    l.kind,
		ingress: "http://" + testenv.Addr(ingress),
		admin:   "http://" + testenv.Addr(admin),
	}
	s.proc = testenv.StartProc(t, fmt.Sprintf("%s-server-v%d", l.kind, protocol), logDir, l.start(t.TempDir(), ingress, admin, node, protocol))
	testenv.WaitReady(t, l.kind+" admin", serverReadyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, s.admin+"/health", 200)
	}, s.proc)
	testenv.WaitReady(t, l.kind+" ingress", serverReadyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, s.ingress+"/restate/health", 200)
	}, s.proc)
	return s
}

// resoluteBinary returns RESOLUTE_BIN, or builds ./cmd/resolute.
func resoluteBinary(t *testing.T, tl tools) string {
	t.Helper()
	if os.Getenv("RESOLUTE_BIN") == "" {
		if _, err := os.Stat(filepath.Join(tl.root, "cmd", "resolute")); err != nil {
			t.Fatalf("the Resolute server is not buildable: %s/cmd/resolute does not exist (%v). "+
				"Set RESOLUTE_COMPAT_SERVER=restate to run this test against the official restate-server.",
				tl.root, err)
		}
	}
	return testenv.ResoluteBinary(t)
}

// officialServerCmd configures restate-server through its environment.
func officialServerCmd(bin, dataDir string, ingress, admin, node int) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RESTATE_BASE_DIR="+dataDir,
		"RESTATE_INGRESS__BIND_ADDRESS="+testenv.Addr(ingress),
		"RESTATE_ADMIN__BIND_ADDRESS="+testenv.Addr(admin),
		"RESTATE_BIND_ADDRESS="+testenv.Addr(node),
		"RESTATE_ADVERTISED_ADDRESS=http://"+testenv.Addr(node),
		"RESTATE_LISTEN_MODE=tcp",
		"RESTATE_LOG_DISABLE_ANSI_CODES=true",
		"RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT="+suspendAfter.String(),
		// Expired workflows are removed by a periodic cleaner (hourly by default); Resolute
		// removes each with a timer when its retention ends.
		"RESTATE_WORKER__CLEANUP_INTERVAL=1s",
	)
	return cmd
}

// startTSService runs compat/ts/service.mjs under node with the Node 20 polyfill; its side
// effects append to the file effects.
func startTSService(t *testing.T, tl tools, logDir string, port int, effects string) *testenv.Proc {
	t.Helper()
	cmd := exec.Command(tl.node, "--import", "./polyfill.mjs", "service.mjs", fmt.Sprint(port), effects)
	cmd.Dir = filepath.Join(tl.root, "compat", "ts")
	return testenv.StartProc(t, "ts-service", logDir, cmd)
}

// startGoService builds compat/gosdk (its own module) and runs it; its side effects append to
// the file effects.
func startGoService(t *testing.T, tl tools, logDir string, port int, effects string) *testenv.Proc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gosdk")
	testenv.GoBuild(t, tl.goTool, filepath.Join(tl.root, "compat", "gosdk"), bin, ".")
	cmd := exec.Command(bin, "-port", fmt.Sprint(port), "-effects", effects)
	return testenv.StartProc(t, "go-service", logDir, cmd)
}
