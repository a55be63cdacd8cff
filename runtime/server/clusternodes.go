package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/registry"
)

// Replacing a node (docs/cluster.md). Partitions may have fewer replicas than there are members
// (--replication-factor), so no node holds every shard: the node asked changes the shards it
// holds, then asks every other live member (the metadata shard's members, at the admin address
// each published there) to change its own (?scope=local), one after the other, and answers the
// union. A shard none of whose holders answered is an error naming it.
//
// A node added (POST /cluster/nodes) joins the metadata shard and the partition shards that have
// fewer replicas than the replication factor now (after the dead node's removal). Which ones is
// recorded in the metadata shard (registry.Join) before any membership changes: the other nodes
// read it there to change their replicas, and the new node, started with --join, to learn which
// shards to join (awaitJoin).

// replicaHost is what nodeChanger needs of this node's Raft replicas (*raftlog.Host).
type replicaHost interface {
	NodeID() uint64
	Shards() []raftlog.ShardInfo
	Membership(ctx context.Context, shardID uint64) (raftlog.Membership, error)
	AddReplica(ctx context.Context, shardID, nodeID uint64, addr string) error
	RemoveReplica(ctx context.Context, shardID, nodeID uint64) error
	Barrier(ctx context.Context, shardID uint64) error
}

// nodeChanger is admin.ClusterNodes for a cluster member.
type nodeChanger struct {
	h   replicaHost
	reg *registry.Registry // this node's view of the metadata shard: nodes' addresses, joins
	// recordJoin records a join in the metadata shard (registry.Client.RecordJoin).
	recordJoin func(context.Context, registry.Join) (registry.Join, error)
	peers      map[uint64]string // the initial members
	partitions []uint64          // every partition shard of the cluster, ascending
	factor     int               // the replicas each partition shard should have
	client     *http.Client      // to the other nodes' admin APIs
	token      string            // the bearer token they accept (empty: none)
}

// clusterNodes adds and removes nodes (nil for a single node).
func (s *Server) clusterNodes() admin.ClusterNodes {
	if len(s.cfg.Peers) == 0 {
		return nil
	}
	factor := s.cfg.ReplicationFactor
	if factor == 0 {
		factor = len(s.cfg.Peers)
	}
	c := &nodeChanger{h: s.host, reg: s.registry, recordJoin: s.registryClient().RecordJoin, peers: s.cfg.Peers,
		factor: factor, client: adminPeerClient()}
	for i := range s.cfg.Partitions {
		c.partitions = append(c.partitions, partition.FirstShardID+uint64(i))
	}
	if len(s.cfg.AdminTokens) > 0 {
		c.token = s.cfg.AdminTokens[0]
	}
	return c
}

// adminPeerClient reaches the other nodes' admin APIs: a node that does not accept a connection
// within a few seconds counts as not answering.
func adminPeerClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}}
}

// peerRequestTimeout bounds one node's part of a change (a shard's change is tried for up to
// 30 s while it has no leader).
const peerRequestTimeout = 2 * time.Minute

// AddNode adds node id at addr to the metadata shard and to the partition shards recorded for it
// (recorded first, then changed: see above).
func (c *nodeChanger) AddNode(ctx context.Context, id uint64, addr string, scope admin.Scope) (admin.NodeChange, error) {
	if id == 0 {
		return admin.NodeChange{}, fmt.Errorf("%w: node ids start at 1", admin.ErrBadNode)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return admin.NodeChange{}, fmt.Errorf("%w: raft_address %q is not host:port", admin.ErrBadNode, addr)
	}
	if scope == admin.ScopeLocal {
		j, err := c.recordedJoin(ctx, id, addr)
		if err != nil {
			return admin.NodeChange{}, err
		}
		changed, held, err := c.local(ctx, j.Shards, c.addChange(id, addr))
		return admin.NodeChange{Node: id, RaftAddress: addr, Shards: changed, Held: held}, err
	}
	meta, err := c.membership(ctx, MetadataShardID)
	if err != nil {
		return admin.NodeChange{}, err
	}
	if err := c.addChecks(MetadataShardID, meta, id, addr); err != nil {
		return admin.NodeChange{}, err
	}
	if _, initial := c.peers[id]; initial {
		return admin.NodeChange{}, fmt.Errorf("%w: node %d is an initial member; a new node has an id never used in the cluster", admin.ErrNodeConflict, id)
	}
	if err := c.barrier(ctx, MetadataShardID); err != nil {
		return admin.NodeChange{}, err
	}
	j, recorded := c.reg.Join(id)
	if !recorded {
		if _, member := meta.Replicas[id]; member {
			return admin.NodeChange{}, fmt.Errorf("%w: node %d is a member of the metadata shard, but no join of it is recorded", admin.ErrNodeConflict, id)
		}
		ms, err := c.memberships(ctx, meta)
		if err != nil {
			return admin.NodeChange{}, err
		}
		shards := append([]uint64{MetadataShardID}, chooseShards(c.partitions, ms, id, c.factor)...)
		if j, err = c.recordJoin(ctx, registry.Join{Node: id, RaftAddress: addr, Shards: shards}); err != nil {
			return admin.NodeChange{}, err
		}
	}
	if j.RaftAddress != addr {
		return admin.NodeChange{}, fmt.Errorf("%w: node %d was added at %s, not %s", admin.ErrNodeConflict, id, j.RaftAddress, addr)
	}
	body, err := json.Marshal(map[string]any{"id": id, "raft_address": addr})
	if err != nil {
		return admin.NodeChange{}, fmt.Errorf("server: encode node %d: %w", id, err)
	}
	changed, err := c.fanOut(ctx, meta, id, j.Shards, c.addChange(id, addr), http.MethodPost, "/cluster/nodes", body)
	return admin.NodeChange{Node: id, RaftAddress: addr, Shards: changed}, err
}

// recordedJoin reads the join of node id at addr from this node's replica of the metadata shard,
// once it has applied what the shard committed (the node asking recorded it before asking).
func (c *nodeChanger) recordedJoin(ctx context.Context, id uint64, addr string) (registry.Join, error) {
	if err := c.barrier(ctx, MetadataShardID); err != nil {
		return registry.Join{}, err
	}
	j, ok := c.reg.Join(id)
	switch {
	case !ok:
		return registry.Join{}, fmt.Errorf("%w: no join of node %d is recorded in the metadata shard (add it without scope)", admin.ErrNodeConflict, id)
	case j.RaftAddress != addr:
		return registry.Join{}, fmt.Errorf("%w: node %d was added at %s, not %s", admin.ErrNodeConflict, id, j.RaftAddress, addr)
	}
	return j, nil
}

// addChecks refuses to add node id at addr to shard of membership m where that contradicts it.
func (c *nodeChanger) addChecks(shard uint64, m raftlog.Membership, id uint64, addr string) error {
	if slices.Contains(m.Removed, id) {
		return fmt.Errorf("%w: node %d was removed from shard %d; a node id is never used again", admin.ErrNodeConflict, id, shard)
	}
	for other, a := range m.Replicas {
		if a == addr && other != id {
			return fmt.Errorf("%w: node %d of shard %d has the Raft address %s", admin.ErrNodeConflict, other, shard, addr)
		}
	}
	if a, ok := m.Replicas[id]; ok && a != addr {
		return fmt.Errorf("%w: node %d is a member of shard %d at %s, not %s", admin.ErrNodeConflict, id, shard, a, addr)
	}
	return nil
}

// addChange adds node id at addr to a shard, unless it is a member already.
func (c *nodeChanger) addChange(id uint64, addr string) shardChange {
	return shardChange{
		need: func(shard uint64, m raftlog.Membership) (bool, error) {
			if err := c.addChecks(shard, m, id, addr); err != nil {
				return false, err
			}
			_, ok := m.Replicas[id]
			return !ok, nil
		},
		make: func(ctx context.Context, shard uint64) error { return c.h.AddReplica(ctx, shard, id, addr) },
	}
}

// removeChange removes node id from a shard it is a member of.
func (c *nodeChanger) removeChange(id uint64) shardChange {
	return shardChange{
		need: func(shard uint64, m raftlog.Membership) (bool, error) {
			if _, ok := m.Replicas[id]; !ok {
				return false, nil
			}
			if len(m.Replicas) == 1 {
				return false, fmt.Errorf("%w: node %d is the last member of shard %d", admin.ErrNodeConflict, id, shard)
			}
			return true, nil
		},
		make: func(ctx context.Context, shard uint64) error { return c.h.RemoveReplica(ctx, shard, id) },
	}
}

// chooseShards returns the partition shards (of partitions, ascending) node id joins: those with
// fewer than factor members, and those it is a member of already. Adding it brings none above
// factor.
func chooseShards(partitions []uint64, members map[uint64][]uint64, id uint64, factor int) []uint64 {
	var out []uint64
	for _, s := range slices.Sorted(slices.Values(partitions)) {
		if m := members[s]; slices.Contains(m, id) || len(m) < factor {
			out = append(out, s)
		}
	}
	return out
}

// memberships reads the members of every partition shard: through this node's replicas and, for
// the others, from the live members (GET /cluster/shards); a shard none of them holds is an error.
func (c *nodeChanger) memberships(ctx context.Context, meta raftlog.Membership) (map[uint64][]uint64, error) {
	out := map[uint64][]uint64{}
	put := func(ms []admin.ShardMembership) {
		for _, m := range ms {
			if _, ok := out[m.Shard]; !ok {
				out[m.Shard] = slices.Sorted(maps.Keys(m.Replicas))
			}
		}
	}
	local, err := c.Memberships(ctx)
	if err != nil {
		return nil, err
	}
	put(local)
	var unanswered []string
	for _, n := range c.others(meta, 0) {
		if !slices.ContainsFunc(c.partitions, func(s uint64) bool { _, ok := out[s]; return !ok }) {
			break
		}
		var ms struct {
			Shards []admin.ShardMembership `json:"shards"`
		}
		if err := c.ask(ctx, n, http.MethodGet, "/cluster/shards", nil, &ms); err != nil {
			unanswered = append(unanswered, err.Error())
			continue
		}
		put(ms.Shards)
	}
	var missing []uint64
	for _, s := range c.partitions {
		if _, ok := out[s]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("server: no live node answered with the members of shards %v (%s)", missing, strings.Join(unanswered, "; "))
	}
	return out, nil
}

// Memberships reads the membership of every shard this node holds a replica of.
func (c *nodeChanger) Memberships(ctx context.Context) ([]admin.ShardMembership, error) {
	var out []admin.ShardMembership
	var errs []error
	for _, si := range c.h.Shards() {
		m, err := c.membership(ctx, si.ShardID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, admin.ShardMembership{Shard: si.ShardID, Replicas: m.Replicas, Removed: m.Removed})
	}
	return out, errors.Join(errs...)
}

// RemoveNode removes node id from every shard of the cluster it is a member of (ScopeLocal: of
// those this node holds).
func (c *nodeChanger) RemoveNode(ctx context.Context, id uint64, scope admin.Scope) (admin.NodeChange, error) {
	if id == c.h.NodeID() {
		return admin.NodeChange{}, fmt.Errorf("%w: node %d does not remove itself; ask another node", admin.ErrNodeConflict, id)
	}
	remove := c.removeChange(id)
	if scope == admin.ScopeLocal {
		changed, held, err := c.local(ctx, nil, remove)
		return admin.NodeChange{Node: id, Shards: changed, Held: held}, err
	}
	meta, err := c.membership(ctx, MetadataShardID)
	if err != nil {
		return admin.NodeChange{}, err
	}
	if _, member := meta.Replicas[id]; !member && !slices.Contains(meta.Removed, id) {
		return admin.NodeChange{}, fmt.Errorf("%w: node %d is not a member of the cluster and never was", admin.ErrUnknownNode, id)
	}
	changed, err := c.fanOut(ctx, meta, id, append([]uint64{MetadataShardID}, c.partitions...), remove, http.MethodDelete, fmt.Sprintf("/cluster/nodes/%d", id), nil)
	return admin.NodeChange{Node: id, Shards: changed}, err
}

// shardChange is a membership change of one shard: need says whether a shard of membership m
// needs it (or contradicts it: an error), make proposes it to the shard's leader.
type shardChange struct {
	need func(shard uint64, m raftlog.Membership) (bool, error)
	make func(ctx context.Context, shard uint64) error
}

// fanOut makes change on this node's replicas of shards, then asks each other live member of the
// cluster (meta's members but node id) for the same with ?scope=local, one after the other; a
// node that does not answer is skipped. It returns the union of the shards changed, sorted, and
// the errors: the nodes' and, for each of shards held by no node that answered, one naming it.
func (c *nodeChanger) fanOut(ctx context.Context, meta raftlog.Membership, id uint64, shards []uint64, change shardChange, method, path string, body []byte) ([]uint64, error) {
	changed, held, err := c.local(ctx, shards, change)
	errs := []error{err}
	var unanswered []string
	for _, n := range c.others(meta, id) {
		var nc admin.NodeChange
		switch err := c.ask(ctx, n, method, path+"?scope=local", body, &nc); {
		case errors.As(err, new(*unreachableError)):
			unanswered = append(unanswered, err.Error())
		case err != nil:
			errs = append(errs, err)
		default:
			changed, held = append(changed, nc.Shards...), append(held, nc.Held...)
		}
	}
	why := ""
	if len(unanswered) > 0 {
		why = " (" + strings.Join(unanswered, "; ") + ")"
	}
	for _, s := range shards {
		if !slices.Contains(held, s) {
			errs = append(errs, fmt.Errorf("server: shard %d: no node holding a replica of it answered; its change is not known to be made%s", s, why))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(changed))), errors.Join(errs...)
}

// others are the members of the metadata shard (the cluster's members) other than this node and
// node skip, by id, as they published themselves; a member that never published is left out.
func (c *nodeChanger) others(meta raftlog.Membership, skip uint64) []registry.Node {
	var out []registry.Node
	for _, id := range slices.Sorted(maps.Keys(meta.Replicas)) {
		if id == c.h.NodeID() || id == skip {
			continue
		}
		if n, ok := c.reg.Node(id); ok && n.AdminAddress != "" {
			out = append(out, n)
		}
	}
	return out
}

// local makes change on every replica this node holds of shards (nil: of any shard), all at
// once, each after reading the shard's membership through its leader. It returns the shards
// changed and those checked (changed or not; both sorted), and the errors. A change that failed
// but is found made when the membership is read again (another node made it meanwhile) is no
// error.
func (c *nodeChanger) local(ctx context.Context, shards []uint64, change shardChange) (changed, held []uint64, _ error) {
	var mine []uint64
	for _, si := range c.h.Shards() {
		if shards == nil || slices.Contains(shards, si.ShardID) {
			mine = append(mine, si.ShardID)
		}
	}
	type result struct {
		shard   uint64
		changed bool
		err     error
	}
	results := make(chan result, len(mine))
	for _, shard := range mine {
		go func() {
			m, err := c.membership(ctx, shard)
			if err != nil {
				results <- result{shard: shard, err: err}
				return
			}
			need, err := change.need(shard, m)
			if err != nil || !need {
				results <- result{shard: shard, err: err}
				return
			}
			err = change.make(ctx, shard)
			if err != nil {
				// Made meanwhile by another node? Then it is no longer needed.
				if again, merr := c.membership(ctx, shard); merr == nil {
					if need, nerr := change.need(shard, again); nerr == nil && !need {
						err = nil
						need = false
					}
				}
			}
			results <- result{shard, need, err}
		}()
	}
	var errs []error
	for range mine {
		r := <-results
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.changed:
			changed, held = append(changed, r.shard), append(held, r.shard)
		default:
			held = append(held, r.shard)
		}
	}
	slices.Sort(changed)
	slices.Sort(held)
	return changed, held, errors.Join(errs...)
}

// readAttempt bounds one linearizable read (a membership, a barrier): a read index issued while
// the shard's leadership moves can be dropped without an answer, so it is asked again after
// this long, for readTimeout at most.
const (
	readAttempt = 2 * time.Second
	readTimeout = 30 * time.Second
)

// retryRead runs read in attempts of readAttempt until it succeeds or readTimeout (or ctx) ends.
func retryRead(ctx context.Context, read func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, readAttempt)
		err := read(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// membership reads shard's membership through its leader (retryRead).
func (c *nodeChanger) membership(ctx context.Context, shard uint64) (raftlog.Membership, error) {
	var m raftlog.Membership
	err := retryRead(ctx, func(ctx context.Context) (err error) {
		m, err = c.h.Membership(ctx, shard)
		return err
	})
	return m, err
}

// barrier waits until this node's replica of shard applied what the shard committed (retryRead).
func (c *nodeChanger) barrier(ctx context.Context, shard uint64) error {
	return retryRead(ctx, func(ctx context.Context) error { return c.h.Barrier(ctx, shard) })
}

// unreachableError: a node did not answer (no connection, or no HTTP answer).
type unreachableError struct {
	node uint64
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("node %d did not answer: %v", e.node, e.err)
}
func (e *unreachableError) Unwrap() error { return e.err }

// ask sends a request to node n's admin API and decodes a 200 answer into out. Another status is
// an error of the kind the status stands for (admin.StatusOf), naming the node.
func (c *nodeChanger) ask(ctx context.Context, n registry.Node, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, peerRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+adminHost(n)+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("server: request to node %d: %w", n.ID, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return &unreachableError{n.ID, err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &unreachableError{n.ID, err}
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("server: answer of node %d to %s %s: %w", n.ID, method, path, err)
		}
		return nil
	}
	msg := strings.TrimSpace(string(data))
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	kind := errors.New("server: refused")
	switch resp.StatusCode {
	case http.StatusBadRequest:
		kind = admin.ErrBadNode
	case http.StatusNotFound:
		kind = admin.ErrUnknownNode
	case http.StatusConflict:
		kind = admin.ErrNodeConflict
	}
	return fmt.Errorf("%w: node %d answered %s %s with %d: %s", kind, n.ID, method, path, resp.StatusCode, msg)
}

// adminHost is where node n's admin API is reached: the address it published, with the host of
// its Raft address when it listens on every interface.
func adminHost(n registry.Node) string {
	host, port, err := net.SplitHostPort(n.AdminAddress)
	if err != nil {
		return n.AdminAddress
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if raftHost, _, err := net.SplitHostPort(n.RaftAddress); err == nil {
			host = raftHost
		}
	}
	return net.JoinHostPort(host, port)
}

// awaitJoin, on a node that joins (--join), reads which shards it was added to from its replica
// of the metadata shard, once that replica has caught up with the record (made before the node
// was added to any shard, and never replaced), and tells the host to join those: the partition
// shards then start as replicas joining their running shards. It waits a minute at most.
func (s *Server) awaitJoin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	id := s.host.NodeID()
	var last error
	for {
		if j, ok := s.registry.Join(id); ok {
			if j.RaftAddress != s.host.RaftAddress() {
				return fmt.Errorf("server: node %d was added at the Raft address %s, not %s", id, j.RaftAddress, s.host.RaftAddress())
			}
			s.host.SetJoinShards(j.Shards)
			return nil
		}
		// Not applied yet, or not recorded at all: a barrier tells which (a read index can be
		// dropped while the replica catches up, so each attempt is short).
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		last = s.host.Barrier(attempt, MetadataShardID)
		cancelAttempt()
		if _, ok := s.registry.Join(id); !ok && last == nil {
			last = fmt.Errorf("the metadata shard records no join of node %d", id)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: node %d joins, but learned no shards to join (was it added with POST /cluster/nodes on a member?): %w (last: %v)", id, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
