package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// JournalEvent is a stored journal event of an invocation (command.JournalEvent): what
// restate-server's sys_journal_events shows. Events are numbered from 1 per invocation in the
// order they were applied, and go with the journal (DeleteJournal, DeleteInvocation).
type JournalEvent struct {
	// At is the time of the log entry that recorded it (ms since the epoch).
	At int64 `msgpack:"a"`
	// AfterEntry is the index of the journal's last entry when it was recorded (0 for an
	// empty journal, as restate-server): it orders events among the journal's entries.
	AfterEntry     uint32                  `msgpack:"x"`
	TransientError *command.TransientError `msgpack:"te,omitempty"`
	Paused         *command.Paused         `msgpack:"pa,omitempty"`
}

func eventsPrefix(id ids.InvocationID) []byte { return newKey(tableEvents).id(id) }

// AppendJournalEvent stores e as invocation id's next event (one more than its last).
func AppendJournalEvent(rw interface {
	pebble.Reader
	pebble.Writer
}, id ids.InvocationID, e *JournalEvent) error {
	last, err := lastEventSeq(rw, id)
	if err != nil {
		return err
	}
	return put(rw, keyBuilder(eventsPrefix(id)).u32(last+1), e)
}

// lastEventSeq is the number of invocation id's last event, 0 if it has none.
func lastEventSeq(r pebble.Reader, id ids.InvocationID) (uint32, error) {
	prefix := eventsPrefix(id)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("storage: iterate events of %s: %w", id, err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()
	if len(k) != len(prefix)+4 {
		return 0, fmt.Errorf("storage: event key %x of %s: wrong length", k, id)
	}
	return binary.BigEndian.Uint32(k[len(prefix):]), nil
}

// deleteJournalEvents removes every event of invocation id.
func deleteJournalEvents(rw interface {
	pebble.Reader
	pebble.Writer
}, id ids.InvocationID) error {
	return deletePrefix(rw, eventsPrefix(id))
}

// ScanJournalEvents calls fn for every event of every invocation, by invocation and seq.
func ScanJournalEvents(r pebble.Reader, fn func(id ids.InvocationID, seq uint32, e *JournalEvent) bool) error {
	return scan(r, []byte{tableEvents}, eventScanner(fn))
}

// ScanJournalEventsOf calls fn for every event of invocation id, in order.
func ScanJournalEventsOf(r pebble.Reader, id ids.InvocationID, fn func(id ids.InvocationID, seq uint32, e *JournalEvent) bool) error {
	return scan(r, eventsPrefix(id), eventScanner(fn))
}

func eventScanner(fn func(id ids.InvocationID, seq uint32, e *JournalEvent) bool) func(k, v []byte) (bool, error) {
	return func(k, v []byte) (bool, error) {
		if len(k) < 1+4 {
			return false, fmt.Errorf("storage: event key %x too short", k)
		}
		id, err := ids.FromBytes(k[1 : len(k)-4])
		if err != nil {
			return false, fmt.Errorf("storage: event key %x: %w", k, err)
		}
		seq := binary.BigEndian.Uint32(k[len(k)-4:])
		var e JournalEvent
		if err := msgpack.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("storage: decode event %d of %s: %w", seq, id, err)
		}
		return fn(id, seq, &e), nil
	}
}
