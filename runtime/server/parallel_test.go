package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// TestDifferentKeysRunInParallel: the handler for key "a" does not return until the handler for
// key "b" has started, and vice versa. If invocations of different keys were serialised, neither
// could finish.
func TestDifferentKeysRunInParallel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	arrived := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	peer := map[string]string{"a": "b", "b": "a"}
	gate := sdk.NewObject("Gate").Handler("meet", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
		key := ctx.Key()
		mu.Lock()
		select {
		case <-arrived[key]:
		default:
			close(arrived[key])
		}
		mu.Unlock()
		select {
		case <-arrived[peer[key]]:
			return "met " + peer[key], nil
		case <-time.After(10 * time.Second):
			return "", sdk.TerminalError(errors.New("peer never started: keys are not running in parallel"), 500)
		}
	}))
	if err := s.RegisterInProcess(ctx, "gate", sdk.NewEndpoint().Bind(gate)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, key := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := doErr(s.IngressURL(), exchange{"POST", "/Gate/" + key + "/meet", "", ""})
			if err != nil || code != 200 || body != `"met `+peer[key]+`"` {
				t.Errorf("key %s: %d %s %v", key, code, body, err)
			}
		}()
	}
	wg.Wait()
}

// doErr is do for goroutines other than the test's: it returns errors instead of failing.
func doErr(base string, x exchange) (int, string, error) {
	req, err := http.NewRequest(x.method, base+x.path, strings.NewReader(x.body))
	if err != nil {
		return 0, "", err
	}
	if x.contentType != "" {
		req.Header.Set("content-type", x.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", x.method, x.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: read body: %w", x.method, x.path, err)
	}
	return resp.StatusCode, string(b), nil
}
