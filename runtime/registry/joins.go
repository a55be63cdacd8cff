package registry

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"
)

var joinPrefix = []byte("registry/j/")

func joinKey(id uint64) []byte { return binary.BigEndian.AppendUint64(slices.Clip(joinPrefix), id) }

// Join is a node added to the running cluster (POST /cluster/nodes) as the metadata shard
// recorded it before the node was made a member of any shard: the shards it was to be added to.
// The node, started with --join, reads it to learn which replicas to start.
type Join struct {
	Node uint64 `msgpack:"n" json:"node"`
	// RaftAddress is the address the node was added at.
	RaftAddress string `msgpack:"a" json:"raft_address"`
	// Shards are the shards it was to be added to, the metadata shard included, ascending.
	Shards []uint64 `msgpack:"s" json:"shards"`
}

// RecordJoinCommand records a node's join. The first record of a node stays: a second one for
// the same node changes nothing and answers the first (a POST asked again, or two at once).
type RecordJoinCommand struct {
	Join Join `msgpack:"j"`
}

func applyRecordJoin(b *pebble.Batch, c *RecordJoinCommand) (Result, error) {
	if c.Join.Node == 0 || c.Join.RaftAddress == "" {
		return reject("", 400, fmt.Sprintf("join of node %d at %q: node ids start at 1 and need an address", c.Join.Node, c.Join.RaftAddress)), nil
	}
	v, closer, err := b.Get(joinKey(c.Join.Node))
	switch {
	case err == nil:
		defer closer.Close()
		var j Join
		if err := msgpack.Unmarshal(v, &j); err != nil {
			return Result{}, fmt.Errorf("registry: decode join of node %d: %w", c.Join.Node, err)
		}
		return Result{Outcome: Unchanged, Join: &j}, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return Result{}, fmt.Errorf("registry: read join of node %d: %w", c.Join.Node, err)
	}
	j := c.Join
	j.Shards = slices.Compact(slices.Sorted(slices.Values(j.Shards)))
	if err := put(b, joinKey(j.Node), j); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Created, Join: &j}, nil
}

func scanJoins(r pebble.Reader) ([]Join, error) {
	var out []Join
	err := scan(r, joinPrefix, func(value []byte) error {
		var j Join
		if err := msgpack.Unmarshal(value, &j); err != nil {
			return fmt.Errorf("registry: decode join: %w", err)
		}
		out = append(out, j)
		return nil
	})
	return out, err // key order = node order
}

// RecordJoin records that node j.Node joins the shards j.Shards at j.RaftAddress, unless a join
// of that node is recorded already; it returns the record that stands (the earlier one, if any).
func (c Client) RecordJoin(ctx context.Context, j Join) (Join, error) {
	res, err := c.propose(ctx, Command{Kind: KindRecordJoin, RecordJoin: &RecordJoinCommand{Join: j}}, fmt.Sprintf("record join of node %d", j.Node))
	if err != nil {
		return Join{}, err
	}
	if res.Join == nil {
		return Join{}, fmt.Errorf("registry: record join of node %d: result without the record", j.Node)
	}
	return *res.Join, nil
}

// Join returns the recorded join of node id (false: none).
func (v *View) Join(id uint64) (Join, bool) {
	i, ok := slices.BinarySearchFunc(v.joins, id, func(j Join, id uint64) int { return cmpID(j.Node, id) })
	if !ok {
		return Join{}, false
	}
	return v.joins[i], true
}

// Join returns the recorded join of node id (false: none).
func (r *Registry) Join(id uint64) (Join, bool) { return r.View().Join(id) }

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
