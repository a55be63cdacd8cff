package officialserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// steps is a Virtual Object exercising Run, state and terminal errors; runs counts executions of
// Run bodies so the test can see they are not repeated.
func steps(runs *atomic.Int64) *sdk.Object {
	return sdk.NewObject("Steps").
		Handler("run", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) ([]string, error) {
			var out []string
			for i := 0; i < n; i++ {
				v, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
					runs.Add(1)
					return fmt.Sprintf("step-%d", i), nil
				}, sdk.WithName(fmt.Sprintf("step%d", i)))
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if err := sdk.Set(ctx, "last", out); err != nil {
				return nil, err
			}
			return out, nil
		})).
		Handler("keys", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) ([]string, error) {
			return sdk.Keys(ctx)
		})).
		Handler("reset", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			sdk.ClearAll(ctx)
			return sdk.Void{}, nil
		})).
		Handler("teapot", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.TerminalError(errors.New("short and stout"), 418)
		}))
}

func TestOurSDKOnOfficialServer(t *testing.T) {
	bin := testenv.OfficialServerPath(t)

	for _, tc := range []struct {
		name    string
		env     []string
		version int // the protocol version every invocation stream must use
	}{
		{"V6", nil, 6},
		{"V7", []string{"RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7=true"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) { runAgainstOfficial(t, bin, tc.env, tc.version) })
	}
}

// runAgainstOfficial registers our SDK's endpoint with the official server behind a wiretap and
// checks, besides the answers, that every invocation stream ran at protocol version.
func runAgainstOfficial(t *testing.T, bin string, extraEnv []string, version int) {
	var runs atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := sdk.NewEndpoint().Bind(greeter.Greeter, greeter.Welcome, steps(&runs), awake, mailbox, order, orderClient)
	go ep.Serve(ln)
	t.Cleanup(func() { ln.Close() })

	ports := testenv.FreePorts(t, 3)
	logDir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RESTATE_BASE_DIR="+t.TempDir(),
		"RESTATE_INGRESS__BIND_ADDRESS="+testenv.Addr(ports[0]),
		"RESTATE_ADMIN__BIND_ADDRESS="+testenv.Addr(ports[1]),
		"RESTATE_BIND_ADDRESS="+testenv.Addr(ports[2]),
		"RESTATE_ADVERTISED_ADDRESS=http://"+testenv.Addr(ports[2]),
		"RESTATE_LISTEN_MODE=tcp",
		"RESTATE_LOG_DISABLE_ANSI_CODES=true",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	proc := testenv.StartProc(t, "restate-server", logDir, cmd)
	t.Cleanup(proc.Stop)
	t.Cleanup(func() { proc.DumpLogIfFailed(t) })
	ingress, admin := "http://"+testenv.Addr(ports[0]), "http://"+testenv.Addr(ports[1])
	testenv.WaitReady(t, "restate-server", time.Minute, func() error { return testenv.ExpectStatus(testenv.HTTPClient, admin+"/health", http.StatusOK) }, proc)

	tap := testenv.StartWiretap(t, "http://"+ln.Addr().String())
	reg, err := testenv.Register(admin, tap.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(reg.ServiceNames(), ","); got != "Awake,Greeter,Mailbox,Order,OrderClient,Steps,Welcome" {
		t.Fatalf("registered services %s", got)
	}
	testenv.WaitReady(t, "services routable", 30*time.Second, func() error {
		r, err := testenv.Invoke(ingress, "/Greeter/probe/count", "")
		if err != nil || r.Status != 200 {
			return fmt.Errorf("probe: %v %v", r, err)
		}
		return nil
	}, proc)

	expect := func(path, body string, status int, want string) {
		t.Helper()
		r, err := testenv.Invoke(ingress, path, body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Status != status || !strings.Contains(string(r.Body), want) {
			t.Fatalf("%s: %s, want %d containing %s", path, r, status, want)
		}
	}
	for i := 1; i <= 3; i++ {
		expect("/Greeter/alice/greet", `"Hello"`, 200, fmt.Sprintf(`"Hello alice for the %d-th time."`, i))
	}
	expect("/Greeter/alice/count", "", 200, "3")
	expect("/Welcome/welcome", `"bob"`, 200, `"Welcome bob for the 1-th time."`)
	expect("/Welcome/welcome", `""`, 400, "name must not be empty")
	expect("/Steps/s1/run", "3", 200, `["step-0","step-1","step-2"]`)
	if runs.Load() != 3 {
		t.Fatalf("run bodies executed %d times, want 3", runs.Load())
	}
	expect("/Steps/s1/keys", "", 200, `["last"]`)
	expect("/Steps/s1/reset", "", 200, "")
	expect("/Steps/s1/keys", "", 200, `[]`)
	expect("/Steps/s1/teapot", "", 418, "short and stout")
	env := officialEnv{ingress: ingress, admin: admin, tap: tap, version: version}
	checkAwakeables(t, env)
	checkWorkflows(t, env)
	if err := tap.CheckProtocol(version); err != nil {
		t.Fatal(err)
	}
	t.Logf("all %d invocation streams at protocol V%d", len(tap.Streams()), version)
}
