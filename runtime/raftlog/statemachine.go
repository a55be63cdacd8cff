package raftlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Applier is one shard's deterministic state machine.
type Applier interface {
	// Apply applies one log entry's data into batch (an indexed batch: reads through it see its
	// own earlier writes) and returns the result for the proposer. It must be deterministic. An
	// error means storage failure and stops the shard; rejected commands go in the result.
	Apply(batch *pebble.Batch, data []byte) (result []byte, err error)
	// Committed is called after the batch holding the preceding Apply calls is committed.
	Committed()
}

// appliedIndexKey is outside every table of the appliers (their keys start with a byte >= 0x01).
var appliedIndexKey = []byte{0x00, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}

// recoveringKey marks a database whose recovery from a snapshot has begun and not ended: its
// contents are neither the old state nor the snapshot's. It is written (with the old contents
// deleted) before the first key of a snapshot and removed, with the applied index written, in the
// last batch; Open empties a database that still holds it.
var recoveringKey = []byte{0x00, 'r', 'e', 'c', 'o', 'v', 'e', 'r', 'i', 'n', 'g'}

// DefaultRecoverBatchBytes bounds the pebble batches in which a snapshot is restored.
const DefaultRecoverBatchBytes = 4 << 20

// diskStateMachine adapts an Applier over a pebble DB to dragonboat's IOnDiskStateMachine.
type diskStateMachine struct {
	db      *pebble.DB
	applier Applier
	// applied is the last index applied (or recovered) into db, for ShardInfo.
	applied atomic.Uint64
	// recoverBatchBytes bounds each batch of RecoverFromSnapshot (default
	// DefaultRecoverBatchBytes); onRecoverBatch, if set, sees the size of each one committed.
	recoverBatchBytes int
	onRecoverBatch    func(bytes int)
}

var _ sm.IOnDiskStateMachine = (*diskStateMachine)(nil)

// Open returns the applied index recorded in the database. A database left by a recovery cut
// short (a crash while a snapshot streamed in) is emptied first: it then reads as a replica that
// applied nothing, and dragonboat recovers again from the snapshot it recorded before it began
// (a snapshot received is kept on disk until recovered from and synced).
func (d *diskStateMachine) Open(<-chan struct{}) (uint64, error) {
	if _, closer, err := d.db.Get(recoveringKey); err == nil {
		closer.Close()
		b := d.db.NewBatch()
		defer b.Close()
		if err := deleteAll(d.db, b); err != nil {
			return 0, err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return 0, fmt.Errorf("raftlog: empty a database left by a cut-short snapshot recovery: %w", err)
		}
		if r, ok := d.applier.(Resetter); ok {
			r.Reset()
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return 0, fmt.Errorf("raftlog: read recovery marker: %w", err)
	}
	idx, err := appliedIndex(d.db)
	if err != nil {
		return 0, err
	}
	d.applied.Store(idx)
	return idx, nil
}

func appliedIndex(db pebble.Reader) (uint64, error) {
	v, closer, err := db.Get(appliedIndexKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("raftlog: read applied index: %w", err)
	}
	defer closer.Close()
	return binary.BigEndian.Uint64(v), nil
}

func (d *diskStateMachine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	b := d.db.NewIndexedBatch()
	defer b.Close()
	if err := d.apply(b, entries); err != nil {
		// Nothing of this batch is committed: caches filled while applying it are wrong.
		if r, ok := d.applier.(Resetter); ok {
			r.Reset()
		}
		return nil, err
	}
	d.applied.Store(entries[len(entries)-1].Index)
	d.applier.Committed()
	return entries, nil
}

func (d *diskStateMachine) apply(b *pebble.Batch, entries []sm.Entry) error {
	for i := range entries {
		res, err := d.applier.Apply(b, entries[i].Cmd)
		if err != nil {
			return fmt.Errorf("raftlog: apply entry %d: %w", entries[i].Index, err)
		}
		entries[i].Result = sm.Result{Value: 1, Data: res}
	}
	last := entries[len(entries)-1].Index
	if err := b.Set(appliedIndexKey, binary.BigEndian.AppendUint64(nil, last), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("raftlog: commit up to %d: %w", last, err)
	}
	return nil
}

func (d *diskStateMachine) Lookup(any) (any, error) {
	return nil, errors.New("raftlog: lookup not supported, read pebble directly")
}

func (d *diskStateMachine) Sync() error { return d.db.Flush() }

func (d *diskStateMachine) PrepareSnapshot() (any, error) { return d.db.NewSnapshot(), nil }

// SaveSnapshot writes every key and value as (uvarint len, bytes) pairs, straight from an
// iterator over the pebble snapshot: it holds one key and value at a time.
func (d *diskStateMachine) SaveSnapshot(ctx any, w io.Writer, done <-chan struct{}) error {
	snap := ctx.(*pebble.Snapshot)
	defer snap.Close()
	it, err := snap.NewIter(nil)
	if err != nil {
		return err
	}
	defer it.Close()
	var buf []byte
	for ok := it.First(); ok; ok = it.Next() {
		select {
		case <-done:
			return sm.ErrSnapshotStopped
		default:
		}
		buf = binary.AppendUvarint(buf[:0], uint64(len(it.Key())))
		buf = append(buf, it.Key()...)
		buf = binary.AppendUvarint(buf, uint64(len(it.Value())))
		buf = append(buf, it.Value()...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return it.Error()
}

// RecoverFromSnapshot replaces the whole database with the snapshot's keys, streaming them into
// pebble in batches of about recoverBatchBytes, so that a snapshot larger than memory can be
// restored. The first batch deletes every key and sets recoveringKey (synced); the last one
// writes the snapshot's applied index and deletes the marker (synced, which makes the batches
// before it durable too: they share pebble's write-ahead log). A crash or an error in between
// leaves the marker, and Open empties the database; dragonboat then recovers again from its
// snapshot file, whose record says the applied index found at Open (0) is below it.
func (d *diskStateMachine) RecoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	if err := d.recoverFromSnapshot(r, done); err != nil {
		// What the applier cached no longer holds.
		if r, ok := d.applier.(Resetter); ok {
			r.Reset()
		}
		return err
	}
	if r, ok := d.applier.(Resetter); ok {
		r.Reset()
	}
	d.applier.Committed()
	return nil
}

func (d *diskStateMachine) recoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	limit := d.recoverBatchBytes
	if limit <= 0 {
		limit = DefaultRecoverBatchBytes
	}
	b := d.db.NewBatch()
	defer func() {
		if b != nil {
			b.Close()
		}
	}()
	// commit commits b and starts the next batch.
	commit := func(opts *pebble.WriteOptions) error {
		n := b.Len()
		err := b.Commit(opts)
		b.Close()
		b = d.db.NewBatch()
		if err != nil {
			return fmt.Errorf("raftlog: commit recovered snapshot: %w", err)
		}
		if d.onRecoverBatch != nil {
			d.onRecoverBatch(n)
		}
		return nil
	}
	if err := deleteAll(d.db, b); err != nil {
		return err
	}
	if err := b.Set(recoveringKey, nil, nil); err != nil {
		return err
	}
	if err := commit(pebble.Sync); err != nil {
		return err
	}
	d.applied.Store(0)
	var applied []byte
	br := &byteReader{r: bufio.NewReaderSize(r, 64<<10)}
	for {
		k, err := br.chunk()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("raftlog: read snapshot: %w", err)
		}
		v, err := br.chunk()
		if err != nil {
			return fmt.Errorf("raftlog: read snapshot: %w", err)
		}
		select {
		case <-done:
			return sm.ErrSnapshotStopped
		default:
		}
		if bytes.Equal(k, appliedIndexKey) {
			applied = v // written last: it says the recovery is complete
			continue
		}
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
		if int(b.Len()) >= limit {
			if err := commit(pebble.NoSync); err != nil {
				return err
			}
		}
	}
	if applied != nil {
		if err := b.Set(appliedIndexKey, applied, nil); err != nil {
			return err
		}
	}
	if err := b.Delete(recoveringKey, nil); err != nil {
		return err
	}
	if err := commit(pebble.Sync); err != nil {
		return err
	}
	if len(applied) == 8 {
		d.applied.Store(binary.BigEndian.Uint64(applied))
	}
	return nil
}

// deleteAll adds to b the deletion of every key in db: a range deletion from key 0x00 to just
// past the last key (so no key byte value can escape it), and a point deletion of the empty key
// if it exists. A range deletion starting at the empty key breaks pebble v2.1.7's iterators
// (wrong spans; an invariant panic in race builds): see TestDeleteAllThenIterate.
func deleteAll(db *pebble.DB, b *pebble.Batch) error {
	it, err := db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("raftlog: open iterator: %w", err)
	}
	emptyKey := it.First() && len(it.Key()) == 0
	var end []byte
	if it.Last() {
		end = append(append([]byte(nil), it.Key()...), 0)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("raftlog: find last key: %w", err)
	}
	if emptyKey {
		if err := b.Delete([]byte{}, nil); err != nil {
			return err
		}
	}
	if start := []byte{0x00}; bytes.Compare(start, end) < 0 {
		return b.DeleteRange(start, end, nil)
	}
	return nil
}

// Resetter is implemented by appliers that cache what they read: Reset is called after a
// snapshot replaced the database's contents.
type Resetter interface{ Reset() }

func (d *diskStateMachine) Close() error { return nil }

type byteReader struct{ r *bufio.Reader }

func (b *byteReader) ReadByte() (byte, error) { return b.r.ReadByte() }

func (b *byteReader) chunk() ([]byte, error) {
	n, err := binary.ReadUvarint(b)
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(b.r, out); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return out, nil
}

// OpenDB opens (creating if needed) a shard's pebble database.
func OpenDB(dir string) (*pebble.DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("raftlog: create %s: %w", dir, err)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{}})
	if err != nil {
		return nil, fmt.Errorf("raftlog: open pebble at %s: %w", dir, err)
	}
	return db, nil
}

type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}
func (pebbleLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (pebbleLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
