package raftlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// The tests below drive dragonboat with a tiny snapshot interval and check what it did from its
// own reports (events, log reader, snapshot directories) and the pebble contents, byte for byte.

const testShard = 7

// waitFor is how long a test waits for dragonboat to reach a state it must reach (a snapshot, a
// compaction, a replica catching up); on a healthy machine each takes milliseconds.
const waitFor = 60 * time.Second

// kv is one pebble key and value.
type kv struct{ k, v []byte }

// dump reads every key and value of r in order.
func dump(t *testing.T, r pebble.Reader) []kv {
	t.Helper()
	it, err := r.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []kv
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, kv{slices.Clone(it.Key()), slices.Clone(it.Value())})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffDumps describes the first difference between two dumps ("" when equal).
func diffDumps(a, b []kv) string {
	for i := range min(len(a), len(b)) {
		if !bytes.Equal(a[i].k, b[i].k) || !bytes.Equal(a[i].v, b[i].v) {
			return fmt.Sprintf("entry %d: %x=%x vs %x=%x", i, a[i].k, a[i].v, b[i].k, b[i].v)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d keys vs %d keys", len(a), len(b))
	}
	return ""
}

// events records a host's snapshot and compaction events.
type events struct {
	mu     sync.Mutex
	all    []Event
	notify chan struct{}
}

func newEvents() *events { return &events{notify: make(chan struct{}, 1)} }

func (e *events) on(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

// of returns the recorded events of kind k for the test shard.
func (e *events) of(k EventKind) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.Kind == k && ev.ShardID == testShard {
			out = append(out, ev)
		}
	}
	return out
}

// countingApplier is sumApplier counting the entries it applies; with spread set it also writes
// a 100-byte value under a key of its own for each entry (key 0x02 and the entry's data), so
// that the database grows with the log.
type countingApplier struct {
	sumApplier
	applied atomic.Int64
	resets  atomic.Int64
	spread  atomic.Bool
}

func (c *countingApplier) Apply(b *pebble.Batch, data []byte) ([]byte, error) {
	c.applied.Add(1)
	if c.spread.Load() {
		if err := b.Set(append([]byte{0x02}, data...), bytes.Repeat(data[:1], 100), nil); err != nil {
			return nil, err
		}
	}
	return c.sumApplier.Apply(b, data)
}

func (c *countingApplier) Reset() { c.resets.Add(1) }

// node is one host with the test shard's database.
type node struct {
	h      *Host
	db     *pebble.DB
	app    *countingApplier
	ev     *events
	dir    string
	closed bool
}

// close stops the host, then closes the database; openNode also registers it as a cleanup, so
// that dragonboat never runs on a removed directory.
func (n *node) close() error {
	if n.closed {
		return nil
	}
	n.closed = true
	n.h.Close()
	return n.db.Close()
}

// openNode starts a host on dir with the given snapshot settings and opens the shard's database;
// replicaID 1 founds the shard, another id joins it (start it with join).
func openNode(t *testing.T, dir string, replicaID, snapEntries, overhead uint64) *node {
	t.Helper()
	ev := newEvents()
	h, err := NewHost(Config{Dir: filepath.Join(dir, "raft"), SnapshotEntries: snapEntries, CompactionOverhead: overhead, OnEvent: ev.on})
	if err != nil {
		t.Fatal(err)
	}
	h.replicaID = replicaID
	db, err := OpenDB(filepath.Join(dir, "shard"))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	n := &node{h: h, db: db, app: &countingApplier{}, ev: ev, dir: dir}
	t.Cleanup(func() {
		if err := n.close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// snapshotNow takes a snapshot at the shard's last index and compacts the log up to it; it
// returns the snapshot's index. dragonboat rejects the request when a snapshot was already
// requested at the applied index (even one it then skipped because another was running): an
// entry adding 0 moves the index on.
func (n *node) snapshotNow(t *testing.T) uint64 {
	t.Helper()
	var idx uint64
	until(t, "a snapshot at the last index", func() string {
		i, err := n.h.Snapshot(context.Background(), testShard, 0)
		if err == nil {
			idx = i
			return ""
		}
		n.propose(t, 0, 1)
		return err.Error()
	})
	return idx
}

func (n *node) startSingle(t *testing.T) {
	t.Helper()
	if err := n.h.StartShard(testShard, n.db, n.app); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := n.h.WaitLeader(ctx, testShard); err != nil {
		t.Fatal(err)
	}
}

// propose adds 1..count (offset by from) to the sum, keeping up to 32 proposals in flight, and
// returns the last result.
func (n *node) propose(t *testing.T, from, count int) uint64 {
	t.Helper()
	ctx := context.Background()
	var last uint64
	var inflight []*Proposal
	wait := func(p *Proposal) {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last, _ = binary.Uvarint(res)
	}
	for i := from; i < from+count; i++ {
		inflight = append(inflight, n.h.ProposeAsync(testShard, binary.AppendUvarint(nil, uint64(i)), waitFor))
		if len(inflight) == 32 {
			wait(inflight[0])
			inflight = inflight[1:]
		}
	}
	for _, p := range inflight {
		wait(p)
	}
	return last
}

// until polls cond until it returns "" or waitFor passes; the last reason fails the test.
func until(t *testing.T, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		reason := cond()
		if reason == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after %v", what, reason, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func logInfo(t *testing.T, n *node) LogInfo {
	t.Helper()
	li, err := n.h.LogInfo(testShard)
	if err != nil {
		t.Fatal(err)
	}
	return li
}

// assertCompacted checks from dragonboat's log reader that entries below first are gone.
func assertCompacted(t *testing.T, n *node, below uint64) {
	t.Helper()
	r, err := n.h.nh.GetLogReader(testShard)
	if err != nil {
		t.Fatal(err)
	}
	// dragonboat's ErrCompacted is internal: match its text.
	if _, err := r.Entries(1, 2, 1<<20); err == nil || err.Error() != "entry compacted" {
		t.Errorf("reading entry 1: %v, want dragonboat's ErrCompacted", err)
	}
	if first, _ := r.GetRange(); first < below {
		t.Errorf("log starts at %d, want >= %d", first, below)
	}
}

var snapshotDirRe = regexp.MustCompile(`^snapshot-([0-9A-F]{16})$`)

// snapshotDirs lists the indexes of the snapshot directories dragonboat keeps on disk for the
// test shard's replica.
func snapshotDirs(t *testing.T, n *node, replicaID uint64) []uint64 {
	t.Helper()
	var out []uint64
	want := fmt.Sprintf("snapshot-%d-%d", testShard, replicaID)
	err := filepath.WalkDir(filepath.Join(n.dir, "raft"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if m := snapshotDirRe.FindStringSubmatch(d.Name()); d.IsDir() && m != nil && filepath.Base(filepath.Dir(path)) == want {
			var idx uint64
			fmt.Sscanf(m[1], "%X", &idx)
			out = append(out, idx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSnapshotCompactionAndRestart: with a snapshot every 10 entries dragonboat takes snapshots
// and removes compacted entries from the log; a restart recovers from the latest snapshot with
// the state equal, byte for byte, to the state before, and applies nothing twice.
func TestSnapshotCompactionAndRestart(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, dir, 1, 10, 2)
	n.startSingle(t)
	// dragonboat takes one snapshot at a time and skips the schedule while one runs: propose
	// until it took several.
	count := 0
	for len(n.ev.of(SnapshotCreated)) < 3 || len(n.ev.of(LogCompacted)) < 2 {
		if count >= 20000 {
			t.Fatalf("%d entries: %d snapshots, %d compactions", count, len(n.ev.of(SnapshotCreated)), len(n.ev.of(LogCompacted)))
		}
		n.propose(t, count+1, 50)
		count += 50
	}
	if got, want := n.propose(t, count+1, 1), uint64((count+1)*(count+2)/2); got != want {
		t.Fatalf("sum %d, want %d", got, want)
	}
	count++
	created := n.ev.of(SnapshotCreated)
	compacted := n.ev.of(LogCompacted)
	lastCompacted := compacted[len(compacted)-1].Index
	assertCompacted(t, n, lastCompacted+1)
	li := logInfo(t, n)
	if li.SnapshotIndex <= lastCompacted {
		t.Errorf("latest snapshot at %d, want above the compacted entries (to %d)", li.SnapshotIndex, lastCompacted)
	}
	if dirs := snapshotDirs(t, n, 1); !slices.Contains(dirs, li.SnapshotIndex) {
		t.Errorf("snapshot directories on disk %v, want one for the latest snapshot %d", dirs, li.SnapshotIndex)
	}
	t.Logf("%d entries: %d snapshots, %d compactions (last to %d), log %+v", count, len(created),
		len(compacted), lastCompacted, li)

	before := dump(t, n.db)
	appliedBefore := n.app.applied.Load()
	if err := n.close(); err != nil {
		t.Fatal(err)
	}
	// dragonboat may have taken one more snapshot since: the latest is the last one on disk.
	snapIndex := slices.Max(snapshotDirs(t, n, 1))

	n = openNode(t, dir, 1, 10, 2)
	n.startSingle(t)
	if d := diffDumps(before, dump(t, n.db)); d != "" {
		t.Fatalf("state after restart differs: %s", d)
	}
	until(t, "recovery event", func() string {
		if len(n.ev.of(SnapshotRecovered)) == 0 {
			return "no SnapshotRecovered event"
		}
		return ""
	})
	if rec := n.ev.of(SnapshotRecovered); rec[0].Index != snapIndex {
		t.Errorf("recovered from snapshot %d, want the latest one on disk, %d", rec[0].Index, snapIndex)
	}
	assertCompacted(t, n, lastCompacted+1)
	if a := n.app.applied.Load(); a != 0 {
		t.Errorf("restart applied %d entries again (had applied %d), want 0: all were on disk", a, appliedBefore)
	}
	if got, want := n.propose(t, 1, 1), uint64(count*(count+1)/2+1); got != want {
		t.Fatalf("after restart sum %d, want %d", got, want)
	}
}

// TestReplayAfterLostStateMachineWrites: the state machine commits without fsync, so a crash may
// lose its latest writes. dragonboat must then replay them from the log after the snapshot, even
// though the log before it was compacted. The crash is modelled by putting back a checkpoint of
// the database taken after the latest snapshot.
func TestReplayAfterLostStateMachineWrites(t *testing.T) {
	dir := t.TempDir()
	const every = 50
	n := openNode(t, dir, 1, every, 5)
	n.startSingle(t)
	sum := n.propose(t, 1, 200)
	idx := n.snapshotNow(t)
	until(t, "compaction up to the requested snapshot", func() string {
		if li := logInfo(t, n); li.FirstIndex <= idx {
			return fmt.Sprintf("log info %+v (snapshot at %d)", li, idx)
		}
		return ""
	})
	checkpoint := filepath.Join(t.TempDir(), "checkpoint")
	if err := n.db.Checkpoint(checkpoint); err != nil {
		t.Fatal(err)
	}
	const more = every / 2 // fewer than the snapshot interval: no snapshot after the checkpoint
	sum = n.propose(t, 1000, more)
	before := dump(t, n.db)
	// A snapshot after the checkpoint would record an on-disk index the checkpoint lacks (a lost
	// synced write, which dragonboat rightly refuses at start).
	if li := logInfo(t, n); li.SnapshotIndex != idx {
		t.Fatalf("snapshot at %d after the checkpoint (at %d); the test needs none", li.SnapshotIndex, idx)
	}
	if err := n.close(); err != nil {
		t.Fatal(err)
	}

	shardDir := filepath.Join(dir, "shard")
	if err := os.RemoveAll(shardDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(checkpoint, shardDir); err != nil {
		t.Fatal(err)
	}
	n = openNode(t, dir, 1, every, 5)
	n.startSingle(t)
	until(t, "replay of the lost entries", func() string {
		if d := diffDumps(before, dump(t, n.db)); d != "" {
			return "different: " + d
		}
		return ""
	})
	if a := n.app.applied.Load(); a < more {
		t.Errorf("replayed %d entries, want at least the %d lost ones", a, more)
	}
	if got := n.propose(t, 1, 1); got != sum+1 {
		t.Fatalf("sum after replay %d, want %d", got, sum+1)
	}
}

// TestStreamedSnapshotRebuildsEmptyReplica: a replica with an empty disk joins a shard whose log
// is compacted, so the leader must stream a full snapshot (PrepareSnapshot, SaveSnapshot) and the
// new replica must load it (RecoverFromSnapshot) and then apply the rest of the log. Both
// databases end byte-identical, and stay so after more entries and a restart of the new replica.
func TestStreamedSnapshotRebuildsEmptyReplica(t *testing.T) {
	a := openNode(t, t.TempDir(), 1, 10, 2)
	a.startSingle(t)
	sum := a.propose(t, 1, 200)
	// The new replica needs the log from entry 1, so any compaction makes the leader stream.
	until(t, "compaction", func() string {
		if li := logInfo(t, a); li.FirstIndex <= 1 {
			return fmt.Sprintf("log info %+v", li)
		}
		return ""
	})

	bDir := t.TempDir()
	b := openNode(t, bDir, 2, 10, 2)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := a.h.nh.SyncRequestAddReplica(ctx, testShard, 2, b.h.nh.RaftAddress(), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.h.startReplica(testShard, nil, true, b.db, b.app); err != nil {
		t.Fatal(err)
	}
	same := func() string {
		if d := diffDumps(dump(t, a.db), dump(t, b.db)); d != "" {
			return "different: " + d
		}
		return ""
	}
	until(t, "new replica catching up", func() string {
		// The event comes after RecoverFromSnapshot returned (the tables are in place earlier).
		if len(b.ev.of(SnapshotRecovered)) == 0 {
			return "no SnapshotRecovered event on the new replica"
		}
		return same()
	})
	if len(b.ev.of(SnapshotReceived)) == 0 || len(b.ev.of(SnapshotRecovered)) == 0 || len(a.ev.of(SendSnapshotCompleted)) == 0 {
		t.Fatalf("no streamed snapshot: received %v, recovered %v, sent %v",
			b.ev.of(SnapshotReceived), b.ev.of(SnapshotRecovered), a.ev.of(SendSnapshotCompleted))
	}
	if got := b.app.resets.Load(); got == 0 {
		t.Errorf("applier not reset after recovering from a snapshot")
	}
	// b applied only entries after the snapshot, not the 200 before it.
	if got := b.app.applied.Load(); got != 0 {
		t.Errorf("new replica applied %d entries, want 0: all came in the snapshot", got)
	}

	// More entries reach both replicas through the log.
	if got := a.propose(t, 1000, 50); got != sum+50*1000+50*49/2 {
		t.Fatalf("sum %d", got)
	}
	until(t, "both replicas applying the log", same)
	if got := b.app.applied.Load(); got != 50 {
		t.Errorf("new replica applied %d entries after the snapshot, want 50", got)
	}
	want := dump(t, b.db)
	if err := b.close(); err != nil {
		t.Fatal(err)
	}

	b = openNode(t, bDir, 2, 10, 2)
	if err := b.h.startReplica(testShard, nil, true, b.db, b.app); err != nil {
		t.Fatal(err)
	}
	if d := diffDumps(want, dump(t, b.db)); d != "" {
		t.Fatalf("new replica after restart: %s", d)
	}
	until(t, "restarted replica in step", same)
}

// TestRecoverFromSnapshotReplacesEverything: recovering a database that holds other (diverged or
// stale) keys, at any byte value, leaves exactly the snapshot's keys. A broken or aborted stream
// leaves a database that Open empties and reports as having applied nothing (so that dragonboat
// recovers again from its snapshot file), and the next recovery completes.
func TestRecoverFromSnapshotReplacesEverything(t *testing.T) {
	src, err := OpenDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i, k := range [][]byte{appliedIndexKey, {0x01, 'a'}, {0x07, 0, 0}, {0xfe}} {
		if err := src.Set(k, bytes.Repeat([]byte{byte(i)}, i*1000), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	stream := saveSnapshot(t, src)
	want := dump(t, src)

	stopped := make(chan struct{})
	close(stopped)
	cases := []struct {
		name    string
		stream  []byte
		done    chan struct{}
		wantErr error // nil: success
	}{
		{"complete", stream, make(chan struct{}), nil},
		{"truncated", stream[:len(stream)-10], make(chan struct{}), io.ErrUnexpectedEOF},
		{"stopped", stream, stopped, sm.ErrSnapshotStopped},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst, err := OpenDB(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			for _, k := range [][]byte{{0x00}, appliedIndexKey, {0x01, 'b'}, {0xff, 0xff, 0xff, 0xff, 0xff}} {
				if err := dst.Set(k, []byte("stale"), pebble.Sync); err != nil {
					t.Fatal(err)
				}
			}
			app := &countingApplier{}
			err = (&diskStateMachine{db: dst, applier: app}).RecoverFromSnapshot(bytes.NewReader(c.stream), c.done)
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if d := diffDumps(want, dump(t, dst)); d != "" {
					t.Fatalf("recovered database differs from the source: %s", d)
				}
				if app.resets.Load() != 1 {
					t.Errorf("applier reset %d times, want 1", app.resets.Load())
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			assertReopenedEmpty(t, dst)
			if err := (&diskStateMachine{db: dst, applier: app}).RecoverFromSnapshot(bytes.NewReader(stream), make(chan struct{})); err != nil {
				t.Fatal(err)
			}
			if d := diffDumps(want, dump(t, dst)); d != "" {
				t.Fatalf("database recovered after a failed recovery differs from the source: %s", d)
			}
		})
	}
}

// saveSnapshot returns the full snapshot stream of db.
func saveSnapshot(t *testing.T, db *pebble.DB) []byte {
	t.Helper()
	d := &diskStateMachine{db: db, applier: &countingApplier{}}
	ctx, err := d.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if err := d.SaveSnapshot(ctx, &stream, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	return stream.Bytes()
}

// assertReopenedEmpty opens db as dragonboat does at start after a recovery was cut short: it
// must report nothing applied and hold no key.
func assertReopenedEmpty(t *testing.T, db *pebble.DB) {
	t.Helper()
	app := &countingApplier{}
	idx, err := (&diskStateMachine{db: db, applier: app}).Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	if idx != 0 {
		t.Errorf("Open after a cut-short recovery reports index %d, want 0", idx)
	}
	if left := dump(t, db); len(left) != 0 {
		t.Errorf("Open after a cut-short recovery left %d keys, first %x, want none", len(left), left[0].k)
	}
}

// getErr is the error of reading key from db (nil: found).
func getErr(db *pebble.DB, key []byte) error {
	_, closer, err := db.Get(key)
	if err == nil {
		closer.Close()
	}
	return err
}

// failingReader returns the first n bytes of r, then err.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestRecoverFromSnapshotStreamsInBatches: a snapshot much larger than the recovery batch is
// written in bounded batches as it is read, never as one; until the last batch the database
// holds the recovery marker and no applied index, so a crash at any point leaves a database that
// Open empties. A stream cut in the middle, after several batches were committed, shows it.
func TestRecoverFromSnapshotStreamsInBatches(t *testing.T) {
	src, err := OpenDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const keys, valueSize, limit = 2000, 1000, 32 << 10
	b := src.NewBatch()
	for i := range keys {
		k := binary.BigEndian.AppendUint32([]byte{0x02}, uint32(i))
		if err := b.Set(k, bytes.Repeat([]byte{byte(i)}, valueSize), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Set(appliedIndexKey, binary.BigEndian.AppendUint64(nil, 4242), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	stream := saveSnapshot(t, src)
	want := dump(t, src)

	for _, c := range []struct {
		name string
		cut  int // bytes of the stream read before it fails; 0: whole
	}{{"complete", 0}, {"cut in the middle", len(stream) / 2}} {
		t.Run(c.name, func(t *testing.T) {
			dst, err := OpenDB(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			var sizes []int
			var badState []string
			d := &diskStateMachine{db: dst, applier: &countingApplier{}, recoverBatchBytes: limit}
			d.onRecoverBatch = func(n int) {
				sizes = append(sizes, n)
				errApplied := getErr(dst, appliedIndexKey)
				errMarker := getErr(dst, recoveringKey)
				last := errors.Is(errMarker, pebble.ErrNotFound)
				if last != !errors.Is(errApplied, pebble.ErrNotFound) {
					badState = append(badState, fmt.Sprintf("after batch %d: applied index %v, marker %v", len(sizes), errApplied, errMarker))
				}
			}
			var r io.Reader = bytes.NewReader(stream)
			if c.cut > 0 {
				r = &failingReader{r: r, n: c.cut, err: io.ErrUnexpectedEOF}
			}
			err = d.RecoverFromSnapshot(r, make(chan struct{}))
			for _, s := range badState {
				t.Error(s)
			}
			// Each batch stops at the first key that takes it to the limit.
			const maxBatch = limit + valueSize + 64
			if m := slices.Max(sizes); m > maxBatch {
				t.Errorf("largest batch %d bytes, want at most %d", m, maxBatch)
			}
			if c.cut == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if d := diffDumps(want, dump(t, dst)); d != "" {
					t.Fatalf("recovered database differs: %s", d)
				}
				if atLeast := len(stream) / maxBatch; len(sizes) < atLeast {
					t.Errorf("%d batches for a %d-byte snapshot, want at least %d", len(sizes), len(stream), atLeast)
				}
				if got := d.applied.Load(); got != 4242 {
					t.Errorf("applied index %d after recovery, want 4242", got)
				}
				return
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v, want %v", err, io.ErrUnexpectedEOF)
			}
			if len(sizes) < 3 {
				t.Fatalf("%d batches committed before the cut, want several", len(sizes))
			}
			if n := len(dump(t, dst)); n < 2 {
				t.Fatalf("%d keys after the cut, want the marker and the batches committed", n)
			}
			assertReopenedEmpty(t, dst)
		})
	}
}

// TestDeleteAllThenIterate: the deletion of every key (as at the start of a snapshot recovery and
// in Open after a cut-short one), over keys in memtables and sstables, interleaved with new
// writes and flushes, leaves iterators seeing exactly the keys written since. A range deletion
// starting at the empty key made pebble v2.1.7 panic here in race builds ("invariant violation:
// next entry unexpectedly invalid").
func TestDeleteAllThenIterate(t *testing.T) {
	db, err := OpenDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Set([]byte{}, []byte("empty key"), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		var want []kv
		b := db.NewBatch()
		for i := range 50 + round*7 {
			k := binary.BigEndian.AppendUint32([]byte{0x02}, uint32(i*(round+1)))
			v := bytes.Repeat([]byte{byte(round)}, 100)
			if err := b.Set(k, v, nil); err != nil {
				t.Fatal(err)
			}
			want = append(want, kv{k, v})
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		b = db.NewBatch()
		if err := deleteAll(db, b); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(recoveringKey, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if round%2 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if d := diffDumps([]kv{{recoveringKey, nil}}, dump(t, db)); d != "" {
			t.Fatalf("round %d: after deleting everything: %s", round, d)
		}
		for _, seek := range want[:5] {
			it, err := db.NewIter(nil)
			if err != nil {
				t.Fatal(err)
			}
			for ok := it.SeekGE(seek.k); ok; ok = it.Next() {
				t.Errorf("round %d: key %x seen after deleting everything", round, it.Key())
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Delete(recoveringKey, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
}
