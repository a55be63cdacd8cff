package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/server"
)

// waitFor bounds waits for states the server must reach (a compaction, a result); on a healthy
// machine each takes milliseconds.
const waitFor = 60 * time.Second

const partitions = 2

// shards are the metadata shard and the partitions' shards.
var shards = []uint64{server.MetadataShardID, partition.FirstShardID, partition.FirstShardID + 1}

func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Partitions: partitions, SnapshotEntries: 5, CompactionOverhead: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client bounds every request: a call answers once its handler ends, within milliseconds here.
var client = &http.Client{Timeout: 30 * time.Second}

// post sends body to the ingress path with an idempotency key (none if empty).
func post(base, path, key, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("content-type", "application/json")
	if key != "" {
		req.Header.Set("idempotency-key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// callAll calls add for every op with its idempotency key, 8 at a time, and returns the results.
func callAll(t *testing.T, base string, ops []op) map[string]addResult {
	t.Helper()
	var mu sync.Mutex
	out := map[string]addResult{}
	var errs []string
	next := make(chan op)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for o := range next {
				b, _ := json.Marshal(o)
				code, body, err := post(base, "/Tally/"+o.Key+"/add", o.ID, string(b))
				var r addResult
				if err == nil && code == 200 {
					err = json.Unmarshal([]byte(body), &r)
				} else if err == nil {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s: %v", o.ID, err))
				}
				out[o.ID] = r
				mu.Unlock()
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d calls failed, first: %s", len(errs), errs[0])
	}
	return out
}

// views reads every object of ops through Tally.get.
func views(t *testing.T, base string, ops []op) map[string]view {
	t.Helper()
	out := map[string]view{}
	for k := range expected(ops) {
		code, body, err := post(base, "/Tally/"+k+"/get", "", "")
		var v view
		if err == nil && code == 200 {
			err = json.Unmarshal([]byte(body), &v)
		}
		if err != nil || code != 200 {
			t.Fatalf("get %s: %d %s %v", k, code, body, err)
		}
		out[k] = v
	}
	return out
}

// logInfos waits until every shard has a snapshot and a log compacted past its first entry, and
// returns what dragonboat reports.
func logInfos(t *testing.T, h *raftlog.Host) map[uint64]raftlog.LogInfo {
	t.Helper()
	out := map[uint64]raftlog.LogInfo{}
	deadline := time.Now().Add(waitFor)
	for _, id := range shards {
		for {
			li, err := h.LogInfo(id)
			if err != nil {
				t.Fatal(err)
			}
			if li.SnapshotIndex > 0 && li.FirstIndex > 1 {
				out[id] = li
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard %d: no snapshot and compaction after %v: %+v", id, waitFor, li)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out
}

// TestRestartFromSnapshot: with a snapshot every 5 entries, every shard (metadata and
// partitions) snapshots and compacts its log under a workload; the server restarts on the same
// data directory from the snapshot and the compacted log, with every pebble table byte-identical
// and every result, state and Run step as before.
func TestRestartFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	r := newRuns()
	s := startServer(t, dir)
	// Registrations are the metadata shard's entries: enough of them for a snapshot there too.
	for range 6 {
		if err := s.RegisterInProcess(t.Context(), "tally", tally(r)); err != nil {
			s.Close()
			t.Fatal(err)
		}
	}
	ops := makeOps(120, 6)
	results := callAll(t, s.IngressURL(), ops)
	want := expected(ops)
	if got := views(t, s.IngressURL(), ops); !reflect.DeepEqual(got, want) {
		s.Close()
		t.Fatalf("objects %+v, want %+v", got, want)
	}
	before := logInfos(t, s.RaftHost())
	t.Logf("logs before the restart: %+v", before)
	s.Close()
	data := dumpData(t, dir)

	// A start and a stop with no traffic: dragonboat recovers each shard from its latest
	// snapshot, the log still starts after the compacted entries, and nothing changes on disk.
	s = startServer(t, dir)
	after := logInfos(t, s.RaftHost())
	s.Close()
	for _, id := range shards {
		if after[id].FirstIndex < before[id].FirstIndex || after[id].SnapshotIndex < before[id].SnapshotIndex {
			t.Errorf("shard %d: log after restart %+v, before %+v", id, after[id], before[id])
		}
	}
	if d := diffData(data, dumpData(t, dir)); d != "" {
		t.Fatalf("tables changed by a restart: %s", d)
	}

	// What clients see is as before: every result (attached by idempotency key), every object,
	// and no Run step executed again.
	s = startServer(t, dir)
	defer s.Close()
	if err := s.RegisterInProcess(t.Context(), "tally", tally(r)); err != nil {
		t.Fatal(err)
	}
	if got := callAll(t, s.IngressURL(), ops); !reflect.DeepEqual(got, results) {
		t.Errorf("results after restart differ from before")
	}
	if got := views(t, s.IngressURL(), ops); !reflect.DeepEqual(got, want) {
		t.Errorf("objects after restart %+v, want %+v", got, want)
	}
	for _, o := range ops {
		if n := len(r.tokens[o.ID]); n != 1 {
			t.Errorf("%s: Run step executed %d times, want 1", o.ID, n)
		}
	}
}
