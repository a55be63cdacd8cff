package raftlog

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// sumApplier adds each entry's uvarint to a counter stored in pebble.
type sumApplier struct{ committed atomic.Int64 }

var sumKey = []byte{0x01, 's'}

func (s *sumApplier) Apply(b *pebble.Batch, data []byte) ([]byte, error) {
	n, _ := binary.Uvarint(data)
	cur := readSum(b)
	cur += n
	if err := b.Set(sumKey, binary.AppendUvarint(nil, cur), nil); err != nil {
		return nil, err
	}
	return binary.AppendUvarint(nil, cur), nil
}

func (s *sumApplier) Committed() { s.committed.Add(1) }

func readSum(r pebble.Reader) uint64 {
	v, c, err := r.Get(sumKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0
	}
	defer c.Close()
	n, _ := binary.Uvarint(v)
	return n
}

func startHost(t *testing.T, dir string) (*Host, *pebble.DB, chan bool) {
	t.Helper()
	leader := make(chan bool, 16)
	h, err := NewHost(Config{Dir: filepath.Join(dir, "raft"), OnLeaderChange: func(shard uint64, is bool) {
		if shard == 7 {
			leader <- is
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(filepath.Join(dir, "shard7"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.StartShard(7, db, &sumApplier{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.WaitLeader(ctx, 7); err != nil {
		t.Fatal(err)
	}
	return h, db, leader
}

func TestProposeApplyRestart(t *testing.T) {
	dir := t.TempDir()
	h, db, leader := startHost(t, dir)
	for is := false; !is; {
		select {
		case is = <-leader:
		case <-time.After(5 * time.Second):
			t.Fatal("no leader event")
		}
	}
	ctx := context.Background()
	var props []*Proposal
	for i := 1; i <= 100; i++ {
		props = append(props, h.ProposeAsync(7, binary.AppendUvarint(nil, uint64(i)), 5*time.Second))
	}
	var last uint64
	for _, p := range props {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last, _ = binary.Uvarint(res)
	}
	if last != 5050 || readSum(db) != 5050 {
		t.Fatalf("sum %d / %d, want 5050", last, readSum(db))
	}
	h.Close()
	db.Close()

	// Restart on the same directories: the state is there, and replaying the log does not apply
	// any entry twice.
	h, db, _ = startHost(t, dir)
	defer func() { h.Close(); db.Close() }()
	res, err := h.Propose(ctx, 7, binary.AppendUvarint(nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := binary.Uvarint(res); n != 5051 {
		t.Fatalf("after restart sum %d, want 5051", n)
	}
}

// TestMovedDataDirectory: a single node's data directory can be moved (or named by another path)
// and the node starts on it with its state.
func TestMovedDataDirectory(t *testing.T) {
	dir := t.TempDir()
	h, db, _ := startHost(t, filepath.Join(dir, "a"))
	if _, err := h.Propose(context.Background(), 7, binary.AppendUvarint(nil, 5)); err != nil {
		t.Fatal(err)
	}
	h.Close()
	db.Close()
	if err := os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	h, db, _ = startHost(t, filepath.Join(dir, "b"))
	defer func() { h.Close(); db.Close() }()
	if got := readSum(db); got != 5 {
		t.Fatalf("sum after move %d, want 5", got)
	}
}
