package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// tally is a Virtual Object whose add both counts its executions (a journaled Run) and keeps the
// sum in state: if a retried request ran again, the sum would show it.
func tally(runs *atomic.Int64) *sdk.Endpoint {
	obj := sdk.NewObject("Tally").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			sum, err := sdk.Get[int](ctx, "sum")
			if err != nil {
				return 0, err
			}
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (int, error) { runs.Add(1); return n, nil }); err != nil {
				return 0, err
			}
			return sum + n, sdk.Set(ctx, "sum", sum+n)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
			return sdk.Get[int](ctx, "sum")
		}))
	return sdk.NewEndpoint().Bind(obj)
}

// idemPost posts body to path with an idempotency key (none when key is empty).
func idemPost(t *testing.T, base, path, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	if key != "" {
		req.Header.Set("idempotency-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestIdempotencyKeyDedupThroughServer: through the real ingress, partitions and storage, a
// request repeated with its idempotency key names the invocation it created and does not run
// again; another key, or no key, runs anew.
func TestIdempotencyKeyDedupThroughServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var runs atomic.Int64
	if err := s.RegisterInProcess(ctx, "tally", tally(&runs)); err != nil {
		t.Fatal(err)
	}
	base := s.IngressURL()
	var sends [2]struct {
		InvocationID string `json:"invocationId"`
		Status       string `json:"status"`
	}
	for i := range sends {
		code, _, body := idemPost(t, base, "/Tally/a/add/send", "order-1", "5")
		if err := json.Unmarshal([]byte(body), &sends[i]); code != 202 || err != nil {
			t.Fatalf("send %d: %d %s %v", i+1, code, body, err)
		}
	}
	if sends[0].Status != "Accepted" || sends[1].Status != "PreviouslyAccepted" || sends[1].InvocationID != sends[0].InvocationID {
		t.Fatalf("sends with one key answered %+v", sends)
	}
	// A call with the key of the send attaches to it: the send's result, no new run.
	code, hdr, body := idemPost(t, base, "/Tally/a/add", "order-1", "5")
	if code != 200 || body != "5" || hdr.Get("x-restate-id") != sends[0].InvocationID {
		t.Fatalf("call with the send's key: %d %s (id %s), want 200 5 (id %s)", code, body, hdr.Get("x-restate-id"), sends[0].InvocationID)
	}
	// Idempotent calls: the second is answered from the first, with the same id.
	var callIDs [2]string
	for i := range callIDs {
		code, hdr, body := idemPost(t, base, "/Tally/a/add", "order-2", "7")
		if code != 200 || body != "12" {
			t.Fatalf("idempotent call %d: %d %s, want 200 12", i+1, code, body)
		}
		callIDs[i] = hdr.Get("x-restate-id")
	}
	if callIDs[0] == "" || callIDs[0] != callIDs[1] || callIDs[0] == sends[0].InvocationID {
		t.Fatalf("idempotent calls had ids %q, the send %q", callIDs, sends[0].InvocationID)
	}
	// No key: a new invocation every time.
	for i, want := range []string{"13", "14"} {
		if code, _, body := idemPost(t, base, "/Tally/a/add", "", "1"); code != 200 || body != want {
			t.Fatalf("plain call %d: %d %s, want 200 %s", i+1, code, body, want)
		}
	}
	if code, _, body := idemPost(t, base, "/Tally/a/get", "", ""); code != 200 || body != "14" {
		t.Fatalf("sum %d %s, want 14 = 5 + 7 + 1 + 1", code, body)
	}
	if got := runs.Load(); got != 4 {
		t.Fatalf("add ran its side effect %d times, want 4 (order-1, order-2 and two plain calls)", got)
	}
}
