package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// What the admin API reports as a service's retry policy and timeouts is what the server runs:
// a server configured with a bound of 3 attempts reports max_attempts 3 and fails a handler that
// always fails after exactly 3 attempts.
func TestAdminReportsTheRetryPolicyThatRuns(t *testing.T) {
	var attempts atomic.Int64
	flaky := sdk.NewService("Flaky").Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) {
		attempts.Add(1)
		return "", errors.New("not today") // retryable
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{
			Retry:             invoker.RetryPolicy{InitialInterval: 20 * time.Millisecond, Factor: 1.5, MaxInterval: 40 * time.Millisecond, MaxAttempts: 3, OnMaxAttempts: invoker.OnMaxAttemptsKill},
			InactivityTimeout: 90 * time.Second, AbortTimeout: 3 * time.Minute,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "flaky", sdk.NewEndpoint().Bind(flaky)); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(s.AdminURL() + "/services/Flaky")
	if err != nil {
		t.Fatal(err)
	}
	var svc struct {
		InactivityTimeout string          `json:"inactivity_timeout"`
		AbortTimeout      string          `json:"abort_timeout"`
		RetryPolicy       json.RawMessage `json:"retry_policy"`
	}
	err = json.NewDecoder(resp.Body).Decode(&svc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /services/Flaky: %d %v", resp.StatusCode, err)
	}
	want := `{"initial_interval":"20ms","exponentiation_factor":1.5,"max_attempts":3,"max_interval":"40ms","on_max_attempts":"Kill"}`
	if string(svc.RetryPolicy) != want || svc.InactivityTimeout != "1m 30s" || svc.AbortTimeout != "3m" {
		t.Fatalf("reported inactivity %s abort %s retry %s, want 1m 30s, 3m, %s", svc.InactivityTimeout, svc.AbortTimeout, svc.RetryPolicy, want)
	}

	code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Flaky/fail", "application/json", `"x"`})
	if code != 500 {
		t.Fatalf("call: %d %s, want 500 once the attempts are exhausted", code, body)
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, the reported policy says 3", n)
	}
}
