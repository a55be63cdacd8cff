package registry_test

import (
	"context"
	"testing"

	"github.com/resolute-run/resolute/runtime/registry"
)

// TestPublishNode: nodes' addresses are kept by id, a node publishing again replaces what it
// published, they survive a rebuild of the view from the database, and node id 0 is rejected.
func TestPublishNode(t *testing.T) {
	db := openMem(t)
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ctx := context.Background()
	steps := []registry.Node{
		{ID: 3, RaftAddress: "h:7003", RemoteAddress: "h:7103"},
		{ID: 1, RaftAddress: "h:7001", RemoteAddress: "h:7101", IngressAddress: "h:8081", AdminAddress: "h:9071"},
		{ID: 3, RaftAddress: "h:7003", RemoteAddress: "h:7999"},
	}
	for _, n := range steps {
		if err := c.PublishNode(ctx, n); err != nil {
			t.Fatalf("publish %+v: %v", n, err)
		}
	}
	if err := c.PublishNode(ctx, registry.Node{RaftAddress: "h:1"}); err == nil {
		t.Error("node id 0 was accepted")
	}
	reopened, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*registry.Registry{reg, reopened} {
		nodes := r.Nodes()
		if len(nodes) != 2 || nodes[0] != steps[1] || nodes[1] != steps[2] {
			t.Errorf("nodes %+v, want %+v and %+v", nodes, steps[1], steps[2])
		}
		if n, ok := r.Node(3); !ok || n.RemoteAddress != "h:7999" {
			t.Errorf("node 3: %+v %v, want remote address h:7999", n, ok)
		}
		if _, ok := r.Node(2); ok {
			t.Error("node 2 found, never published")
		}
	}
}
