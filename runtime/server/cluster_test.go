package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/server"
)

// TestClusterConfigRefused: a cluster member's configuration must name this node at its Raft
// address, and (until requests are routed between nodes) give every node every partition.
func TestClusterConfigRefused(t *testing.T) {
	peers := map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7002", 3: "127.0.0.1:7003"}
	for _, tt := range []struct {
		name    string
		cfg     server.Config
		wantErr string
	}{
		{"no raft address", server.Config{NodeID: 1, Peers: peers}, "needs its Raft address"},
		{"not among the peers", server.Config{NodeID: 4, RaftAddress: "127.0.0.1:7004", Peers: peers}, "--peers must name this node (4)"},
		{"another address", server.Config{NodeID: 1, RaftAddress: "127.0.0.1:9999", Peers: peers}, "at its --raft-addr 127.0.0.1:9999"},
		{"fewer replicas", server.Config{NodeID: 1, RaftAddress: "127.0.0.1:7001", Peers: peers, ReplicationFactor: 2}, "replication factor 2 with 3 peers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir, tt.cfg.IngressAddr, tt.cfg.AdminAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
			s, err := server.Start(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
