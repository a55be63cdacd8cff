//go:build linux

package e2e

import (
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// What KillRuntime, StopRuntime and SleepWithFailures need of the runner: upstream's
// ContainerHandle killAndRestart and terminateAndRestart, for the server under test (on the same
// storage and ports) and for the services process (on the same port). The runner records the
// handles where it starts the processes (deploy, startOfficial, startServices).

// stopGrace bounds a clean exit after SIGTERM (upstream's terminate: docker stop's 10 s).
const stopGrace = 10 * time.Second

// serverProc restarts a server under test. Its methods fail the test they are given.
type serverProc struct {
	name    string
	kill    func()           // SIGKILL, and wait until it is gone
	stop    func(*testing.T) // SIGTERM, and fail unless it exits cleanly in time
	restart func(*testing.T) // start again on the same data and ports, and wait until ready
}

// ourServerProc is srv's handle.
func ourServerProc(srv *testenv.Server) *serverProc {
	return &serverProc{
		name: ours,
		kill: srv.Kill,
		stop: func(t *testing.T) {
			if inTime, err := srv.Proc().Terminate(stopGrace); !inTime || err != nil {
				t.Errorf("%s: SIGTERM: exited in time %v, exit error %v; want a clean exit", ours, inTime, err)
			}
		},
		restart: func(*testing.T) { srv.Restart() },
	}
}

// officialServerProc is the handle of restate-server p, started by cmd (its environment names
// its data directory and ports), logging to logDir. New processes are stopped on cleanup of
// owner.
func officialServerProc(owner testing.TB, cmd *exec.Cmd, p *testenv.Proc, logDir string, d *deployment) *serverProc {
	var mu sync.Mutex
	cur, starts := p, 1
	current := func() *testenv.Proc {
		mu.Lock()
		defer mu.Unlock()
		return cur
	}
	return &serverProc{
		name: official,
		kill: func() { current().Kill() },
		stop: func(t *testing.T) {
			if inTime, err := current().Terminate(stopGrace); !inTime || err != nil {
				t.Errorf("%s: SIGTERM: exited in time %v, exit error %v; want a clean exit", official, inTime, err)
			}
		},
		restart: func(t *testing.T) {
			if gone, _ := current().Exited(); !gone {
				t.Fatalf("%s: restart while still running", official)
			}
			mu.Lock()
			starts++
			next := exec.Command(cmd.Path, cmd.Args[1:]...)
			next.Env = cmd.Env
			cur = testenv.StartProc(owner, fmt.Sprintf("restate-server.%d", starts), logDir, next)
			p := cur
			mu.Unlock()
			waitOfficialReady(t, d, p)
		},
	}
}

// waitOfficialReady waits until restate-server p answers its admin and ingress health checks.
func waitOfficialReady(t testing.TB, d *deployment, p *testenv.Proc) {
	t.Helper()
	testenv.WaitReady(t, "restate-server admin", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, d.admin+"/health", 200)
	}, p)
	testenv.WaitReady(t, "restate-server ingress", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.HTTPClient, d.ingress+"/restate/health", 200)
	}, p)
}

// servicesProc restarts a services process on its port.
type servicesProcHandle struct {
	owner  testing.TB
	url    string
	logDir string
	path   string
	args   []string
	dir    string
	env    []string
	mu     sync.Mutex
	cur    *testenv.Proc
	starts int
}

// servicesByURL holds the handle of every services process, by its URL.
var servicesByURL sync.Map // string -> *servicesProcHandle

// rememberServices records the services process p serving url, started by cmd, so that a
// scenario can kill and restart it (restartServices). Its later processes are stopped on
// cleanup of owner.
func rememberServices(owner testing.TB, url string, cmd *exec.Cmd, p *testenv.Proc, logDir string) {
	servicesByURL.Store(url, &servicesProcHandle{owner: owner, url: url, logDir: logDir,
		path: cmd.Path, args: cmd.Args[1:], dir: cmd.Dir, env: cmd.Env, cur: p, starts: 1})
}

// restartServices is upstream's killAndRestart (kill) or terminateAndRestart of the services
// container: it kills (SIGKILL) or stops (SIGTERM) the services process of d and starts it
// again on the same port, waiting until it answers.
func restartServices(t *testing.T, d *deployment, kill bool) {
	t.Helper()
	v, ok := servicesByURL.Load(d.servicesURL)
	if !ok {
		t.Fatalf("no services process recorded for %q", d.servicesURL)
	}
	h := v.(*servicesProcHandle)
	h.mu.Lock()
	defer h.mu.Unlock()
	if kill {
		h.cur.Kill()
	} else if _, err := h.cur.Terminate(stopGrace); err != nil {
		t.Logf("services: exit after SIGTERM: %v", err) // node exits 143 on SIGTERM
	}
	h.starts++
	cmd := exec.Command(h.path, h.args...)
	cmd.Dir, cmd.Env = h.dir, h.env
	h.cur = testenv.StartProc(h.owner, fmt.Sprintf("e2e-services.%d", h.starts), h.logDir, cmd)
	testenv.WaitReady(t, "test services (restarted)", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, h.url+"/health", 200)
	}, h.cur)
}
