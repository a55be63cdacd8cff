package admin

import "net/http"

// ClusterHealth is GET /cluster-health: restate-server's fields (cluster_name, the metadata
// cluster's members) and, ours, this node's view of every shard it holds a replica of.
type ClusterHealth struct {
	ClusterName           string                 `json:"cluster_name"`
	MetadataClusterHealth *MetadataClusterHealth `json:"metadata_cluster_health"`
	// NodeID is the node that answered; Nodes are the cluster's members (the metadata shard's,
	// which every member holds) as this node knows them.
	NodeID uint64        `json:"node_id"`
	Nodes  []ClusterNode `json:"nodes"`
	Shards []ShardHealth `json:"shards"`
}

// MetadataClusterHealth lists the metadata shard's members (restate's embedded metadata cluster).
type MetadataClusterHealth struct {
	Members []uint64 `json:"members"`
}

// ClusterNode is a member: its id and Raft address.
type ClusterNode struct {
	ID          uint64 `json:"id"`
	RaftAddress string `json:"raft_address"`
}

// ShardHealth is this node's view of one shard: the metadata shard or a partition's.
type ShardHealth struct {
	Shard     uint64   `json:"shard"`
	Partition *uint32  `json:"partition,omitempty"` // nil for the metadata shard
	Replicas  []uint64 `json:"replicas"`
	// Leader is the leader this replica knows of (0: none) in Term.
	Leader uint64 `json:"leader"`
	Term   uint64 `json:"term"`
	// PreferredLeader is the replica placement hands leadership back to when it is alive and
	// caught up (the first of the shard's placement order).
	PreferredLeader uint64 `json:"preferred_leader"`
	// AppliedIndex is what this node's replica applied; LastIndex the last entry of its log.
	AppliedIndex uint64 `json:"applied_index"`
	LastIndex    uint64 `json:"last_index"`
	// ReplicaProgress is every replica's applied index as its node reported it just now (over
	// actor remoting), and its lag behind the leader's.
	ReplicaProgress []ReplicaProgress `json:"replica_progress,omitempty"`
}

// ReplicaProgress is one replica of a shard as its node reported it.
type ReplicaProgress struct {
	Node uint64 `json:"node"`
	// Reachable: the node answered (otherwise AppliedIndex is 0 and Lag absent, as when its
	// answer had no replica of the shard).
	Reachable    bool   `json:"reachable"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is the leader's applied index less this replica's (0 when ahead: the reports are not
	// taken at one instant); absent when either is unknown.
	Lag *uint64 `json:"lag,omitempty"`
}

// ClusterHealthFunc reports the cluster as this node sees it.
type ClusterHealthFunc func() (ClusterHealth, error)

func (h *Handler) clusterHealth(w http.ResponseWriter, _ *http.Request) {
	if h.deps.ClusterHealth == nil {
		apiError(w, http.StatusServiceUnavailable, "", "The cluster does not seem to be provisioned yet.")
		return
	}
	ch, err := h.deps.ClusterHealth()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", "cluster health: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ch)
}
