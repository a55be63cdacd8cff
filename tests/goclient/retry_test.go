//go:build linux

package goclient

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
	"github.com/resolute-run/resolute/tests/testenv"
)

// counting is an http.RoundTripper that counts the requests it sends.
type counting struct{ n atomic.Int64 }

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// TestRetryAcrossRestart kills a `resolute server` process while a client's call with an
// idempotency key waits for the holder's awakeable, and restarts it: the client, with a retry
// policy, keeps trying through the refused connections and, once the server is back, attaches to
// the same invocation, which the awakeable's resolution completes. A call without an idempotency
// key, made while the server is down, is made once.
func TestRetryAcrossRestart(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
	awakeables := make(chan string, 16)
	if _, err := testenv.Register(srv.Admin, testenv.ServeH2C(t, services(awakeables).Handler())); err != nil {
		t.Fatal(err)
	}
	plain := newClient(t, srv.Ingress, nil)
	testenv.WaitReady(t, "services routable", readyTimeout, func() error {
		_, err := client.Call[string](t.Context(), plain, sdk.ToService("Greeter", "greet"), "probe")
		return err
	})

	attempts := &counting{}
	retrying := newClient(t, srv.Ingress, attempts, client.WithRetry(client.RetryPolicy{
		InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, MaxAttempts: -1, MaxDuration: -1,
	}))
	ctx, cancel := context.WithTimeout(t.Context(), readyTimeout)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := client.Call[string](ctx, retrying, sdk.ToService("Holder", "hold"), sdk.Void{}, client.WithIdempotencyKey("across-restart"))
		done <- result{v, err}
	}()
	r := &run{c: plain, awakeables: awakeables, seenAwakeables: map[string]bool{}}
	id, err := r.awakeable(ctx)
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	// Wait until the client has tried again against the dead server (the first attempt, cut by
	// the kill, and at least one refused connection), so the restart is not what it waits for.
	for attempts.n.Load() < 3 {
		select {
		case res := <-done:
			t.Fatalf("the call ended while the server was down: %q, %v", res.v, res.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	once := &counting{}
	_, err = client.Call[string](ctx, newClient(t, srv.Ingress, once, client.WithRetry(client.RetryPolicy{})), sdk.ToService("Greeter", "greet"), "x")
	var e *client.Error
	if err == nil || errors.As(err, &e) || once.n.Load() != 1 {
		t.Errorf("call without idempotency key to the dead server: %v after %d attempts, want one attempt and a network error", err, once.n.Load())
	}

	srv.Restart()
	if err := client.ResolveAwakeable(ctx, plain, id, "after the restart"); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.v != "after the restart" {
		t.Fatalf("the retried call: %q, %v; want the awakeable's value", res.v, res.err)
	}
	t.Logf("the call answered after %d attempts", attempts.n.Load())
}
