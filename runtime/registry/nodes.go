package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"
)

var nodePrefix = []byte("registry/n/")

func nodeKey(id uint64) []byte { return binary.BigEndian.AppendUint64(slices.Clip(nodePrefix), id) }

// Node is a cluster member as it published itself in the metadata shard: the addresses other
// nodes and tools reach it at.
type Node struct {
	ID uint64 `msgpack:"id" json:"id"`
	// RaftAddress is the address other nodes' Raft transports dial.
	RaftAddress string `msgpack:"raft" json:"raft_address"`
	// RemoteAddress is its actor-remoting address (actors/remote), empty on a single node.
	RemoteAddress string `msgpack:"remote,omitempty" json:"remote_address,omitempty"`
	// IngressAddress and AdminAddress are its HTTP listen addresses.
	IngressAddress string `msgpack:"ingress,omitempty" json:"ingress_address,omitempty"`
	AdminAddress   string `msgpack:"admin,omitempty" json:"admin_address,omitempty"`
}

// PublishNodeCommand records (or updates) a node's addresses.
type PublishNodeCommand struct {
	Node Node `msgpack:"n"`
}

func applyPublishNode(b *pebble.Batch, c *PublishNodeCommand) (Result, error) {
	if c.Node.ID == 0 {
		return reject("", 400, "node id 0"), nil
	}
	if err := put(b, nodeKey(c.Node.ID), c.Node); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Modified}, nil
}

func scanNodes(r pebble.Reader) ([]Node, error) {
	var nodes []Node
	err := scan(r, nodePrefix, func(value []byte) error {
		var n Node
		if err := msgpack.Unmarshal(value, &n); err != nil {
			return fmt.Errorf("registry: decode node: %w", err)
		}
		nodes = append(nodes, n)
		return nil
	})
	return nodes, err // key order = id order
}

// PublishNode records n's addresses in the metadata shard, replacing what it published before.
func (c Client) PublishNode(ctx context.Context, n Node) error {
	_, err := c.propose(ctx, Command{Kind: KindPublishNode, PublishNode: &PublishNodeCommand{Node: n}}, "publish node")
	return err
}

// Nodes lists the nodes that published their addresses, by id.
func (v *View) Nodes() []Node { return v.nodes }

// Node returns the addresses node id published.
func (v *View) Node(id uint64) (Node, bool) {
	i, ok := slices.BinarySearchFunc(v.nodes, id, func(n Node, id uint64) int {
		switch {
		case n.ID < id:
			return -1
		case n.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return Node{}, false
	}
	return v.nodes[i], true
}

// Nodes lists the nodes that published their addresses, by id.
func (r *Registry) Nodes() []Node { return r.View().Nodes() }

// Node returns the addresses node id published.
func (r *Registry) Node(id uint64) (Node, bool) { return r.View().Node(id) }
