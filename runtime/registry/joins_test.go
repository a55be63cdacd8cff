package registry_test

import (
	"context"
	"slices"
	"testing"

	"github.com/resolute-run/resolute/runtime/registry"
)

// TestRecordJoin: a node's join is recorded with its shards sorted once each; the first record
// of a node stands (asked again, even with other shards or another address, the record answered
// is the first); records survive a rebuild of the view; node id 0 and an empty address are
// rejected.
func TestRecordJoin(t *testing.T) {
	db := openMem(t)
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ctx := context.Background()
	first := registry.Join{Node: 5, RaftAddress: "h:7005", Shards: []uint64{1003, 1, 1000, 1003}}
	want := registry.Join{Node: 5, RaftAddress: "h:7005", Shards: []uint64{1, 1000, 1003}}
	cases := []struct {
		name string
		ask  registry.Join
		want registry.Join
	}{
		{"first", first, want},
		{"again", first, want},
		{"other shards and address", registry.Join{Node: 5, RaftAddress: "h:7999", Shards: []uint64{1, 1001}}, want},
		{"another node", registry.Join{Node: 6, RaftAddress: "h:7006", Shards: []uint64{1}}, registry.Join{Node: 6, RaftAddress: "h:7006", Shards: []uint64{1}}},
	}
	for _, tc := range cases {
		got, err := c.RecordJoin(ctx, tc.ask)
		if err != nil || !sameJoin(got, tc.want) {
			t.Errorf("%s: RecordJoin(%+v) = %+v, %v; want %+v", tc.name, tc.ask, got, err, tc.want)
		}
	}
	for _, bad := range []registry.Join{{RaftAddress: "h:1", Shards: []uint64{1}}, {Node: 7, Shards: []uint64{1}}} {
		if _, err := c.RecordJoin(ctx, bad); err == nil {
			t.Errorf("RecordJoin(%+v) accepted", bad)
		}
	}
	reopened, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*registry.Registry{reg, reopened} {
		if j, ok := r.Join(5); !ok || !sameJoin(j, want) {
			t.Errorf("join of node 5: %+v %v, want %+v", j, ok, want)
		}
		if j, ok := r.Join(7); ok {
			t.Errorf("join of node 7 recorded: %+v", j)
		}
	}
}

func sameJoin(a, b registry.Join) bool {
	return a.Node == b.Node && a.RaftAddress == b.RaftAddress && slices.Equal(a.Shards, b.Shards)
}
