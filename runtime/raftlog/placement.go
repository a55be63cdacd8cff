package raftlog

import (
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Leader placement. Every shard has a preferred leader: the first node of its placement order,
// which is InitialReplicas(shard) with each initial replica no longer a member replaced by a
// member that is not an initial replica (the lowest node id first), then those members left over.
// As InitialReplicas starts consecutive shards on consecutive members, the preferred leaders
// spread over the members, and a node that replaced a removed one takes its place.
//
// The preferred node asks for leadership itself (pull, not push): when it does not lead a shard
// it prefers, it calls RequestLeaderTransfer with its own id; its replica forwards the request to
// the leader, which hands over as soon as the replica's log matches its own. Only the preferred
// node knows, without asking across nodes, that it is alive and caught up, and a leader that
// pushed leadership to a dead or lagging node would refuse proposals until the transfer timed out
// (an election timeout). So a node asks only after its replica has followed the same leader, in
// the same term, for placementStableChecks checks in a row, and was caught up at each (a
// ReadIndex through it completed within the interval: see caughtUp). Never flapping: only the preferred node asks, and
// only for itself (every node derives the same order from the same membership); at most one shard
// is asked for per check, and a shard asked for without result is asked again only after a
// backoff that doubles up to placementMaxBackoff checks (reset only once the node has led the
// shard for that many checks).

// DefaultPlacementInterval is the default Config.PlacementInterval.
const DefaultPlacementInterval = time.Second

const (
	placementStableChecks = 3  // checks a replica must be stable and caught up before asking
	placementMinBackoff   = 4  // checks after a request before asking again for the same shard
	placementMaxBackoff   = 64 // the largest backoff, in checks
)

// PlacementOrder returns the node ids of shardID's members in placement order (see above); the
// first is the preferred leader. members are the shard's current voting members.
func (h *Host) PlacementOrder(shardID uint64, members []uint64) []uint64 {
	return placementOrder(h.InitialReplicas(shardID), members)
}

// PreferredLeader returns shardID's preferred leader among members (false: no member).
func (h *Host) PreferredLeader(shardID uint64, members []uint64) (uint64, bool) {
	order := h.PlacementOrder(shardID, members)
	if len(order) == 0 {
		return 0, false
	}
	return order[0], true
}

// placementOrder: initial replicas still members keep their place; one that is not takes the
// next member outside initial (ascending id) in its place; remaining such members follow.
func placementOrder(initial, members []uint64) []uint64 {
	extra := slices.Sorted(func(yield func(uint64) bool) {
		for _, id := range members {
			if !slices.Contains(initial, id) && !yield(id) {
				return
			}
		}
	})
	out := make([]uint64, 0, len(members))
	for _, id := range initial {
		switch {
		case slices.Contains(members, id):
			out = append(out, id)
		case len(extra) > 0:
			out, extra = append(out, extra[0]), extra[1:]
		}
	}
	return append(out, extra...)
}

// placer is the placement loop of one Host: a goroutine started by NewHost (for a cluster member,
// unless Config.PlacementInterval is negative) and stopped by Close before the NodeHost closes.
type placer struct {
	h        *Host
	interval time.Duration
	stop     chan struct{}
	done     chan struct{}
	// checks counts completed checks (tests wait on it).
	checks atomic.Uint64
	// requests counts leadership requests made.
	requests atomic.Uint64
	// isCaughtUp is caughtUp (tests replace it).
	isCaughtUp func(shardID uint64) bool
	// transfer is Host.RequestLeaderTransfer (tests replace it).
	transfer func(shardID, nodeID uint64) error

	shards map[uint64]*placeState // only the loop goroutine touches it
}

// placeState is what the loop remembers of one shard between checks.
type placeState struct {
	leader, term uint64 // the leader (and its term) the replica followed at the last check
	stable       int    // checks in a row following leader in term, caught up
	led          int    // checks in a row this node led the shard
	wait         int    // checks to let pass before asking again
	backoff      int    // the next wait after a request, in checks
}

func (h *Host) startPlacement() {
	if len(h.cfg.Peers) == 0 || h.cfg.PlacementInterval < 0 {
		return
	}
	interval := h.cfg.PlacementInterval
	if interval == 0 {
		interval = DefaultPlacementInterval
	}
	p := newPlacer(h, interval)
	h.placer = p
	go p.run()
}

func newPlacer(h *Host, interval time.Duration) *placer {
	p := &placer{h: h, interval: interval, stop: make(chan struct{}), done: make(chan struct{}), shards: map[uint64]*placeState{},
		transfer: h.RequestLeaderTransfer}
	p.isCaughtUp = p.caughtUp
	return p
}

// stopPlacement stops the placement loop and waits for it.
func (h *Host) stopPlacement() {
	if p := h.placer; p != nil {
		close(p.stop)
		<-p.done
	}
}

func (p *placer) run() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.check()
			p.checks.Add(1)
		}
	}
}

// check looks at every replica on this node and asks for leadership of at most one shard.
func (p *placer) check() {
	asked := false
	seen := map[uint64]bool{}
	for _, si := range p.h.Shards() {
		seen[si.ShardID] = true
		if p.step(si, !asked) {
			asked = true
		}
	}
	for id := range maps.Keys(p.shards) {
		if !seen[id] {
			delete(p.shards, id)
		}
	}
}

// step observes si's replica and, if mayAsk, asks for its leadership when it should; it reports
// whether it asked.
func (p *placer) step(si ShardInfo, mayAsk bool) bool {
	st := p.shards[si.ShardID]
	if st == nil {
		st = &placeState{backoff: placementMinBackoff}
		p.shards[si.ShardID] = st
	}
	if !p.observe(st, si) || !mayAsk {
		return false
	}
	p.ask(st, si)
	return true
}

// observe updates st from this check's view of the replica and reports whether to ask for its
// leadership now.
func (p *placer) observe(st *placeState, si ShardInfo) bool {
	self := p.h.replicaID
	following := si.LeaderID != 0 && !si.Pending && si.LeaderID == st.leader && si.Term == st.term
	st.leader, st.term = si.LeaderID, si.Term
	if st.wait > 0 {
		st.wait--
	}
	preferred, ok := p.h.PreferredLeader(si.ShardID, slices.Collect(maps.Keys(si.Replicas)))
	if si.LeaderID != self {
		st.led = 0
	}
	switch {
	case !ok || preferred != self:
		st.stable, st.backoff = 0, placementMinBackoff
		return false
	case si.LeaderID == self:
		// Only leadership held for a while resets the backoff: a node that keeps losing the
		// leadership it asked for (slow, or its network flaky) asks ever more rarely.
		st.stable = 0
		if st.led++; st.led >= placementMaxBackoff {
			st.backoff = placementMinBackoff
		}
		return false
	case !following || !p.isCaughtUp(si.ShardID):
		st.stable = 0
		return false
	}
	st.stable++
	return st.stable >= placementStableChecks && st.wait == 0
}

// caughtUp reports whether this node's replica of shardID is caught up with its leader: a
// ReadIndex through it completes within the check interval, which needs the leader to confirm
// its leadership with a quorum and this replica to apply every entry the leader had committed
// when asked. (The applied index of ShardInfo counts only entries given to the applier, not the
// leader's empty entries or membership changes: an idle shard's would never reach its log's end.)
func (p *placer) caughtUp(shardID uint64) bool {
	rs, err := p.h.nh.ReadIndex(shardID, p.interval)
	if err != nil {
		return false
	}
	defer rs.Release()
	select {
	case r := <-rs.ResultC():
		return r.Completed()
	case <-p.stop:
		return false
	}
}

// ask requests leadership of si's shard for this node, and backs off.
func (p *placer) ask(st *placeState, si ShardInfo) {
	st.wait = st.backoff
	st.backoff = min(2*st.backoff, placementMaxBackoff)
	p.requests.Add(1)
	if err := p.transfer(si.ShardID, p.h.replicaID); err != nil {
		slog.Debug("placement: leadership request", "shard", si.ShardID, "err", err)
		return
	}
	slog.Debug("placement: asked for leadership", "shard", si.ShardID, "node", p.h.replicaID, "leader", si.LeaderID)
}
