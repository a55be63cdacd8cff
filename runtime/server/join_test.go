package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckJoin: an initial member must be in --peers at its address; a node that joins must
// not be, whatever the replication factor; a node that joined restarts with --join or without.
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
		{"joining where partitions have fewer replicas", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", Join: true, ReplicationFactor: 2}, ""},
	}
	joined := t.TempDir() // the data directory of a node that joined before
	if err := os.MkdirAll(filepath.Join(joined, "raft", "nodehost"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, []struct {
		name    string
		cfg     Config
		refused string
	}{
		{"joined node restarted without --join", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", DataDir: joined}, ""},
		{"joined node restarted with --join", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", DataDir: joined, Join: true}, ""},
		{"new node without --join, empty directory", Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", DataDir: t.TempDir()}, "--join"},
	}...)
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
