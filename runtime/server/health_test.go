package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
)

// TestHealthShowsPartitionThatCannotRun: a partition whose actor failed more often than its
// supervisor allows stops accepting work and says so on both health endpoints (503 with the
// partitions' states in JSON), until it recovers (200 again).
func TestHealthShowsPartitionThatCannotRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	health := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Message    string `json:"message"`
			Partitions []struct {
				Partition uint32 `json:"partition"`
				Running   bool   `json:"running"`
			} `json:"partitions"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode == http.StatusServiceUnavailable && (len(body.Partitions) != 2 || body.Partitions[1].Running || !strings.Contains(body.Message, "partition 1 is not running")) {
			t.Errorf("%s: 503 with %+v, want partition 1 named as not running", url, body)
		}
		return resp.StatusCode, body.Message
	}
	urls := []string{s.AdminURL() + "/health", s.IngressURL() + "/restate/health"}
	for _, u := range urls {
		if code, msg := health(u); code != http.StatusOK {
			t.Fatalf("%s before: %d %s", u, code, msg)
		}
	}
	// More panics than the supervisor allows in its window (100 a minute): it stops the actor.
	for range 110 {
		s.Node().Crash(1)
	}
	seen := map[string]bool{}
	for deadline := time.Now().Add(20 * time.Second); len(seen) < len(urls); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no 503 seen on %v while partition 1 could not run", urls)
		}
		for _, u := range urls {
			if code, _ := health(u); code == http.StatusServiceUnavailable {
				seen[u] = true
			}
		}
	}
	for _, u := range urls {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, msg := health(u)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after recovery: %d %s", u, code, msg)
			}
		}
	}
}
