//go:build linux

package snapshot

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

const (
	killOps     = 300
	killKeys    = 8
	killWorkers = 4
	// kills is how many times the server is killed while it snapshots.
	kills = 6
	// ackGap is how many sends a restarted server acknowledges before the next kill, so each
	// process snapshots under load.
	ackGap = 25
	// snapshotWatch bounds the wait for the next snapshot in progress; under load one starts
	// every few entries.
	snapshotWatch = 20 * time.Second
)

// killClient keeps connections short-lived enough to notice a dead server.
var killClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

// sender submits operations one-way with their idempotency key, retrying each until the server
// acknowledges it (a send that never got an answer is resent to the next process).
type sender struct {
	ingress string
	acks    atomic.Int64
	stop    chan struct{}
}

func (s *sender) run(ops []op) {
	next := make(chan op)
	var wg sync.WaitGroup
	for range killWorkers {
		wg.Go(func() {
			for o := range next {
				s.submit(o)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
}

func (s *sender) submit(o op) {
	b, _ := json.Marshal(o)
	hdr := http.Header{"Idempotency-Key": {o.ID}}
	for {
		r, err := testenv.Post(killClient, s.ingress+"/Tally/"+o.Key+"/add/send", string(b), hdr)
		if err == nil && r.Status == http.StatusAccepted {
			s.acks.Add(1)
			return
		}
		select {
		case <-s.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var generatingRe = regexp.MustCompile(`^snapshot-[0-9A-F]+-[0-9A-F]+\.generating$`)

// snapshotDirs returns dragonboat's per-replica snapshot directories under the data directory.
func snapshotDirs(t *testing.T, dataDir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(dataDir, "raft", "nodehost", "*", "*", "snapshot-part-*", "snapshot-*-1"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// generating lists the snapshots being written (their temporary directories).
func generating(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if generatingRe.MatchString(e.Name()) {
				out = append(out, filepath.Join(filepath.Base(d), e.Name()))
			}
		}
	}
	return out
}

var snapshotRe = regexp.MustCompile(`^snapshot-([0-9A-F]{16})$`)

// latestSnapshots returns the index of the latest snapshot on disk of each replica directory.
func latestSnapshots(dirs []string) map[string]uint64 {
	out := map[string]uint64{}
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if m := snapshotRe.FindStringSubmatch(e.Name()); m != nil {
				var idx uint64
				fmt.Sscanf(m[1], "%X", &idx)
				out[filepath.Base(d)] = max(out[filepath.Base(d)], idx)
			}
		}
	}
	return out
}

// TestKillDuringSnapshot: a `resolute server` snapshotting every 3 entries is killed (SIGKILL)
// the moment a snapshot is being written or has just been committed (its log being compacted),
// six times under a workload of idempotent sends, and restarted on the same data directory. Nothing acknowledged is lost, no journaled Run step
// runs again, every object's state is exactly its operations, and a clean restart afterwards
// leaves every table byte-identical.
func TestKillDuringSnapshot(t *testing.T) {
	r := newRuns()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deployment := &http.Server{Handler: tally(r).Handler()}
	var dwg sync.WaitGroup
	dwg.Go(func() { _ = deployment.Serve(ln) })
	t.Cleanup(func() {
		deployment.Close()
		dwg.Wait()
	})

	srv := testenv.StartServer(t, testenv.ServerConfig{Args: []string{
		"--partitions", "2", "--snapshot-entries", "3", "--compaction-overhead", "1"}})
	if _, err := testenv.Register(srv.Admin, "http://"+ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	dirs := snapshotDirs(t, srv.DataDir())
	if len(dirs) != 3 {
		t.Fatalf("snapshot directories %v, want one per shard (metadata and 2 partitions)", dirs)
	}

	ops := makeOps(killOps, killKeys)
	s := &sender{ingress: srv.Ingress, stop: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ops)
	}()
	t.Cleanup(func() { // before the server stops (cleanups run last first)
		close(s.stop)
		<-done
	})

	midSnapshot, afterCommit := 0, 0
	prevSnap := latestSnapshots(dirs)
	for k := 1; k <= kills; k++ {
		// Let this process acknowledge ackGap sends, then kill it the moment a snapshot is being
		// written (odd kills) or the moment one was committed, while dragonboat records it and
		// compacts the log (even kills).
		whileWriting := k%2 == 1
		from := s.acks.Load()
		base := latestSnapshots(dirs)
		deadline := time.Now().Add(snapshotWatch)
		var seen []string
	watch:
		for time.Now().Before(deadline) {
			if s.acks.Load() >= from+ackGap {
				if whileWriting {
					if seen = generating(dirs); len(seen) > 0 {
						break
					}
				} else {
					for d, idx := range latestSnapshots(dirs) {
						if idx > base[d] {
							seen = []string{fmt.Sprintf("%s/%d", d, idx)}
							break watch
						}
					}
				}
			}
			select {
			case <-done:
				t.Fatalf("kill %d: the workload ended first (%d acks); make it longer", k, s.acks.Load())
			default:
			}
			time.Sleep(100 * time.Microsecond)
		}
		srv.Kill()
		left := generating(dirs)
		switch {
		case whileWriting && len(left) > 0:
			midSnapshot++
		case !whileWriting && len(seen) > 0:
			afterCommit++
		}
		snap := latestSnapshots(dirs)
		what := "snapshot seen being written"
		if !whileWriting {
			what = "snapshot seen committed"
		}
		t.Logf("kill %d: %d acks; %s: %v; left unfinished by the kill: %v; latest snapshots %v",
			k, s.acks.Load(), what, seen, left, snap)
		for d, idx := range snap {
			if idx <= prevSnap[d] && d != "snapshot-1-1" { // the metadata shard has no traffic
				t.Errorf("kill %d: partition replica %s took no snapshot in this process (latest %d)", k, d, idx)
			}
		}
		prevSnap = snap
		srv.Restart()
	}
	if midSnapshot == 0 || afterCommit == 0 {
		t.Errorf("of %d kills, %d landed while a snapshot was being written and %d just after one was committed; want some of each",
			kills, midSnapshot, afterCommit)
	}

	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatalf("workload not acknowledged after %v: %d of %d acks", waitFor, s.acks.Load(), killOps)
	}

	// Every operation completed once: its result (attached by idempotency key) carries the token
	// of the last execution of its Run step, and each object is exactly its operations.
	results := attachAll(t, srv.Ingress, ops)
	reran := 0
	for _, o := range ops {
		res, ok := results[o.ID]
		if !ok {
			continue
		}
		if last := r.last(o.ID); res.Token != last {
			t.Errorf("%s: result has token %q, but the last run of its step returned %q (a journaled step ran again)", o.ID, res.Token, last)
		}
		r.mu.Lock()
		if len(r.tokens[o.ID]) > 1 {
			reran++
		}
		r.mu.Unlock()
	}
	want := expected(ops)
	got := views(t, srv.Ingress, ops)
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("object %s: %+v, want %+v", k, got[k], want[k])
			}
		}
	}
	t.Logf("%d kills: %d while a snapshot was being written, %d just after one was committed; %d steps ran again (not journaled before a kill)",
		kills, midSnapshot, afterCommit, reran)

	// A clean restart after the crashes starts from the snapshots and changes nothing.
	srv.Stop()
	data := dumpData(t, srv.DataDir())
	srv.Restart()
	srv.Stop()
	if d := diffData(data, dumpData(t, srv.DataDir())); d != "" {
		t.Errorf("tables changed by a clean restart after the kills: %s", d)
	}
}

// attachAll calls add for every op with its idempotency key (attaching to the invocation it
// names), retrying while the server is busy, and returns the results; calls still failing
// waitFor after the start fail the test.
func attachAll(t *testing.T, ingress string, ops []op) map[string]addResult {
	t.Helper()
	var mu sync.Mutex
	out := map[string]addResult{}
	next := make(chan op)
	var wg sync.WaitGroup
	deadline := time.Now().Add(waitFor) // for all of them: a broken server fails the test soon
	for range 8 {
		wg.Go(func() {
			for o := range next {
				b, _ := json.Marshal(o)
				var last string
				for {
					if time.Now().After(deadline) {
						t.Errorf("attach %s: no result within %v of the first attaches (last answer: %s)", o.ID, waitFor, last)
						break
					}
					code, body, err := post(ingress, "/Tally/"+o.Key+"/add", o.ID, string(b))
					var res addResult
					if err == nil && code == 200 && json.Unmarshal([]byte(body), &res) == nil {
						mu.Lock()
						out[o.ID] = res
						mu.Unlock()
						break
					}
					last = fmt.Sprintf("%d %s %v", code, body, err)
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
	return out
}
