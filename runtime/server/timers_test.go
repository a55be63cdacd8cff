package server_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

func napper(woke *atomic.Int64) *sdk.Endpoint {
	nap := sdk.NewService("Nap").
		Handler("sleep", sdk.ServiceHandler(func(ctx sdk.Context, ms int) (string, error) {
			if err := sdk.Sleep(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return "", err
			}
			woke.Add(1)
			return "rested", nil
		})).
		Handler("later", sdk.ServiceHandler(func(ctx sdk.Context, ms int) (string, error) {
			// A delayed one-way send: the callee starts only after the delay.
			id, err := sdk.Send(ctx, sdk.ToService("Nap", "sleep"), 0, sdk.WithDelay(time.Duration(ms)*time.Millisecond)).InvocationID()
			return id, err
		}))
	return sdk.NewEndpoint().Bind(nap)
}

func TestDurableSleep(t *testing.T) {
	var woke atomic.Int64
	s := startWith(t, t.TempDir(), napper(&woke))
	start := time.Now()
	code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Nap/sleep", "application/json", "300"})
	if code != 200 || body != `"rested"` {
		t.Fatalf("sleep: %d %s", code, body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("woke after %v, before the 300ms timer", d)
	}
	// A delayed send: accepted at once, run after the delay.
	code, _, body = do(t, s.IngressURL(), exchange{"POST", "/Nap/later", "application/json", "300"})
	if code != 200 || len(body) != 40 {
		t.Fatalf("later: %d %s", code, body)
	}
	sent := time.Now()
	for woke.Load() < 2 {
		if time.Since(sent) > 10*time.Second {
			t.Fatal("delayed send never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(sent); d < 250*time.Millisecond {
		t.Fatalf("delayed send ran after %v, before its 300ms delay", d)
	}
}

// TestSleepSurvivesRestart: a timer armed before the server stops fires after it starts again.
func TestSleepSurvivesRestart(t *testing.T) {
	var woke atomic.Int64
	dir := t.TempDir()
	s := startWith(t, dir, napper(&woke))
	code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Nap/sleep/send", "application/json", "500"})
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	s.Close()
	if woke.Load() != 0 {
		t.Fatal("woke before the restart")
	}
	startWith(t, dir, napper(&woke))
	deadline := time.Now().Add(10 * time.Second)
	for woke.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("sleep armed before the restart never fired")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startWith(t *testing.T, dir string, ep *sdk.Endpoint) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "nap", ep); err != nil {
		t.Fatal(err)
	}
	return s
}
