package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/registry"
)

// TestChooseShards: a node added joins, in ascending order, the partition shards with fewer
// members than the replication factor and those it is a member of already; none at the factor.
func TestChooseShards(t *testing.T) {
	parts := []uint64{1000, 1001, 1002, 1003}
	cases := []struct {
		name    string
		members map[uint64][]uint64
		factor  int
		want    []uint64
	}{
		{"every member holds every partition, one removed", map[uint64][]uint64{1000: {1, 2}, 1001: {1, 2}, 1002: {1, 2}, 1003: {1, 2}}, 3, parts},
		{"3 of 4 members, node 3 removed", map[uint64][]uint64{1000: {1, 2}, 1001: {2, 4}, 1002: {1, 4}, 1003: {1, 2, 4}}, 3, []uint64{1000, 1001, 1002}},
		{"nothing removed", map[uint64][]uint64{1000: {1, 2, 3}, 1001: {2, 3, 4}, 1002: {1, 3, 4}, 1003: {1, 2, 4}}, 3, nil},
		{"two removed from a shard", map[uint64][]uint64{1000: {1}, 1001: {2, 3, 4}, 1002: {1, 3, 4}, 1003: {1, 2, 4}}, 3, []uint64{1000}},
		{"a member already (asked again)", map[uint64][]uint64{1000: {1, 2, 5}, 1001: {2, 4}, 1002: {1, 3, 4}, 1003: {1, 2, 4}}, 3, []uint64{1000, 1001}},
		{"one replica each", map[uint64][]uint64{1000: {1}, 1001: {}, 1002: {3}, 1003: {}}, 1, []uint64{1001, 1003}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := chooseShards(parts, c.members, 5, c.factor); !slices.Equal(got, c.want) {
				t.Fatalf("chooseShards = %v, want %v", got, c.want)
			}
		})
	}
}

// fakeShards are the memberships of a cluster's shards: what the replicas' logs would agree on.
type fakeShards struct {
	mu     sync.Mutex
	shards map[uint64]*raftlog.Membership
}

func (f *fakeShards) members(shard uint64) []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.shards[shard].Replicas))
}

// fakeHost is one node's replicas of fakeShards: those whose members include it.
type fakeHost struct {
	id uint64
	f  *fakeShards
}

func (h fakeHost) NodeID() uint64 { return h.id }

func (h fakeHost) Shards() []raftlog.ShardInfo {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	var out []raftlog.ShardInfo
	for _, s := range slices.Sorted(maps.Keys(h.f.shards)) {
		if _, ok := h.f.shards[s].Replicas[h.id]; ok {
			out = append(out, raftlog.ShardInfo{ShardID: s, NodeID: h.id})
		}
	}
	return out
}

func (h fakeHost) Membership(_ context.Context, shard uint64) (raftlog.Membership, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	m := h.f.shards[shard]
	if _, ok := m.Replicas[h.id]; !ok {
		return raftlog.Membership{}, fmt.Errorf("node %d holds no replica of shard %d", h.id, shard)
	}
	return raftlog.Membership{Replicas: maps.Clone(m.Replicas), Removed: slices.Clone(m.Removed)}, nil
}

func (h fakeHost) AddReplica(_ context.Context, shard, id uint64, addr string) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	h.f.shards[shard].Replicas[id] = addr
	return nil
}

func (h fakeHost) RemoveReplica(_ context.Context, shard, id uint64) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	m := h.f.shards[shard]
	delete(m.Replicas, id)
	m.Removed = append(m.Removed, id)
	return nil
}

func (fakeHost) Barrier(context.Context, uint64) error { return nil }

// fakeCluster is four nodes (replication factor 3, partitions 0-3) whose admin APIs serve
// nodeChangers over fakeHosts and one registry (the metadata shard every node reads).
type fakeCluster struct {
	shards *fakeShards
	reg    *registry.Registry
	admins map[uint64]*httptest.Server
}

func newFakeCluster(t *testing.T) *fakeCluster {
	t.Helper()
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	client := registry.Client{Propose: reg.ProposeLocal}
	nodes := []uint64{1, 2, 3, 4}
	peers := map[uint64]string{}
	for _, id := range nodes {
		peers[id] = fmt.Sprintf("127.0.0.1:%d", 7000+id)
	}
	fc := &fakeCluster{shards: &fakeShards{shards: map[uint64]*raftlog.Membership{MetadataShardID: {Replicas: maps.Clone(peers)}}}, reg: reg, admins: map[uint64]*httptest.Server{}}
	var parts []uint64
	for p := range uint64(4) {
		s := 1000 + p
		parts = append(parts, s)
		m := &raftlog.Membership{Replicas: map[uint64]string{}}
		for i := range uint64(3) {
			id := nodes[(s+i)%4]
			m.Replicas[id] = peers[id]
		}
		fc.shards.shards[s] = m
	}
	for _, id := range nodes {
		c := &nodeChanger{h: fakeHost{id, fc.shards}, reg: reg, recordJoin: client.RecordJoin, peers: peers, partitions: parts, factor: 3, client: adminPeerClient()}
		srv := httptest.NewServer(admin.New(admin.Config{}, admin.Deps{ClusterNodes: c}))
		t.Cleanup(srv.Close)
		fc.admins[id] = srv
		if err := client.PublishNode(t.Context(), registry.Node{ID: id, RaftAddress: peers[id], AdminAddress: srv.Listener.Addr().String()}); err != nil {
			t.Fatal(err)
		}
	}
	return fc
}

// do asks node's admin API and returns the status, the shards answered and the message.
func (fc *fakeCluster) do(t *testing.T, node uint64, method, path, body string) (int, []uint64, string) {
	t.Helper()
	req, err := http.NewRequest(method, fc.admins[node].URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Shards  []uint64 `json:"shards"`
		Message string   `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.Shards, a.Message
}

// TestReplaceWithFewerReplicas: four nodes hold each partition three times (partition shard s on
// nodes (s+i) mod 4). Node 3 is dead (its admin API closed). DELETE /cluster/nodes/3 through
// node 1 removes it from every shard it held, node 1's and those only nodes 2 and 4 hold; asked
// again it changes nothing. POST /cluster/nodes adds node 5 through node 2 to the metadata shard
// and the three partition shards node 3 left, recorded in the metadata shard, and not to the
// fourth; asked again it changes nothing. Then the refusals, and a shard whose live holders do not
// answer is an error naming it.
func TestReplaceWithFewerReplicas(t *testing.T) {
	fc := newFakeCluster(t)
	fc.admins[3].Close()
	steps := []struct {
		name, method, path, body string
		node                     uint64
		status                   int
		shards                   []uint64
		message                  string // a part of the error's
	}{
		{"remove node 3", "DELETE", "/cluster/nodes/3", "", 1, 200, []uint64{1, 1000, 1001, 1002}, ""},
		{"remove node 3 again", "DELETE", "/cluster/nodes/3", "", 2, 200, []uint64{}, ""},
		{"add node 5", "POST", "/cluster/nodes", `{"id":5,"raft_address":"127.0.0.1:7005"}`, 2, 200, []uint64{1, 1000, 1001, 1002}, ""},
		{"add node 5 again", "POST", "/cluster/nodes", `{"id":5,"raft_address":"127.0.0.1:7005"}`, 4, 200, []uint64{}, ""},
		{"bad id", "DELETE", "/cluster/nodes/0", "", 1, 400, nil, ""},
		{"bad address", "POST", "/cluster/nodes", `{"id":6,"raft_address":"nowhere"}`, 1, 400, nil, "host:port"},
		{"unknown node", "DELETE", "/cluster/nodes/9", "", 1, 404, nil, "never was"},
		{"itself", "DELETE", "/cluster/nodes/1", "", 1, 409, nil, "does not remove itself"},
		{"a removed node back", "POST", "/cluster/nodes", `{"id":3,"raft_address":"127.0.0.1:7003"}`, 1, 409, nil, "removed"},
		{"an initial member", "POST", "/cluster/nodes", `{"id":2,"raft_address":"127.0.0.1:7002"}`, 1, 409, nil, "initial member"},
		{"another node's address", "POST", "/cluster/nodes", `{"id":6,"raft_address":"127.0.0.1:7004"}`, 1, 409, nil, "has the Raft address"},
		{"node 5 at another address", "POST", "/cluster/nodes", `{"id":5,"raft_address":"127.0.0.1:7999"}`, 1, 409, nil, "not 127.0.0.1:7999"},
		{"local scope without a recorded join", "POST", "/cluster/nodes?scope=local", `{"id":6,"raft_address":"127.0.0.1:7006"}`, 1, 409, nil, "no join of node 6"},
	}
	for _, s := range steps {
		status, shards, msg := fc.do(t, s.node, s.method, s.path, s.body)
		if status != s.status || s.status == 200 && !slices.Equal(shards, s.shards) || !strings.Contains(msg, s.message) {
			t.Fatalf("%s: %d %v %q, want %d %v and a message with %q", s.name, status, shards, msg, s.status, s.shards, s.message)
		}
	}
	want := map[uint64][]uint64{1: {1, 2, 4, 5}, 1000: {1, 2, 5}, 1001: {2, 4, 5}, 1002: {1, 4, 5}, 1003: {1, 2, 4}}
	for shard, members := range want {
		if got := fc.shards.members(shard); !slices.Equal(got, members) {
			t.Errorf("shard %d: members %v, want %v", shard, got, members)
		}
	}
	if j, ok := fc.reg.Join(5); !ok || !slices.Equal(j.Shards, []uint64{1, 1000, 1001, 1002}) {
		t.Errorf("join of node 5 recorded: %+v %v", j, ok)
	}

	// Nodes 2 and 4 stop answering: node 1 holds no replica of shard 1001 (nodes 2, 4, 5), so it
	// cannot remove node 4 from it, and says so.
	fc.admins[2].Close()
	fc.admins[4].Close()
	status, _, msg := fc.do(t, 1, "DELETE", "/cluster/nodes/4", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(msg, "shard 1001:") || strings.Contains(msg, "shard 1000:") {
		t.Fatalf("removing node 4 with nodes 2 and 4 not answering: %d %q, want 503 naming shard 1001 alone", status, msg)
	}
	if got := fc.shards.members(1002); !slices.Equal(got, []uint64{1, 5}) {
		t.Errorf("shard 1002 (node 1's): members %v, want node 4 removed", got)
	}
}
