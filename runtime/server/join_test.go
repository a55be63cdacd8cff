package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/admin"
)

// TestCheckJoin: an initial member must be in --peers at its address; a node that joins must
// not be, and joins only a cluster whose members hold every partition.
func TestCheckJoin(t *testing.T) {
	peers := map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7002", 3: "127.0.0.1:7003"}
	cases := []struct {
		name    string
		cfg     Config
		refused string // a word of the error; "" accepted
	}{
		{"initial member", Config{NodeID: 2, RaftAddress: "127.0.0.1:7002"}, ""},
		{"initial member at another address", Config{NodeID: 2, RaftAddress: "127.0.0.1:7009"}, "--join"},
		{"new node without --join", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004"}, "--join"},
		{"new node joining", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", Join: true}, ""},
		{"new node joining, every member holds every partition", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", Join: true, ReplicationFactor: 3}, ""},
		{"initial member joining", Config{NodeID: 3, RaftAddress: "127.0.0.1:7003", Join: true}, "initial member"},
		{"joining where partitions have fewer replicas", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", Join: true, ReplicationFactor: 2}, "replication factor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Peers = peers
			err := checkJoin(c.cfg)
			switch {
			case c.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
				t.Fatalf("error %v, want one naming %q", err, c.refused)
			}
		})
	}
}

// TestNodeChangesRefusedWithFewerReplicas: where partitions have fewer replicas than members, the
// answering node holds only some shards, and a change made on those alone would leave the others
// with the dead node: both operations are refused as conflicts, and nothing is asked of Raft.
func TestNodeChangesRefusedWithFewerReplicas(t *testing.T) {
	s := &Server{cfg: Config{Peers: map[uint64]string{1: "a:1", 2: "b:1", 3: "c:1", 4: "d:1"}, ReplicationFactor: 3}}
	c := s.clusterNodes() // no host: a change that reached Raft would panic
	if _, err := c.AddNode(t.Context(), 5, "e:1"); !errors.Is(err, admin.ErrNodeConflict) {
		t.Fatalf("AddNode: %v, want a conflict", err)
	}
	if _, err := c.RemoveNode(t.Context(), 4); !errors.Is(err, admin.ErrNodeConflict) {
		t.Fatalf("RemoveNode: %v, want a conflict", err)
	}
	if (&Server{}).clusterNodes() != nil {
		t.Fatal("a single node changes memberships")
	}
}
