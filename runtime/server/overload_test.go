package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// TestOverloadRefusesBeforeWriting drives a server whose partitions admit only a couple of queued
// proposals, or of calls in flight, with many concurrent idempotent calls. Every answer is a success or a refusal (429 or
// 503 with Retry-After and the ingress's JSON error); a refused call left nothing behind (its
// handler never ran, no invocation has its key); and every call accepted, including those retried
// after a refusal, ran its side effect exactly once.
func TestOverloadRefusesBeforeWriting(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit func(*server.Config)
	}{
		{"proposal queue of 2", func(c *server.Config) { c.MaxQueuedProposals = 2 }},
		{"2 calls in flight", func(c *server.Config) { c.MaxCallsInFlight = 2 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2}
			tt.limit(&cfg)
			overload(t, cfg)
		})
	}
}

func overload(t *testing.T, cfg server.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := server.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	ran := map[string]int{}
	svc := sdk.NewService("Load").Handler("work", sdk.ServiceHandler(func(ctx sdk.Context, key string) (string, error) {
		return sdk.Run(ctx, func(sdk.RunContext) (string, error) {
			mu.Lock()
			ran[key]++
			mu.Unlock()
			return key, nil
		})
	}))
	if err := s.RegisterInProcess(ctx, "load", sdk.NewEndpoint().Bind(svc)); err != nil {
		t.Fatal(err)
	}
	const keys, workers = 200, 48
	// Keys below retryBelow are retried after a refusal until accepted; the others are not.
	const retryBelow = keys / 2
	type outcome struct {
		accepted bool
		refusals int
	}
	outcomes := make([]outcome, keys)
	errs := make(chan error, keys)
	next := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: time.Minute}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				for {
					ok, retryAfter, err := callOnce(client, s.IngressURL(), fmt.Sprintf("key-%d", k))
					if err != nil {
						errs <- fmt.Errorf("key-%d: %w", k, err)
						break
					}
					if ok {
						outcomes[k].accepted = true
						break
					}
					outcomes[k].refusals++
					if k >= retryBelow || outcomes[k].refusals > 100 {
						break
					}
					time.Sleep(retryAfter)
				}
			}
		}()
	}
	for k := 0; k < keys; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	refused := 0
	for k, o := range outcomes {
		key := fmt.Sprintf("key-%d", k)
		mu.Lock()
		n := ran[key]
		mu.Unlock()
		refused += o.refusals
		switch {
		case o.accepted && n != 1:
			t.Errorf("%s accepted (after %d refusals), its side effect ran %d times, want 1", key, o.refusals, n)
		case !o.accepted && k < retryBelow:
			t.Errorf("%s refused %d times, never accepted", key, o.refusals)
		case !o.accepted:
			if n != 0 {
				t.Errorf("%s was refused, yet its side effect ran %d times", key, n)
			}
			if st := outputStatus(t, client, s.IngressURL(), key); st != http.StatusNotFound {
				t.Errorf("%s was refused, yet its output answers %d, not 404: something was written", key, st)
			}
		}
	}
	if refused == 0 {
		t.Fatalf("no call was refused: the load never reached the limit (%d calls, %d workers)", keys, workers)
	}
	t.Logf("%d refusals", refused)
}

// callOnce makes one idempotent call: ok, or refused with the delay to wait; anything else is an
// error.
func callOnce(client *http.Client, base, key string) (bool, time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/Load/work", strings.NewReader(strconv.Quote(key)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("idempotency-key", key)
	resp, err := client.Do(req)
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		if string(body) != strconv.Quote(key) {
			return false, 0, fmt.Errorf("200 with %q", body)
		}
		return true, 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			return false, 0, fmt.Errorf("%d with Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Source  string `json:"source"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Code != resp.StatusCode || e.Source != "ingress" || e.Message == "" {
			return false, 0, fmt.Errorf("%d with body %s (%v)", resp.StatusCode, body, err)
		}
		return false, time.Duration(secs) * time.Second, nil
	}
	return false, 0, fmt.Errorf("unexpected %d: %s", resp.StatusCode, body)
}

func outputStatus(t *testing.T, client *http.Client, base, key string) int {
	t.Helper()
	resp, err := client.Get(base + "/restate/invocation/Load/work/" + key + "/output")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
