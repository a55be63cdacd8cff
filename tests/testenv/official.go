package testenv

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OfficialServerBin is where `npm ci` in compat/ts puts restate-server, relative to the module
// root.
const OfficialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"

// OfficialServerPath is restate-server's absolute path; a test without it skips (fails with
// CI=true).
func OfficialServerPath(t testing.TB) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, OfficialServerBin)
	_, statErr := os.Stat(bin)
	RequirePrereq(t, statErr == nil, "%s missing: run `npm ci` in compat/ts", OfficialServerBin)
	return bin
}

// StartOfficialServer starts restate-server bin on free loopback ports with a base directory of
// its own, the extra environment env and the arguments args, and returns its ingress and admin
// URLs once its admin API answers. It is stopped (its log printed if the test failed) at cleanup.
func StartOfficialServer(t testing.TB, bin string, env []string, args ...string) (ingress, admin string) {
	t.Helper()
	ports := FreePorts(t, 3)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"RESTATE_BASE_DIR="+t.TempDir(),
		"RESTATE_INGRESS__BIND_ADDRESS="+Addr(ports[0]),
		"RESTATE_ADMIN__BIND_ADDRESS="+Addr(ports[1]),
		"RESTATE_BIND_ADDRESS="+Addr(ports[2]),
		"RESTATE_ADVERTISED_ADDRESS=http://"+Addr(ports[2]),
		"RESTATE_LISTEN_MODE=tcp",
		"RESTATE_LOG_DISABLE_ANSI_CODES=true",
	)
	cmd.Env = append(cmd.Env, env...)
	proc := StartProc(t, "restate-server", t.TempDir(), cmd)
	ingress, admin = "http://"+Addr(ports[0]), "http://"+Addr(ports[1])
	WaitReady(t, "restate-server", time.Minute, func() error { return ExpectStatus(HTTPClient, admin+"/health", http.StatusOK) }, proc)
	return ingress, admin
}
