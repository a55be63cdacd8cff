package server

import (
	"testing"
)

// TestShardProgress: each replica's applied index as its node reported it, and its lag behind
// the leader's; unknown where the leader's or its own report is missing; never below zero.
func TestShardProgress(t *testing.T) {
	progress := map[uint64]map[uint64]uint64{
		1: {1000: 50, 1001: 7},
		2: {1000: 42},
		3: {1000: 51}, // reported after the leader's report: ahead
		// node 4 did not answer
	}
	type row struct {
		node      uint64
		reachable bool
		applied   uint64
		lag       int64 // -1: absent
	}
	cases := []struct {
		name     string
		shard    uint64
		leader   uint64
		replicas []uint64
		want     []row
	}{
		{"lags behind the leader", 1000, 1, []uint64{1, 2, 3, 4}, []row{{1, true, 50, 0}, {2, true, 42, 8}, {3, true, 51, 0}, {4, false, 0, -1}}},
		{"leader unreachable", 1000, 4, []uint64{1, 4}, []row{{1, true, 50, -1}, {4, false, 0, -1}}},
		{"no leader", 1001, 0, []uint64{1, 2}, []row{{1, true, 7, -1}, {2, true, 0, -1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := shardProgress(c.shard, c.leader, c.replicas, progress)
			if len(got) != len(c.want) {
				t.Fatalf("%+v, want %d rows", got, len(c.want))
			}
			for i, w := range c.want {
				g := got[i]
				lag := int64(-1)
				if g.Lag != nil {
					lag = int64(*g.Lag)
				}
				if g.Node != w.node || g.Reachable != w.reachable || g.AppliedIndex != w.applied || lag != w.lag {
					t.Errorf("row %d: %+v (lag %d), want %+v", i, g, lag, w)
				}
			}
		})
	}
}
