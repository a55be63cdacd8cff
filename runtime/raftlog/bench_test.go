package raftlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// benchHost starts a single node (the default configuration: in-process transport) with the
// test shard, and returns it with its database.
func benchHost(b *testing.B) *Host {
	b.Helper()
	dir := b.TempDir()
	h, err := NewHost(Config{Dir: filepath.Join(dir, "raft")})
	if err != nil {
		b.Fatal(err)
	}
	db, err := OpenDB(filepath.Join(dir, "shard"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(); db.Close() })
	if err := h.StartShard(testShard, db, &sumApplier{}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.WaitLeader(ctx, testShard); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkPropose: one proposal at a time (latency), and 64 in flight (throughput), on a single
// node.
func BenchmarkPropose(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		h := benchHost(b)
		ctx := context.Background()
		data := binary.AppendUvarint(nil, 1)
		b.ResetTimer()
		for range b.N {
			if _, err := h.Propose(ctx, testShard, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inflight64", func(b *testing.B) {
		h := benchHost(b)
		ctx := context.Background()
		data := binary.AppendUvarint(nil, 1)
		var inflight []*Proposal
		b.ResetTimer()
		for range b.N {
			inflight = append(inflight, h.ProposeAsync(testShard, data, time.Minute))
			if len(inflight) == 64 {
				if _, err := inflight[0].Wait(ctx); err != nil {
					b.Fatal(err)
				}
				inflight = inflight[1:]
			}
		}
		for _, p := range inflight {
			if _, err := p.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecoverFromSnapshot restores a 16 MiB snapshot (16,384 keys of 1 KiB).
func BenchmarkRecoverFromSnapshot(b *testing.B) {
	src, err := OpenDB(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	batch := src.NewBatch()
	for i := range 16384 {
		if err := batch.Set(binary.BigEndian.AppendUint32([]byte{0x02}, uint32(i)), bytes.Repeat([]byte{byte(i)}, 1024), nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		b.Fatal(err)
	}
	d := &diskStateMachine{db: src, applier: &sumApplier{}}
	snap, err := d.PrepareSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	var stream bytes.Buffer
	if err := d.SaveSnapshot(snap, &stream, make(chan struct{})); err != nil {
		b.Fatal(err)
	}
	dst, err := OpenDB(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.SetBytes(int64(stream.Len()))
	b.ResetTimer()
	for range b.N {
		if err := (&diskStateMachine{db: dst, applier: &sumApplier{}}).RecoverFromSnapshot(bytes.NewReader(stream.Bytes()), make(chan struct{})); err != nil {
			b.Fatal(err)
		}
	}
}
