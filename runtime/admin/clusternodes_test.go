package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/admin"
)

// recordingNodes answers every change with err, or the shards 1 and 1000, and records the calls.
type recordingNodes struct {
	err   error
	calls []string
}

func scopeName(s admin.Scope) string {
	if s == admin.ScopeLocal {
		return " local"
	}
	return ""
}

func (r *recordingNodes) AddNode(_ context.Context, id uint64, addr string, s admin.Scope) (admin.NodeChange, error) {
	r.calls = append(r.calls, fmt.Sprintf("add %d %s%s", id, addr, scopeName(s)))
	return admin.NodeChange{Node: id, RaftAddress: addr, Shards: []uint64{1, 1000}}, r.err
}

func (r *recordingNodes) RemoveNode(_ context.Context, id uint64, s admin.Scope) (admin.NodeChange, error) {
	r.calls = append(r.calls, fmt.Sprintf("remove %d%s", id, scopeName(s)))
	return admin.NodeChange{Node: id, Shards: []uint64{1, 1000}}, r.err
}

func (r *recordingNodes) Memberships(context.Context) ([]admin.ShardMembership, error) {
	r.calls = append(r.calls, "memberships")
	return []admin.ShardMembership{{Shard: 1, Replicas: map[uint64]string{1: "a:1"}}, {Shard: 1000, Replicas: map[uint64]string{1: "a:1"}}}, r.err
}

// TestClusterNodesRoutes: POST /cluster/nodes and DELETE /cluster/nodes/{id} reach ClusterNodes
// with the node asked for and answer the shards changed; the errors it returns are answered 400
// (bad node), 404 (unknown node), 409 (conflict) and 503 (anything else: a shard without a
// leader); ?scope=local reaches it as ScopeLocal, another scope is 400; a bad path id is 400
// before ClusterNodes is asked; GET /cluster/shards answers the memberships; without
// ClusterNodes they answer 503.
func TestClusterNodesRoutes(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		nodes                    *recordingNodes
		status                   int
		call                     string
	}{
		{"add", "POST", "/cluster/nodes", `{"id":4,"raft_address":"127.0.0.1:7004"}`, &recordingNodes{}, 200, "add 4 127.0.0.1:7004"},
		{"remove", "DELETE", "/cluster/nodes/3", "", &recordingNodes{}, 200, "remove 3"},
		{"versioned path", "DELETE", "/v2/cluster/nodes/3", "", &recordingNodes{}, 200, "remove 3"},
		{"add, local scope", "POST", "/cluster/nodes?scope=local", `{"id":4,"raft_address":"127.0.0.1:7004"}`, &recordingNodes{}, 200, "add 4 127.0.0.1:7004 local"},
		{"remove, local scope", "DELETE", "/cluster/nodes/3?scope=local", "", &recordingNodes{}, 200, "remove 3 local"},
		{"bad scope", "DELETE", "/cluster/nodes/3?scope=all", "", &recordingNodes{}, 400, ""},
		{"unknown node", "DELETE", "/cluster/nodes/9", "", &recordingNodes{err: fmt.Errorf("%w: node 9", admin.ErrUnknownNode)}, 404, "remove 9"},
		{"memberships", "GET", "/cluster/shards", "", &recordingNodes{}, 200, "memberships"},
		{"memberships without a leader", "GET", "/cluster/shards", "", &recordingNodes{err: errors.New("raftlog: membership of shard 1: timeout")}, 503, "memberships"},
		{"bad node", "POST", "/cluster/nodes", `{"id":0,"raft_address":"x"}`, &recordingNodes{err: fmt.Errorf("%w: id 0", admin.ErrBadNode)}, 400, "add 0 x"},
		{"conflict", "DELETE", "/cluster/nodes/1", "", &recordingNodes{err: errors.Join(errors.New("timeout"), fmt.Errorf("%w: itself", admin.ErrNodeConflict))}, 409, "remove 1"},
		{"no leader", "DELETE", "/cluster/nodes/2", "", &recordingNodes{err: errors.New("raftlog: remove node 2 from shard 1000: timeout")}, 503, "remove 2"},
		{"bad path id", "DELETE", "/cluster/nodes/x", "", &recordingNodes{}, 400, ""},
		{"zero path id", "DELETE", "/cluster/nodes/0", "", &recordingNodes{}, 400, ""},
		{"single node", "POST", "/cluster/nodes", `{"id":4,"raft_address":"127.0.0.1:7004"}`, nil, 503, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deps := admin.Deps{}
			if c.nodes != nil {
				deps.ClusterNodes = c.nodes
			}
			h := admin.New(admin.Config{}, deps)
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, rec.Code, rec.Body, c.status)
			}
			var calls []string
			if c.nodes != nil {
				calls = c.nodes.calls
			}
			if want := []string{c.call}; c.call == "" && len(calls) != 0 || c.call != "" && (len(calls) != 1 || calls[0] != c.call) {
				t.Fatalf("calls %q, want %q", calls, want)
			}
			if c.status != http.StatusOK {
				return
			}
			var got struct {
				Shards []json.RawMessage `json:"shards"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Shards) != 2 {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
		})
	}
}
