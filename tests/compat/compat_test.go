//go:build linux

package compat

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestOfficialSDKs registers services written with the official TypeScript
// and Go SDKs with the server under test, behind wiretaps, and checks state,
// side effects, calls between the two SDKs, ingress errors, sleeps with
// suspension, one-way sends, idempotent calls and retries through the public
// APIs, with every invocation stream at the protocol version of the case. For
// our server it then SIGKILLs a server mid-work (see sigkillMidWork).
func TestOfficialSDKs(t *testing.T) {
	tl := findTools(t)
	launcher := chooseServer(t, tl)
	logDir := t.TempDir()
	effects := filepath.Join(t.TempDir(), "effects.log")

	// One reservation for every port, so that no two processes get the same one.
	ports := testenv.FreePorts(t, 2+3*len(launcher.versions)+2+lcPortsNeeded)
	tsPort, goPort := ports[0], ports[1]
	goSvc := startGoService(t, tl, logDir, goPort, effects)
	tsSvc := startTSService(t, tl, logDir, tsPort, effects)
	for _, svc := range []struct {
		p    *testenv.Proc
		port int
	}{{tsSvc, tsPort}, {goSvc, goPort}} {
		testenv.WaitReady(t, svc.p.Name, serviceReadyTimeout, func() error {
			return testenv.ExpectStatus(testenv.H2CClient, fmt.Sprintf("http://%s/health", testenv.Addr(svc.port)), 200)
		}, svc.p)
	}
	// The same services against a fresh server per protocol version.
	for i, v := range launcher.versions {
		p := ports[2+3*i:]
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) {
			srv := startServer(t, launcher, logDir, p[0], p[1], p[2], v)
			t.Logf("server under test: %s (ingress %s, admin %s)", srv.kind, srv.ingress, srv.admin)
			sides := tapSDKs(t, tsPort, goPort)
			registerSides(t, srv, sides)
			runSDKSteps(t, srv)
			runScenarios(t, srv, sides, effects, fmt.Sprintf("v%d", v))
			checkNoDoubleOutput(t, sides)
			for _, s := range sides {
				if err := s.tap.CheckProtocol(v); err != nil {
					t.Errorf("%s deployment: %v", s.name, err)
				}
			}
		})
	}
	// Cancel, kill, pause, resume, restart, purge and retention, on a server of their own.
	t.Run("lifecycle", func(t *testing.T) {
		runLifecycle(t, launcher, logDir, ports[len(ports)-lcPortsNeeded:], tsPort, goPort, effects)
	})
	if launcher.kind != "resolute" {
		t.Logf("SIGKILL mid-work: runs against our server only (RESOLUTE_COMPAT_SERVER=%s)", launcher.kind)
		return
	}
	t.Run("SIGKILL mid-work", func(t *testing.T) {
		kp := ports[2+3*len(launcher.versions):]
		sigkillMidWork(t, launcher.bin, logDir, kp[0], kp[1], tsPort, goPort, effects, tsSvc, goSvc)
	})
}

// runSDKSteps runs the basic steps against a fresh server with both services registered.
func runSDKSteps(t *testing.T, srv *server) {
	const key = "alice"
	steps := []struct {
		name, path, body string
		want             any // JSON value of a 200 answer
	}{
		// TsCounter.add: GetState, ctx.run, SetState, Output.
		{"ts add 1", "/TsCounter/" + key + "/add", "1", 1},
		{"ts add 2", "/TsCounter/" + key + "/add", "2", 3},
		{"ts add 3", "/TsCounter/" + key + "/add", "3", 6},
		{"ts get", "/TsCounter/" + key + "/get", "", 6},
		{"ts get other key", "/TsCounter/bob/get", "", 0},
		// GoCounter.add: the same through sdk-go.
		{"go add 10", "/GoCounter/" + key + "/add", "10", 10},
		{"go add 20", "/GoCounter/" + key + "/add", "20", 30},
		{"go add 30", "/GoCounter/" + key + "/add", "30", 60},
		{"go get", "/GoCounter/" + key + "/get", "", 60},
		// TS -> Go call: GoCounter/alice becomes 65 and the TS handler returns it.
		{"ts callGo 5", "/TsCounter/" + key + "/callGo", "5", 65},
		{"go get after callGo", "/GoCounter/" + key + "/get", "", 65},
		{"ts get after callGo", "/TsCounter/" + key + "/get", "", 6},
		// Go -> TS call: TsCounter/alice becomes 10.
		{"go callTs 4", "/GoCounter/" + key + "/callTs", "4", 10},
		{"ts get after callTs", "/TsCounter/" + key + "/get", "", 10},
		{"go get after callTs", "/GoCounter/" + key + "/get", "", 65},
		// Three chained ctx.run steps; their results come back in the output.
		{"ts steps", "/TsSteps/run", `"compat"`, map[string]any{"greeting": "hello compat", "length": 12, "doubled": 24}},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			r, err := testenv.Invoke(srv.ingress, st.path, st.body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 {
				t.Fatalf("POST %s %s: %v, want 200", st.path, st.body, r)
			}
			assertJSON(t, r.Body, st.want)
			if id := r.Header.Get("x-restate-id"); !strings.HasPrefix(id, "inv_") {
				t.Errorf("POST %s: x-restate-id %q, want inv_…", st.path, id)
			}
		})
		if !ok {
			t.Fatalf("step %q failed; later steps depend on it", st.name)
		}
	}

	for _, path := range []string{"/TsCounter/" + key + "/nope", "/GoCounter/" + key + "/nope", "/TsSteps/nope", "/Nope/x"} {
		t.Run("404 "+path, func(t *testing.T) {
			r, err := testenv.Invoke(srv.ingress, path, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 404 {
				t.Fatalf("POST %s: %v, want 404", path, r)
			}
			var e struct {
				Code int `json:"code"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil || e.Code != 404 {
				t.Errorf("POST %s: body %s, want a JSON error with code 404", path, r.Body)
			}
		})
	}
}

// registerAndWait registers a deployment, checks the services it reports, and
// polls probe (a side-effect-free handler) until the ingress routes to it.
func registerAndWait(t *testing.T, srv *server, uri string, services []string, probe string) {
	t.Helper()
	reg, err := testenv.Register(srv.admin, uri)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.ServiceNames(); !slices.Equal(got, services) {
		t.Fatalf("register %s: services %v, want %v", uri, got, services)
	}
	if !strings.HasPrefix(reg.ID, "dp_") {
		t.Errorf("register %s: id %q, want dp_…", uri, reg.ID)
	}
	testenv.WaitReady(t, "ingress route "+probe, serverReadyTimeout, func() error {
		r, err := testenv.Invoke(srv.ingress, probe, "")
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("POST %s: %v", probe, r)
		}
		return nil
	}, srv.proc)
	t.Logf("registered %s as %s: %v", uri, reg.ID, reg.ServiceNames())
}

// assertJSON compares body with want after a JSON round trip of want, so
// numbers compare as float64 on both sides.
func assertJSON(t *testing.T, body []byte, want any) {
	t.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var wantV any
	if err := json.Unmarshal(raw, &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantV) {
		t.Fatalf("got %s, want %s", body, raw)
	}
}
