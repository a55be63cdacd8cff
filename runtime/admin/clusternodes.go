package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
)

// Replacing a node (restate-server does this with restatectl; ours is on the admin API):
//
//	DELETE /cluster/nodes/{id}   remove node id from every shard of the cluster it is a member of
//	POST   /cluster/nodes        {"id": 5, "raft_address": "127.0.0.1:7005"}: add a new node
//	GET    /cluster/shards       the membership of every shard the answering node holds
//
// Any member answers DELETE and POST for the whole cluster: it changes the shards it holds a
// replica of (each shard's change is proposed to its leader), then asks every other live node
// for the same with ?scope=local (only its own replicas, asked of no one else), and answers the
// shards changed. Both are idempotent: asked again, they change nothing more.

// Scope says which shards a change reaches.
type Scope int

const (
	// ScopeCluster: every shard of the cluster, through the other nodes for the shards the
	// answering node holds no replica of.
	ScopeCluster Scope = iota
	// ScopeLocal (?scope=local): only the shards the answering node holds a replica of; what a
	// node asks of the others for ScopeCluster.
	ScopeLocal
)

// NodeChange is the answer of both: the node and the shards whose membership now includes it
// (POST) or no longer does (DELETE).
type NodeChange struct {
	Node        uint64   `json:"node"`
	RaftAddress string   `json:"raft_address,omitempty"`
	Shards      []uint64 `json:"shards"`
	// Held (ScopeLocal) are the shards the answering node holds a replica of and checked,
	// whether it changed them or found them changed already.
	Held []uint64 `json:"held,omitempty"`
}

// ShardMembership is a shard's membership as its log has it (read through its leader).
type ShardMembership struct {
	Shard uint64 `json:"shard"`
	// Replicas are the voting members: node id → Raft address.
	Replicas map[uint64]string `json:"replicas"`
	// Removed are the node ids removed from the shard, never to be members again.
	Removed []uint64 `json:"removed,omitempty"`
}

// ClusterNodes changes the cluster's membership.
type ClusterNodes interface {
	// AddNode makes node id, at the Raft address addr, a member of the shards it should hold.
	AddNode(ctx context.Context, id uint64, addr string, scope Scope) (NodeChange, error)
	// RemoveNode removes node id from every shard it is a member of.
	RemoveNode(ctx context.Context, id uint64, scope Scope) (NodeChange, error)
	// Memberships reads the membership of every shard this node holds a replica of.
	Memberships(ctx context.Context) ([]ShardMembership, error)
}

// Errors a ClusterNodes returns (wrapped) for what the request asked wrongly.
var (
	// ErrBadNode: an invalid node id or address (400).
	ErrBadNode = errors.New("admin: invalid node")
	// ErrUnknownNode: a node to remove that was never a member of the cluster (404).
	ErrUnknownNode = errors.New("admin: unknown node")
	// ErrNodeConflict: the change contradicts the membership (409), e.g. a removed node's id
	// asked back, or the answering node asked to remove itself.
	ErrNodeConflict = errors.New("admin: node conflicts with the membership")
)

type addNodeRequest struct {
	ID          uint64 `json:"id"`
	RaftAddress string `json:"raft_address"`
}

// scope reads ?scope= (absent: the cluster); false once it answered 400.
func scope(w http.ResponseWriter, r *http.Request) (Scope, bool) {
	switch v := r.URL.Query().Get("scope"); v {
	case "":
		return ScopeCluster, true
	case "local":
		return ScopeLocal, true
	default:
		textError(w, http.StatusBadRequest, "Invalid query parameter: scope is \"local\" or absent, not "+strconv.Quote(v))
		return 0, false
	}
}

func (h *Handler) addNode(w http.ResponseWriter, r *http.Request) {
	if h.deps.ClusterNodes == nil {
		apiError(w, http.StatusServiceUnavailable, "", "This node does not change the cluster's membership (single node).")
		return
	}
	sc, ok := scope(w, r)
	if !ok {
		return
	}
	var body addNodeRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	h.answerNodeChange(w)(h.deps.ClusterNodes.AddNode(r.Context(), body.ID, body.RaftAddress, sc))
}

func (h *Handler) removeNode(w http.ResponseWriter, r *http.Request) {
	if h.deps.ClusterNodes == nil {
		apiError(w, http.StatusServiceUnavailable, "", "This node does not change the cluster's membership (single node).")
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		textError(w, http.StatusBadRequest, "Invalid path parameter: the node id is a positive integer, not "+strconv.Quote(r.PathValue("id")))
		return
	}
	sc, ok := scope(w, r)
	if !ok {
		return
	}
	h.answerNodeChange(w)(h.deps.ClusterNodes.RemoveNode(r.Context(), id, sc))
}

func (h *Handler) shardMemberships(w http.ResponseWriter, r *http.Request) {
	if h.deps.ClusterNodes == nil {
		apiError(w, http.StatusServiceUnavailable, "", "This node has no cluster membership (single node).")
		return
	}
	ms, err := h.deps.ClusterNodes.Memberships(r.Context())
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	if ms == nil {
		ms = []ShardMembership{}
	}
	writeJSON(w, http.StatusOK, struct {
		Shards []ShardMembership `json:"shards"`
	}{ms})
}

// StatusOf is the status the admin API answers a ClusterNodes error with.
func StatusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBadNode):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownNode):
		return http.StatusNotFound
	case errors.Is(err, ErrNodeConflict):
		return http.StatusConflict
	}
	// A shard without a leader (no quorum), a change that timed out, a shard whose holders did
	// not answer: asking again helps.
	return http.StatusServiceUnavailable
}

func (h *Handler) answerNodeChange(w http.ResponseWriter) func(NodeChange, error) {
	return func(c NodeChange, err error) {
		if err != nil {
			apiError(w, StatusOf(err), "", err.Error())
			return
		}
		if c.Shards == nil {
			c.Shards = []uint64{}
		}
		writeJSON(w, http.StatusOK, c)
	}
}
