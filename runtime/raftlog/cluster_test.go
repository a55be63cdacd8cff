package raftlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The tests below run several hosts in this process, each with its own directories, talking
// dragonboat's TCP transport over loopback.

// freeAddrs returns n loopback addresses whose ports were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// member is one node of a test cluster with its replica of the test shard.
type member struct {
	id     uint64
	addr   string
	dir    string
	h      *Host
	db     *pebble.DB
	app    *countingApplier
	ev     *events
	closed bool

	mu      sync.Mutex
	leaders map[uint64]uint64 // leader ids of the test shard this node heard of, by term
}

func (m *member) close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.h.Close()
	return m.db.Close()
}

// startMember starts node id (at addr; a member of peers or not) on dir, with the test shard's
// database open, not yet started.
func startMember(t *testing.T, id uint64, addr, dir string, peers map[uint64]string) *member {
	t.Helper()
	m := &member{id: id, addr: addr, dir: dir, app: &countingApplier{}, ev: newEvents(), leaders: map[uint64]uint64{}}
	h, err := NewHost(Config{
		Dir: filepath.Join(dir, "raft"), NodeID: id, RaftAddress: addr, Peers: peers,
		PlacementInterval: -1, // these tests move leadership themselves (placement_test.go has it on)
		OnEvent:           m.ev.on,
		OnLeaderUpdate: func(shard, leader, term uint64) {
			if shard == testShard && leader != 0 {
				m.mu.Lock()
				m.leaders[term] = leader
				m.mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.h = h
	if m.db, err = OpenDB(filepath.Join(dir, "shard")); err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func (m *member) startReplica(t *testing.T) {
	t.Helper()
	ok, err := m.h.StartReplica(testShard, m.db, m.app)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("node %d started no replica of shard %d (placed on %v)", m.id, testShard, m.h.InitialReplicas(testShard))
	}
}

// heardLeader reports whether OnLeaderUpdate told this node that leader leads the test shard.
func (m *member) heardLeader(leader uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(slices.Collect(maps.Values(m.leaders)), leader)
}

// agreedLeader waits until every running member knows the same leader of the test shard, one of
// them, and returns it.
func agreedLeader(t *testing.T, ms []*member) *member {
	t.Helper()
	var leader *member
	until(t, "a leader every running replica knows", func() string {
		leader = nil
		ids := map[uint64]bool{}
		for _, m := range ms {
			if m.closed {
				continue
			}
			id, ok, err := m.h.LeaderID(testShard)
			if err != nil || !ok {
				return fmt.Sprintf("node %d knows no leader (%v)", m.id, err)
			}
			ids[id] = true
		}
		if len(ids) != 1 {
			return fmt.Sprintf("leaders %v", slices.Sorted(maps.Keys(ids)))
		}
		for _, m := range ms {
			if !m.closed && ids[m.id] {
				leader = m
			}
		}
		if leader == nil {
			return fmt.Sprintf("leader %v is not running", slices.Sorted(maps.Keys(ids)))
		}
		return ""
	})
	return leader
}

// converged waits until every running member's database equals want's, key for key, and its
// ShardInfo reports the same applied index.
func converged(t *testing.T, what string, want *member, ms []*member) {
	t.Helper()
	until(t, what, func() string {
		w := dump(t, want.db)
		for _, m := range ms {
			if m.closed || m == want {
				continue
			}
			if d := diffDumps(w, dump(t, m.db)); d != "" {
				return fmt.Sprintf("node %d differs from node %d: %s", m.id, want.id, d)
			}
			a, b := shardInfo(t, want), shardInfo(t, m)
			if a.AppliedIndex != b.AppliedIndex {
				return fmt.Sprintf("applied index %d on node %d, %d on node %d", a.AppliedIndex, want.id, b.AppliedIndex, m.id)
			}
		}
		return ""
	})
}

func shardInfo(t *testing.T, m *member) ShardInfo {
	t.Helper()
	si, err := m.h.Shard(testShard)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

// proposeOn adds 1..count (offset by from) through m, waiting for each result, and returns the
// last one.
func proposeOn(t *testing.T, m *member, from, count int) uint64 {
	t.Helper()
	return (&node{h: m.h}).propose(t, from, count)
}

// compactAll snapshots and compacts every running replica's log, so that none can rebuild a
// replica from it.
func compactAll(t *testing.T, ms []*member) {
	t.Helper()
	for _, m := range ms {
		if m.closed {
			continue
		}
		idx := (&node{h: m.h, db: m.db}).snapshotNow(t)
		until(t, "compaction", func() string {
			if li := logInfo(t, &node{h: m.h}); li.FirstIndex <= idx {
				return fmt.Sprintf("node %d log %+v, snapshot at %d", m.id, li, idx)
			}
			return ""
		})
	}
}

func formCluster(t *testing.T, n int) ([]*member, map[uint64]string) {
	t.Helper()
	addrs := freeAddrs(t, n)
	peers := map[uint64]string{}
	for i, a := range addrs {
		peers[uint64(i+1)] = a
	}
	var ms []*member
	for i, a := range addrs {
		ms = append(ms, startMember(t, uint64(i+1), a, t.TempDir(), peers))
	}
	for _, m := range ms {
		m.startReplica(t)
	}
	return ms, peers
}

// TestClusterReplicatesFailsOverAndRejoins: three hosts form a shard with a replica on each;
// entries proposed through any of them are applied on all three; leadership moves on request;
// when the leader's host closes the other two elect a leader and go on; the closed host,
// restarted on its directory, rejoins and catches up.
func TestClusterReplicatesFailsOverAndRejoins(t *testing.T) {
	ms, _ := formCluster(t, 3)
	leader := agreedLeader(t, ms)
	for _, m := range ms {
		if got := shardInfo(t, m).Replicas; len(got) != 3 {
			t.Fatalf("node %d sees members %v, want 3", m.id, got)
		}
	}
	if got := proposeOn(t, leader, 1, 100); got != 5050 {
		t.Fatalf("sum %d, want 5050", got)
	}
	// A follower forwards proposals to the leader and answers with the result.
	follower := ms[(slices.Index(ms, leader)+1)%3]
	if got := proposeOn(t, follower, 1000, 1); got != 6050 {
		t.Fatalf("sum through follower %d, want 6050", got)
	}
	converged(t, "three replicas applying the same entries", leader, ms)
	for _, m := range ms {
		if got := readSum(m.db); got != 6050 {
			t.Fatalf("node %d sum %d, want 6050", m.id, got)
		}
	}

	// Leadership moves to the node asked for, and every node hears of it.
	target := follower
	if err := leader.h.RequestLeaderTransfer(testShard, target.id); err != nil {
		t.Fatal(err)
	}
	until(t, "leadership transfer", func() string {
		if l := agreedLeader(t, ms); l != target {
			return fmt.Sprintf("leader %d, want %d", l.id, target.id)
		}
		for _, m := range ms {
			if !m.heardLeader(target.id) {
				return fmt.Sprintf("node %d had no OnLeaderUpdate naming %d", m.id, target.id)
			}
		}
		return ""
	})
	leader = target

	// The leader's host goes away: the other two elect one of them and go on.
	old := leader
	if err := old.close(); err != nil {
		t.Fatal(err)
	}
	leader = agreedLeader(t, ms)
	if leader == old {
		t.Fatalf("closed node %d still leads", old.id)
	}
	if got := proposeOn(t, leader, 1, 10); got != 6105 {
		t.Fatalf("sum after failover %d, want 6105", got)
	}
	converged(t, "the two remaining replicas", leader, ms)

	// The closed node restarts on its data directory: it rejoins and catches up.
	restarted := startMember(t, old.id, old.addr, old.dir, map[uint64]string{1: ms[0].addr, 2: ms[1].addr, 3: ms[2].addr})
	ms[slices.Index(ms, old)] = restarted
	restarted.startReplica(t)
	converged(t, "the restarted replica catching up", leader, ms)
	if got := readSum(restarted.db); got != 6105 {
		t.Fatalf("restarted node sum %d, want 6105", got)
	}
	if n := restarted.app.applied.Load(); n != 10 {
		t.Errorf("restarted node applied %d entries, want the 10 it missed", n)
	}
	if got := proposeOn(t, restarted, 1, 1); got != 6106 {
		t.Fatalf("sum through the restarted node %d, want 6106", got)
	}
	converged(t, "all three after the restart", leader, ms)
}

// TestReplaceNodeRebuildsFromSnapshot: a dead node's replica is removed and a brand-new node's
// added; the leader's log was compacted, so the new replica is rebuilt from a streamed snapshot
// and the log after it, ends byte-equal to the others, and is a voting member: the shard goes on
// when another node then dies.
func TestReplaceNodeRebuildsFromSnapshot(t *testing.T) {
	ms, peers := formCluster(t, 3)
	leader := agreedLeader(t, ms)
	sum := proposeOn(t, leader, 1, 200)
	converged(t, "three replicas", leader, ms)
	compactAll(t, ms)
	sum = proposeOn(t, leader, 1000, 5)

	dead := ms[(slices.Index(ms, leader)+1)%3]
	if err := dead.close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := leader.h.RemoveReplica(ctx, testShard, dead.id); err != nil {
		t.Fatal(err)
	}

	fresh := startMember(t, 4, freeAddrs(t, 1)[0], t.TempDir(), peers)
	if fresh.h.HasReplica(testShard) {
		t.Fatalf("a node outside the initial members holds a replica of shard %d before it joins", testShard)
	}
	if err := leader.h.AddReplica(ctx, testShard, fresh.id, fresh.addr); err != nil {
		t.Fatal(err)
	}
	if err := fresh.h.JoinShard(testShard, fresh.db, fresh.app); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, fresh)
	converged(t, "the new replica rebuilt", leader, ms)
	// The event comes after RecoverFromSnapshot returned (the keys are in place earlier).
	until(t, "the new replica's recovery event", func() string {
		if len(fresh.ev.of(SnapshotRecovered)) == 0 {
			return "no SnapshotRecovered event"
		}
		return ""
	})
	if len(fresh.ev.of(SnapshotReceived)) == 0 || len(leader.ev.of(SendSnapshotCompleted)) == 0 {
		t.Fatalf("new replica was not rebuilt from a streamed snapshot: received %v, sent %v",
			fresh.ev.of(SnapshotReceived), leader.ev.of(SendSnapshotCompleted))
	}
	if n := fresh.app.applied.Load(); n != 0 {
		t.Errorf("new replica applied %d entries from the log, want 0: all were in the snapshot", n)
	}
	if got := readSum(fresh.db); got != sum {
		t.Fatalf("new replica sum %d, want %d", got, sum)
	}
	want := map[uint64]bool{}
	for _, m := range ms {
		if m != dead {
			want[m.id] = true
		}
	}
	until(t, "membership without the dead node", func() string {
		for _, m := range ms {
			if m.closed {
				continue
			}
			got := shardInfo(t, m).Replicas
			if !maps.Equal(want, maps.Collect(func(yield func(uint64, bool) bool) {
				for id := range got {
					if !yield(id, true) {
						return
					}
				}
			})) {
				return fmt.Sprintf("node %d sees members %v", m.id, slices.Sorted(maps.Keys(got)))
			}
		}
		return ""
	})

	mem, err := fresh.h.Membership(ctx, testShard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mem.Removed, []uint64{dead.id}) || len(mem.Replicas) != 3 || mem.Replicas[fresh.id] != fresh.addr {
		t.Fatalf("membership %+v, want node %d removed and node %d at %s among 3", mem, dead.id, fresh.id, fresh.addr)
	}

	// Another node, the leader, dies: the new one and the last original one form the majority.
	if err := leader.close(); err != nil {
		t.Fatal(err)
	}
	leader = agreedLeader(t, ms)
	if got := proposeOn(t, fresh, 1, 1); got != sum+1 {
		t.Fatalf("sum after the second death %d, want %d", got, sum+1)
	}
	converged(t, "the new replica and the survivor", leader, ms)
}

// TestPlacement: shards are placed on min(factor, n) of the sorted initial members, starting at
// position shard mod n; the EveryNodeShards on all of them; a single node holds everything.
func TestPlacement(t *testing.T) {
	five := map[uint64]string{}
	for i, a := range freeAddrs(t, 5) {
		five[uint64(i+1)*10] = a
	}
	cases := []struct {
		name   string
		peers  map[uint64]string
		factor int
		every  []uint64
		shard  uint64
		want   []uint64
	}{
		{"single node", nil, 0, nil, 1000, []uint64{1}},
		{"five nodes, shard 0", five, 3, nil, 0, []uint64{10, 20, 30}},
		{"five nodes, shard 1003 wraps", five, 3, nil, 1003, []uint64{40, 50, 10}},
		{"five nodes, shard 1004", five, 3, nil, 1004, []uint64{50, 10, 20}},
		{"default factor 3", five, 0, nil, 2, []uint64{30, 40, 50}},
		{"factor above the members", five, 9, nil, 1, []uint64{20, 30, 40, 50, 10}},
		{"metadata shard on every node", five, 3, []uint64{1}, 1, []uint64{20, 30, 40, 50, 10}},
		{"factor 1", five, 1, []uint64{1}, 1002, []uint64{30}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := uint64(1)
			if c.peers != nil {
				id = 10
			}
			h, err := NewHost(Config{Dir: t.TempDir(), NodeID: id, Peers: c.peers, ReplicationFactor: c.factor, EveryNodeShards: c.every})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			got := h.InitialReplicas(c.shard)
			if !slices.Equal(got, c.want) {
				t.Fatalf("replicas of shard %d: %v, want %v", c.shard, got, c.want)
			}
			if h.HasReplica(c.shard) != slices.Contains(c.want, id) {
				t.Fatalf("HasReplica(%d) = %v on node %d", c.shard, h.HasReplica(c.shard), id)
			}
			db, err := OpenDB(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if slices.Contains(c.want, id) {
				return
			}
			// A node without a replica starts nothing.
			ok, err := h.StartReplica(c.shard, db, &sumApplier{})
			if err != nil || ok {
				t.Fatalf("StartReplica on a node without a replica: %v, %v", ok, err)
			}
			if err := h.StartShard(c.shard, db, &sumApplier{}); !errors.Is(err, ErrNotReplica) {
				t.Fatalf("StartShard on a node without a replica: %v, want ErrNotReplica", err)
			}
			if _, err := h.Shard(c.shard); err == nil {
				t.Fatalf("shard %d runs on node %d", c.shard, id)
			}
		})
	}
}

// TestConfigRejected: configurations that would split or confuse a cluster are refused.
func TestConfigRejected(t *testing.T) {
	peers := map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7002"}
	cases := []struct {
		name string
		cfg  Config
	}{
		{"node outside the peers without an address", Config{NodeID: 3, Peers: peers}},
		{"address other than the peers give", Config{NodeID: 1, RaftAddress: "127.0.0.1:7009", Peers: peers}},
		{"new node on a peer's address", Config{NodeID: 3, RaftAddress: "127.0.0.1:7002", Peers: peers}},
		{"two peers on one address", Config{NodeID: 1, Peers: map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7001"}}},
		{"node id 0 among the peers", Config{NodeID: 1, Peers: map[uint64]string{1: "127.0.0.1:7001", 0: "127.0.0.1:7002"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Dir = t.TempDir()
			h, err := NewHost(c.cfg)
			if err == nil {
				h.Close()
				t.Fatal("NewHost accepted it")
			}
		})
	}
}

// TestJoinShardRefusesNonEmptyDatabase: a joining replica must start from an empty database
// (dragonboat would otherwise stop on a new replica at a non-zero index).
func TestJoinShardRefusesNonEmptyDatabase(t *testing.T) {
	h, err := NewHost(Config{Dir: t.TempDir(), NodeID: 4, RaftAddress: freeAddrs(t, 1)[0], Peers: map[uint64]string{1: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	db, err := OpenDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Set(appliedIndexKey, binary.BigEndian.AppendUint64(nil, 12), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := h.JoinShard(testShard, db, &sumApplier{}); err == nil {
		t.Fatal("JoinShard accepted a database that applied entries")
	}
}

// TestJoinCutShortStartsOver: a new replica whose recovery from a streamed snapshot stops midway
// (its shard stopped after a few of the recovery's batches were committed, as a crash would leave
// it) holds the recovery marker; restarted on its directories it empties its database and
// recovers again, ending byte-equal to the others.
func TestJoinCutShortStartsOver(t *testing.T) {
	ms, peers := formCluster(t, 3)
	for _, m := range ms {
		m.app.spread.Store(true)
	}
	leader := agreedLeader(t, ms)
	proposeOn(t, leader, 1, 300)
	converged(t, "three replicas", leader, ms)
	compactAll(t, ms)

	fresh := startMember(t, 4, freeAddrs(t, 1)[0], t.TempDir(), peers)
	fresh.app.spread.Store(true)
	fresh.h.recoverBatchBytes = 1 << 10 // the snapshot holds about 40 KiB
	const cutAfter = 3
	reached, release := make(chan struct{}), make(chan struct{})
	var batches int // only the recovering goroutine touches it
	fresh.h.recoverHook = func(shard uint64, n int) {
		if batches++; batches == cutAfter {
			close(reached)
			<-release
		}
	}
	ctx := context.Background()
	if err := leader.h.AddReplica(ctx, testShard, fresh.id, fresh.addr); err != nil {
		t.Fatal(err)
	}
	if err := fresh.h.JoinShard(testShard, fresh.db, fresh.app); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(waitFor):
		t.Fatalf("the new replica did not reach recovery batch %d", cutAfter)
	}
	// Stopping the shard closes the recovery's done channel; the recovery sees it at its next key.
	if err := fresh.h.nh.StopShard(testShard); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := fresh.close(); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(filepath.Join(fresh.dir, "shard"))
	if err != nil {
		t.Fatal(err)
	}
	if err := getErr(db, recoveringKey); err != nil {
		t.Fatalf("no recovery marker after the cut: %v", err)
	}
	if err := getErr(db, appliedIndexKey); !errors.Is(err, pebble.ErrNotFound) {
		t.Fatalf("applied index present after the cut: %v", err)
	}
	if n := len(dump(t, db)); n < cutAfter {
		t.Fatalf("%d keys after the cut, want the batches committed", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	restarted := startMember(t, fresh.id, fresh.addr, fresh.dir, peers)
	restarted.app.spread.Store(true)
	restarted.startReplica(t)
	ms = append(ms, restarted)
	converged(t, "the new replica after its recovery was cut", leader, ms)
	until(t, "the restarted replica's recovery event", func() string {
		if len(restarted.ev.of(SnapshotRecovered)) == 0 {
			return "no SnapshotRecovered event"
		}
		return ""
	})
	if n := restarted.app.applied.Load(); n != 0 {
		t.Errorf("restarted replica applied %d entries from the log, want 0: all were in the snapshot", n)
	}
	t.Logf("restart recovered %v, received %v", restarted.ev.of(SnapshotRecovered), restarted.ev.of(SnapshotReceived))
}

// TestDroppedReplicaStaysDown: a running node's replica removed from the shard and dropped is not
// started again, on that host or after a restart on its directory, although the placement rule
// names the node; the shard goes on with the other two.
func TestDroppedReplicaStaysDown(t *testing.T) {
	ms, peers := formCluster(t, 3)
	leader := agreedLeader(t, ms)
	proposeOn(t, leader, 1, 10)
	gone := ms[(slices.Index(ms, leader)+1)%3]
	ctx := context.Background()
	if err := leader.h.RemoveReplica(ctx, testShard, gone.id); err != nil {
		t.Fatal(err)
	}
	if err := gone.h.DropReplica(ctx, testShard); err != nil {
		t.Fatal(err)
	}
	check := func(when string, m *member) {
		t.Helper()
		if m.h.HasReplica(testShard) {
			t.Errorf("%s: HasReplica true", when)
		}
		if _, err := m.h.Shard(testShard); err == nil {
			t.Errorf("%s: the replica runs", when)
		}
		if ok, err := m.h.StartReplica(testShard, m.db, m.app); ok || err != nil {
			t.Fatalf("%s: StartReplica %v, %v; want nothing started", when, ok, err)
		}
	}
	check("after the drop", gone)
	if err := gone.close(); err != nil {
		t.Fatal(err)
	}
	restarted := startMember(t, gone.id, gone.addr, gone.dir, peers)
	check("after a restart", restarted)
	ms = slices.DeleteFunc(ms, func(m *member) bool { return m == gone })
	if got := proposeOn(t, leader, 1, 1); got != 56 {
		t.Fatalf("sum %d, want 56", got)
	}
	converged(t, "the two remaining replicas", leader, ms)
}
