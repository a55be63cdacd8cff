package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
)

// Replacing a node (restate-server does this with restatectl; ours is on the admin API):
//
//	DELETE /cluster/nodes/{id}   remove node id from every shard it is a member of
//	POST   /cluster/nodes        {"id": 4, "raft_address": "127.0.0.1:7004"}: add a new node
//
// Both go through the answering node's replicas (each shard's change is proposed to its leader)
// and answer the shards changed. Both are idempotent: asked again, they change nothing more.

// NodeChange is the answer of both: the node and the shards whose membership now includes it
// (POST) or no longer does (DELETE), among those the answering node holds.
type NodeChange struct {
	Node        uint64   `json:"node"`
	RaftAddress string   `json:"raft_address,omitempty"`
	Shards      []uint64 `json:"shards"`
}

// ClusterNodes changes the cluster's membership.
type ClusterNodes interface {
	// AddNode makes node id, at the Raft address addr, a member of the shards it should hold.
	AddNode(ctx context.Context, id uint64, addr string) (NodeChange, error)
	// RemoveNode removes node id from every shard it is a member of.
	RemoveNode(ctx context.Context, id uint64) (NodeChange, error)
}

// Errors a ClusterNodes returns (wrapped) for what the request asked wrongly.
var (
	// ErrBadNode: an invalid node id or address (400).
	ErrBadNode = errors.New("admin: invalid node")
	// ErrNodeConflict: the change contradicts the membership (409), e.g. a removed node's id
	// asked back, or the answering node asked to remove itself.
	ErrNodeConflict = errors.New("admin: node conflicts with the membership")
)

type addNodeRequest struct {
	ID          uint64 `json:"id"`
	RaftAddress string `json:"raft_address"`
}

func (h *Handler) addNode(w http.ResponseWriter, r *http.Request) {
	if h.deps.ClusterNodes == nil {
		apiError(w, http.StatusServiceUnavailable, "", "This node does not change the cluster's membership (single node).")
		return
	}
	var body addNodeRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	h.answerNodeChange(w)(h.deps.ClusterNodes.AddNode(r.Context(), body.ID, body.RaftAddress))
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
	h.answerNodeChange(w)(h.deps.ClusterNodes.RemoveNode(r.Context(), id))
}

func (h *Handler) answerNodeChange(w http.ResponseWriter) func(NodeChange, error) {
	return func(c NodeChange, err error) {
		switch {
		case errors.Is(err, ErrBadNode):
			apiError(w, http.StatusBadRequest, "", err.Error())
		case errors.Is(err, ErrNodeConflict):
			apiError(w, http.StatusConflict, "", err.Error())
		case err != nil:
			// A shard without a leader (no quorum) or a change that timed out: asking again helps.
			apiError(w, http.StatusServiceUnavailable, "", err.Error())
		default:
			if c.Shards == nil {
				c.Shards = []uint64{}
			}
			writeJSON(w, http.StatusOK, c)
		}
	}
}
