//go:build linux

package sdk_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// retryAnswer is what an SDK answers an attempt of a failing Run: the attempt's ErrorMessage
// (code, next_retry_delay) or the Run's proposed terminal failure.
func retryAnswer(t *testing.T, base, handler string, retries uint32, elapsedMs uint64) string {
	t.Helper()
	rt := invoke(t, base, "/invoke/Retry/"+handler, protocol.V6)
	st := start(2, "")
	st.RetryCountSinceLastStoredEntry, st.DurationSinceLastStoredEntry = retries, elapsedMs
	rt.send(st, input(""), &pb.RunCommandMessage{ResultCompletionId: 1, Name: "flaky"})
	for {
		f, m := rt.recv()
		switch m := m.(type) {
		case *pb.ErrorMessage:
			return fmt.Sprintf("error code=%d next_retry_delay=%d", m.Code, m.GetNextRetryDelay())
		case *pb.ProposeRunCompletionMessage:
			return fmt.Sprintf("terminal code=%d message=%q", m.GetFailure().GetCode(), m.GetFailure().GetMessage())
		default:
			t.Logf("%s: %s %v", base, f.Type, m)
		}
	}
}

// TestRunRetryMatchesOfficialTSSDK gives the official TypeScript SDK (its shared core) and ours
// the same attempts of a Run that keeps failing, with the same retry options, and compares what
// each answers: the delay asked for the next retry, and when the failure becomes terminal.
func TestRunRetryMatchesOfficialTSSDK(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	tsSDK := filepath.Join(root, "compat/ts/node_modules/@restatedev/restate-sdk/dist/index.js")
	_, err = os.Stat(tsSDK)
	testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci --ignore-scripts` in compat/ts", tsSDK)

	port := testenv.FreePorts(t, 1)[0]
	ts := "http://" + testenv.Addr(port)
	script, err := filepath.Abs("testdata/tsretry.mjs")
	if err != nil {
		t.Fatal(err)
	}
	proc := testenv.StartProc(t, "ts-retry", t.TempDir(),
		exec.Command(node, "--import", filepath.Join(root, "compat/ts/polyfill.mjs"), script, tsSDK, fmt.Sprint(port)))
	testenv.WaitReady(t, "TypeScript SDK endpoint", time.Minute, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, ts+"/health", http.StatusOK)
	}, proc)

	flaky := func(sdk.RunContext) (string, error) { return "", errors.New("flaky") }
	common := []sdk.RunOption{sdk.WithName("flaky"), sdk.WithInitialRetryInterval(100 * time.Millisecond),
		sdk.WithRetryIntervalFactor(3), sdk.WithMaxRetryInterval(time.Second)}
	ours := sdk.NewService("Retry").
		Handler("attempts", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Run(ctx, flaky, append(common, sdk.WithMaxRetryAttempts(3))...)
		})).
		Handler("duration", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Run(ctx, flaky, append(common, sdk.WithMaxRetryDuration(5*time.Second))...)
		}))
	base := serve(t, sdk.NewEndpoint().Bind(ours))

	// Durations stay clear of the 5s bound by more than an attempt can take: each SDK adds the
	// attempt's own duration (in whole milliseconds) to Start's.
	for _, tc := range []struct {
		handler   string
		retries   uint32
		elapsedMs uint64
	}{
		{"attempts", 0, 0}, {"attempts", 1, 0}, {"attempts", 2, 0}, {"attempts", 5, 0},
		{"duration", 0, 0}, {"duration", 1, 1000}, {"duration", 3, 1000}, {"duration", 1, 4500}, {"duration", 2, 3000}, {"duration", 1, 5000}, {"duration", 9, 100},
	} {
		want := retryAnswer(t, ts, tc.handler, tc.retries, tc.elapsedMs)
		if got := retryAnswer(t, base, tc.handler, tc.retries, tc.elapsedMs); got != want {
			t.Errorf("%s after %d retries in %dms: ours %s, the official TypeScript SDK %s", tc.handler, tc.retries, tc.elapsedMs, got, want)
		} else {
			t.Logf("%s after %d retries in %dms: %s", tc.handler, tc.retries, tc.elapsedMs, got)
		}
	}
}
