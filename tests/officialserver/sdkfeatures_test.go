package officialserver

import (
	"encoding/json"
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

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// featureServices exercise what our SDK sends restate-server beyond the basics: handler options,
// Run retry options, cancellation of child calls and terminal-error metadata. The counters count
// executions of the handlers' steps.
type featureCounters struct{ killed, flaky atomic.Int32 }

func featureServices(c *featureCounters) *sdk.Endpoint {
	opts := sdk.NewService("Opts").
		Handler("private", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (string, error) { return "secret", nil }, sdk.WithIngressPrivate(true))).
		Handler("viaHandler", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Call[string](ctx, sdk.ToService("Opts", "private"), nil)
		})).
		Handler("killed", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (string, error) {
			return "", fmt.Errorf("attempt %d failed", c.killed.Add(1))
		}, sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(3), sdk.WithInitialRetryInterval(10*time.Millisecond), sdk.KillOnMaxAttempts()))).
		Handler("flaky", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (string, error) {
				return "", sdk.RetryableErrorf(503, "flaky %d", c.flaky.Add(1))
			}, sdk.WithMaxRetryAttempts(3), sdk.WithInitialRetryInterval(10*time.Millisecond))
		})).
		Handler("declined", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.ToTerminalError(errors.New("card declined"), sdk.WithErrorCode(402), sdk.WithMetadata("reason", "expired"))
		})).
		Handler("relay", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (map[string]string, error) {
			_, err := sdk.Call[sdk.Void](ctx, sdk.ToService("Opts", "declined"), nil)
			return sdk.TerminalMetadata(err), nil
		}))
	tree := sdk.NewObject("Tree").
		Handler("work", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			if err := sdk.Set(ctx, "started", true); err != nil {
				return "", err
			}
			err := sdk.Sleep(ctx, time.Hour)
			if sdk.ErrorCode(err) == 409 {
				if serr := sdk.Set(ctx, "compensated", true); serr != nil {
					return "", serr
				}
			}
			return "slept", err
		})).
		Handler("parent", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			return sdk.Call[string](ctx, sdk.ToObject("Tree", ctx.Key()+"-child", "work"), nil)
		})).
		Handler("flags", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (string, error) {
			started, err := sdk.Get[bool](ctx, "started")
			if err != nil {
				return "", err
			}
			compensated, err := sdk.Get[bool](ctx, "compensated")
			return fmt.Sprintf("started=%v compensated=%v", started, compensated), err
		}))
	return sdk.NewEndpoint().Bind(opts, tree)
}

// TestSDKFeaturesOnOfficialServer: restate-server accepts our manifest's options and honours
// them (ingress-private, a retry policy with KILL), retries a Run as our SDK asks (three runs,
// then the Run's terminal 503), passes the cancellation of a parent on to the child call it
// waits on (the SDK's SendSignal), and carries terminal-error metadata to the calling handler.
func TestSDKFeaturesOnOfficialServer(t *testing.T) {
	bin := testenv.OfficialServerPath(t)

	var c featureCounters
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go featureServices(&c).Serve(ln)
	t.Cleanup(func() { ln.Close() })

	ports := testenv.FreePorts(t, 3)
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
	proc := testenv.StartProc(t, "restate-server", t.TempDir(), cmd)
	t.Cleanup(proc.Stop)
	t.Cleanup(func() { proc.DumpLogIfFailed(t) })
	in, admin := "http://"+testenv.Addr(ports[0]), "http://"+testenv.Addr(ports[1])
	testenv.WaitReady(t, "restate-server", time.Minute, func() error { return testenv.ExpectStatus(testenv.HTTPClient, admin+"/health", http.StatusOK) }, proc)
	if _, err := testenv.Register(admin, "http://"+ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	call := func(path string) testenv.Reply {
		t.Helper()
		r, err := testenv.Invoke(in, path, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	testenv.WaitReady(t, "services routable", 30*time.Second, func() error {
		if r := call("/Opts/viaHandler"); r.Status != 200 || string(r.Body) != `"secret"` {
			return fmt.Errorf("probe: %v", r)
		}
		return nil
	}, proc)

	if r := call("/Opts/private"); r.Status != 400 {
		t.Errorf("ingress-private handler over the ingress: %v, want 400", r)
	}
	if r := call("/Opts/killed"); !strings.Contains(string(r.Body), "attempt 3 failed") || c.killed.Load() != 3 {
		t.Errorf("killed: %v after %d attempts, want the third attempt's failure after 3", r, c.killed.Load())
	}
	if r := call("/Opts/flaky"); r.Status != 503 || !strings.Contains(string(r.Body), "flaky 3") || c.flaky.Load() != 3 {
		t.Errorf("flaky Run: %v after %d runs, want 503 flaky 3 after 3", r, c.flaky.Load())
	}
	if r := call("/Opts/relay"); r.Status != 200 || string(r.Body) != `{"reason":"expired"}` {
		t.Errorf("metadata seen by the caller: %v", r)
	}

	r := call("/Tree/p/parent/send")
	var sent struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil || sent.InvocationID == "" {
		t.Fatalf("send parent: %v", r)
	}
	flagsAre := func(want string) func() error {
		return func() error {
			if r := call("/Tree/p-child/flags"); string(r.Body) != want {
				return fmt.Errorf("flags %s", r.Body)
			}
			return nil
		}
	}
	testenv.WaitReady(t, "child started", 30*time.Second, flagsAre(`"started=true compensated=false"`), proc)
	req, _ := http.NewRequest(http.MethodPatch, admin+"/invocations/"+sent.InvocationID+"/cancel", nil)
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("cancel parent: %d", resp.StatusCode)
	}
	testenv.WaitReady(t, "the child saw the cancellation", 30*time.Second, flagsAre(`"started=true compensated=true"`), proc)
}
