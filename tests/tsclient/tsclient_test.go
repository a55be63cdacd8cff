//go:build linux

package tsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

const (
	// clientsDir marks that `npm ci` in compat/ts installed the ingress client.
	clientsDir = "compat/ts/node_modules/@restatedev/restate-sdk-clients"
	// readyTimeout covers a cold start of a server, of node, and a new deployment becoming
	// routable.
	readyTimeout = 90 * time.Second
	// scriptTimeout bounds one run of ingressclient.mjs (a few seconds when all is well).
	scriptTimeout = 2 * time.Minute
)

// Server kinds.
const (
	ours     = "resolute"
	official = "restate"
)

// TestIngressClient runs compat/ts/ingressclient.mjs against a fresh Resolute server and a fresh
// restate-server at once, each with its own compat/ts/service.mjs deployed, and checks every step
// of both runs against want.
func TestIngressClient(t *testing.T) {
	root, node := findTools(t)
	officialBin := testenv.OfficialServerPath(t)
	ourBin := testenv.ResoluteBinary(t)

	var mu sync.Mutex
	got := map[string][]step{}
	t.Run("servers", func(t *testing.T) {
		for _, kind := range []string{ours, official} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				var ingress, admin string
				switch kind {
				case ours:
					srv := testenv.StartServer(t, testenv.ServerConfig{Bin: ourBin})
					ingress, admin = srv.Ingress, srv.Admin
				case official:
					ingress, admin = testenv.StartOfficialServer(t, officialBin, nil)
				}
				steps := runClient(t, root, node, ingress, admin)
				mu.Lock()
				got[kind] = steps
				mu.Unlock()
			})
		}
	})
	for _, kind := range []string{ours, official} {
		checkSteps(t, kind, got[kind])
	}
}

// step is one line that ingressclient.mjs printed, invocation ids replaced (see normalize).
type step struct {
	Name string
	JSON string // the line without its step name, canonical (sorted keys)
}

// findTools returns the module root and node, skipping (failing under CI=true) without them.
func findTools(t *testing.T) (root, node string) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	_, err = os.Stat(filepath.Join(root, clientsDir))
	testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci --ignore-scripts` in compat/ts", clientsDir)
	return root, node
}

// runClient deploys compat/ts/service.mjs on the server (ingress, admin), runs
// ingressclient.mjs against it and returns the steps it printed.
func runClient(t *testing.T, root, node, ingress, admin string) []step {
	t.Helper()
	dir := filepath.Join(root, "compat", "ts")
	effects := filepath.Join(t.TempDir(), "effects")
	port := testenv.FreePorts(t, 1)[0]
	cmd := exec.Command(node, "--import", "./polyfill.mjs", "service.mjs", fmt.Sprint(port), effects)
	cmd.Dir = dir
	svc := testenv.StartProc(t, "ts-service", t.TempDir(), cmd)
	url := "http://" + testenv.Addr(port)
	testenv.WaitReady(t, "ts service", readyTimeout, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, url+"/health", 200)
	}, svc)
	if _, err := testenv.Register(admin, url); err != nil {
		t.Fatal(err)
	}
	testenv.WaitReady(t, "ts services routable", readyTimeout, func() error {
		r, err := testenv.Invoke(ingress, "/TsSteps/run", `"probe"`)
		if err != nil || r.Status != 200 {
			return fmt.Errorf("probe call: %v %v", r, err)
		}
		return nil
	}, svc)

	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	defer cancel()
	cmd = exec.CommandContext(ctx, node, "--import", "./polyfill.mjs", "ingressclient.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "INGRESS="+ingress, "ADMIN="+admin, "EFFECTS_FILE="+effects)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("ingressclient.mjs ran in %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("ingressclient.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	return parseSteps(t, stdout.Bytes())
}

// parseSteps reads the JSON lines of ingressclient.mjs.
func parseSteps(t *testing.T, out []byte) []step {
	t.Helper()
	var steps []step
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(normalize(out, ids))), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ingressclient.mjs printed %q: %v", line, err)
		}
		name, _ := m["step"].(string)
		delete(m, "step")
		canon, _ := json.Marshal(m)
		steps = append(steps, step{Name: name, JSON: string(canon)})
	}
	return steps
}

var invocationID = regexp.MustCompile(`inv_1[0-9A-Za-z]+`)

// normalize replaces each invocation id by "inv#n", n counting distinct ids in order of first
// appearance, so that two runs compare and a step answering an earlier step's id says so.
func normalize(out []byte, ids map[string]string) []byte {
	return invocationID.ReplaceAllFunc(out, func(id []byte) []byte {
		n, ok := ids[string(id)]
		if !ok {
			n = fmt.Sprintf("inv#%d", len(ids)+1)
			ids[string(id)] = n
		}
		return []byte(n)
	})
}

// checkSteps compares the steps that the run against kind printed with want, in order.
func checkSteps(t *testing.T, kind string, got []step) {
	t.Helper()
	if got == nil {
		return // the run failed already
	}
	for i, w := range want {
		if i >= len(got) {
			t.Errorf("%s: step %q missing (ingressclient.mjs printed %d steps)", kind, w.name, len(got))
			continue
		}
		g := got[i]
		if g.Name != w.name {
			t.Errorf("%s: step %d is %q, want %q", kind, i+1, g.Name, w.name)
			continue
		}
		var gv, wv any
		if err := json.Unmarshal([]byte(w.json), &wv); err != nil {
			t.Fatalf("want[%q]: %v", w.name, err)
		}
		_ = json.Unmarshal([]byte(g.JSON), &gv)
		if !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s: step %q:\n got %s\nwant %s", kind, w.name, g.JSON, w.json)
		}
	}
	for _, g := range got[min(len(got), len(want)):] {
		t.Errorf("%s: unexpected step %q: %s", kind, g.Name, g.JSON)
	}
}
