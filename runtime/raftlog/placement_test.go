package raftlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

func TestPlacementOrder(t *testing.T) {
	cases := []struct {
		name             string
		initial, members []uint64
		want             []uint64
	}{
		{"every initial replica a member", []uint64{2, 3, 1}, []uint64{1, 2, 3}, []uint64{2, 3, 1}},
		{"the first removed, no replacement", []uint64{2, 3, 1}, []uint64{1, 3}, []uint64{3, 1}},
		{"the first replaced by node 4", []uint64{2, 3, 1}, []uint64{1, 3, 4}, []uint64{4, 3, 1}},
		{"two replaced, lowest new id first", []uint64{2, 3, 1}, []uint64{7, 1, 5}, []uint64{5, 7, 1}},
		{"a member added without a removal comes last", []uint64{2, 3, 1}, []uint64{4, 1, 2, 3}, []uint64{2, 3, 1, 4}},
		{"no members", []uint64{2, 3, 1}, nil, []uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := placementOrder(c.initial, c.members); !slices.Equal(got, c.want) {
				t.Fatalf("placementOrder(%v, %v) = %v, want %v", c.initial, c.members, got, c.want)
			}
		})
	}
}

// placeShards are the shards of the placement test: with three members each is the preferred
// leader of two.
var placeShards = []uint64{1000, 1001, 1002, 1003, 1004, 1005}

// placeNode is a host running a replica of every placeShards shard, placement on.
type placeNode struct {
	id        uint64
	addr, dir string
	h         *Host
	dbs       []*pebble.DB
	closed    bool
	join      bool
	peers     map[uint64]string
}

const placeInterval = 20 * time.Millisecond

func startPlaceNode(t *testing.T, n *placeNode) {
	t.Helper()
	h, err := NewHost(Config{Dir: filepath.Join(n.dir, "raft"), NodeID: n.id, RaftAddress: n.addr, Peers: n.peers, Join: n.join,
		PlacementInterval: placeInterval})
	if err != nil {
		t.Fatal(err)
	}
	h.SetJoinShards(placeShards) // a joining node was added to every one
	n.h, n.dbs, n.closed = h, nil, false
	t.Cleanup(n.close)
	for _, s := range placeShards {
		db, err := OpenDB(filepath.Join(n.dir, fmt.Sprint(s)))
		if err != nil {
			t.Fatal(err)
		}
		n.dbs = append(n.dbs, db)
		if err := h.StartShard(s, db, &sumApplier{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *placeNode) close() {
	if n.closed {
		return
	}
	n.closed = true
	n.h.Close()
	for _, db := range n.dbs {
		db.Close()
	}
}

// placeView is what settled saw: the leader of each shard, the sum of the shards' terms, and the
// leadership requests made by the running nodes.
type placeView struct {
	leaders  map[uint64]uint64
	terms    uint64
	requests uint64
}

// settled waits until the running nodes agree, for every shard, on a leader that is its preferred
// leader.
func settled(t *testing.T, what string, ns []*placeNode) placeView {
	t.Helper()
	var p placeView
	until(t, what, func() string {
		p = placeView{leaders: map[uint64]uint64{}}
		for _, s := range placeShards {
			var term uint64
			for _, n := range ns {
				if n.closed {
					continue
				}
				si, err := n.h.Shard(s)
				if err != nil || si.LeaderID == 0 {
					return fmt.Sprintf("node %d knows no leader of shard %d (%v)", n.id, s, err)
				}
				want, _ := n.h.PreferredLeader(s, slices.Collect(maps.Keys(si.Replicas)))
				if si.LeaderID != want {
					return fmt.Sprintf("node %d: shard %d led by %d, preferred %d", n.id, s, si.LeaderID, want)
				}
				p.leaders[s], term = si.LeaderID, max(term, si.Term)
			}
			p.terms += term
		}
		return ""
	})
	for _, n := range ns {
		if !n.closed {
			p.requests += n.h.placer.requests.Load()
		}
	}
	return p
}

// steady lets every running node make placementMaxBackoff+placementStableChecks more checks and
// then finds the same leaders. Elections may still happen (heartbeats late on a loaded machine),
// and the preferred node then asks for its leadership back: one election, then one transfer, two
// terms per request. A placement that asked while it leads, or two nodes taking a shard from each
// other in turn, would make more requests than that.
func steady(t *testing.T, ns []*placeNode, before placeView) placeView {
	t.Helper()
	target := map[*placeNode]uint64{}
	for _, n := range ns {
		if !n.closed {
			target[n] = n.h.placer.checks.Load() + placementMaxBackoff + placementStableChecks
		}
	}
	until(t, "more placement checks", func() string {
		for n, c := range target {
			if got := n.h.placer.checks.Load(); got < c {
				return fmt.Sprintf("node %d at check %d of %d", n.id, got, c)
			}
		}
		return ""
	})
	after := settled(t, "leadership after more checks", ns)
	asked, terms := after.requests-before.requests, after.terms-before.terms
	if !maps.Equal(after.leaders, before.leaders) || 2*asked > terms {
		t.Fatalf("placement moved on: leaders %v then %v; %d requests over %d new terms", before.leaders, after.leaders, asked, terms)
	}
	t.Logf("%d requests over %d new terms", asked, terms)
	return after
}

func proposeTo(t *testing.T, n *placeNode, shard uint64, count int) {
	t.Helper()
	for i := range count {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		_, err := n.h.Propose(ctx, shard, binary.AppendUvarint(nil, uint64(i+1)))
		cancel()
		if err != nil {
			t.Fatalf("propose to shard %d through node %d: %v", shard, n.id, err)
		}
	}
}

// TestLeadersSpreadAndReturn: three hosts, six shards: every shard comes to be led by its
// preferred leader, so leaders spread over the three; the hosts then ask for nothing more. A host
// stopped loses its leaderships to the others (an election), which go on taking entries; restarted
// on its directory it catches up and gets them back. A member removed from every shard and
// replaced by a new node (Config.Join) is replaced in the placement order too: the new node comes
// to lead the shards the removed one preferred.
func TestLeadersSpreadAndReturn(t *testing.T) {
	addrs := freeAddrs(t, 4)
	peers := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	var ns []*placeNode
	for i := range 3 {
		n := &placeNode{id: uint64(i + 1), addr: addrs[i], dir: t.TempDir(), peers: peers}
		startPlaceNode(t, n)
		ns = append(ns, n)
	}
	first := settled(t, "every shard led by its preferred node", ns)
	leaders := first.leaders
	if got := slices.Sorted(maps.Values(leaders)); !slices.Equal(got, []uint64{1, 1, 2, 2, 3, 3}) {
		t.Fatalf("leaders by shard %v: not two shards on each node", leaders)
	}
	steady(t, ns, first)

	// Node 1 stops: the shards it led get other leaders and take entries; it returns and leads
	// them again.
	var its []uint64
	for s, l := range leaders {
		if l == 1 {
			its = append(its, s)
		}
	}
	ns[0].close()
	until(t, "node 1's shards led by the others", func() string {
		for _, s := range its {
			for _, n := range ns[1:] {
				if l, ok, _ := n.h.LeaderID(s); !ok || l == 1 {
					return fmt.Sprintf("node %d: shard %d leader %d (%v)", n.id, s, l, ok)
				}
			}
		}
		return ""
	})
	for _, s := range its {
		proposeTo(t, ns[1], s, 20)
	}
	startPlaceNode(t, ns[0])
	back := settled(t, "node 1 leads its shards again", ns)
	if !maps.Equal(back.leaders, leaders) {
		t.Fatalf("leaders %v after node 1 returned, want %v", back.leaders, leaders)
	}
	for _, s := range its {
		if got, want := readSum(ns[0].dbs[slices.Index(placeShards, s)]), uint64(20*21/2); got != want {
			t.Errorf("shard %d on node 1: sum %d, want %d (led without the entries it missed)", s, got, want)
		}
	}
	steady(t, ns, back)

	// Node 3 dies and is replaced by node 4 on every shard: node 4 takes its place.
	ns[2].close()
	ctx := context.Background()
	errs := make(chan error, len(placeShards))
	for _, s := range placeShards {
		go func() {
			err := ns[0].h.RemoveReplica(ctx, s, 3)
			if err == nil {
				err = ns[0].h.AddReplica(ctx, s, 4, addrs[3])
			}
			errs <- err
		}()
	}
	for range placeShards {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Asked again (as after an attempt that timed out once applied), the add succeeds.
	if err := ns[1].h.AddReplica(ctx, placeShards[0], 4, addrs[3]); err != nil {
		t.Fatalf("adding node 4 again: %v", err)
	}
	fresh := &placeNode{id: 4, addr: addrs[3], dir: t.TempDir(), peers: peers, join: true}
	startPlaceNode(t, fresh)
	ns = append(ns, fresh)
	replaced := settled(t, "node 4 in node 3's place", ns).leaders
	for s, l := range leaders {
		want := l
		if l == 3 {
			want = 4
		}
		if replaced[s] != want {
			t.Fatalf("leaders %v after node 4 replaced node 3, were %v", replaced, leaders)
		}
	}
}

// TestPlacementBackoff steps one node's placement through simulated checks of a shard it is the
// preferred leader of (shard 3 of members 1, 2, 3 on node 1), each transfer it asks for
// succeeding at once. A node that loses the leadership once asks for it back after
// placementStableChecks checks; a node that keeps losing it (sick: 10 checks after each
// transfer) asks ever more rarely, down to once per placementMaxBackoff checks; a node that is not
// the preferred leader never asks.
func TestPlacementBackoff(t *testing.T) {
	addrs := freeAddrs(t, 3)
	peers := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	cases := []struct {
		name     string
		node     uint64
		losses   func(check, ledFor int) bool // whether the node loses the leadership now
		maxAsked int
		minAsked int
	}{
		{"one election", 1, func(check, _ int) bool { return check == 100 }, 2, 2},
		{"sick node", 1, func(_, ledFor int) bool { return ledFor == 10 }, 1000/placementMaxBackoff + 6, 10},
		{"not preferred", 2, func(int, int) bool { return false }, 0, 0},
	}
	const checks = 1000
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := NewHost(Config{Dir: t.TempDir(), NodeID: c.node, RaftAddress: peers[c.node], Peers: peers, PlacementInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			const shard = 3
			if got, _ := h.PreferredLeader(shard, []uint64{1, 2, 3}); got != 1 {
				t.Fatalf("preferred leader of shard %d: %d, want 1", shard, got)
			}
			leader, term, ledFor, asked := uint64(3), uint64(1), 0, 0
			p := newPlacer(h, time.Millisecond)
			p.isCaughtUp = func(uint64) bool { return true }
			p.transfer = func(s, to uint64) error {
				asked++
				leader, term, ledFor = to, term+1, 0
				return nil
			}
			for check := range checks {
				if leader == c.node {
					if ledFor++; c.losses(check, ledFor) {
						leader, term = 2, term+1
					}
				}
				p.step(ShardInfo{ShardID: shard, Replicas: map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}, LeaderID: leader, Term: term}, true)
			}
			t.Logf("asked %d times", asked)
			if asked < c.minAsked || asked > c.maxAsked {
				t.Fatalf("asked %d times in %d checks, want %d to %d", asked, checks, c.minAsked, c.maxAsked)
			}
			if c.node == 1 && c.maxAsked == 2 && leader != 1 {
				t.Fatalf("leader %d at the end, want 1", leader)
			}
		})
	}
}
