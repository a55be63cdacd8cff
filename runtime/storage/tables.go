package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// get reads key into out (msgpack); found is false when the key is absent.
func get(r pebble.Reader, key []byte, out any) (found bool, err error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: get %x: %w", key, err)
	}
	defer closer.Close()
	if err := msgpack.Unmarshal(v, out); err != nil {
		return false, fmt.Errorf("storage: decode %x: %w", key, err)
	}
	return true, nil
}

func getRaw(r pebble.Reader, key []byte) ([]byte, bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: get %x: %w", key, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

func put(w pebble.Writer, key []byte, v any) error {
	data, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("storage: encode %x: %w", key, err)
	}
	return w.Set(key, data, nil)
}

// scan calls fn for each key/value with the prefix, in key order, until fn returns false.
func scan(r pebble.Reader, prefix []byte, fn func(key, value []byte) (bool, error)) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("storage: iterate %x: %w", prefix, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		more, err := fn(it.Key(), it.Value())
		if err != nil || !more {
			return err
		}
	}
	return it.Error()
}

// Status reads an invocation's status.
func Status(r pebble.Reader, id ids.InvocationID) (InvocationStatus, bool, error) {
	var s InvocationStatus
	ok, err := get(r, statusKey(id), &s)
	return s, ok, err
}

// PutStatus writes an invocation's status and keeps the active index in step with its phase.
func PutStatus(w pebble.Writer, id ids.InvocationID, s *InvocationStatus) error {
	if err := put(w, statusKey(id), s); err != nil {
		return err
	}
	if s.Phase == Running {
		return w.Set(activeKey(id), nil, nil)
	}
	return w.Delete(activeKey(id), nil)
}

// ActiveInvocations lists the invocations whose attempt should be running, in id order.
func ActiveInvocations(r pebble.Reader) ([]ids.InvocationID, error) {
	var out []ids.InvocationID
	err := scan(r, []byte{tableActive}, func(k, _ []byte) (bool, error) {
		id, err := ids.FromBytes(k[1:])
		if err != nil {
			return false, fmt.Errorf("storage: active key %x: %w", k, err)
		}
		out = append(out, id)
		return true, nil
	})
	return out, err
}

// journalRecord is the journal table's record: the entry (command.Entry's encoding, so that
// reading it as a command.Entry works) and the log's time when it was appended (0 in records
// written before it was kept).
type journalRecord struct {
	Type    uint16      `msgpack:"t"`
	Payload []byte      `msgpack:"p,omitempty"`
	At      int64       `msgpack:"a,omitempty"`
	Call    *CallRecord `msgpack:"c,omitempty"`
}

// CallRecord is what the state machine made of a Call or OneWayCall command: the callee
// invocation it created and the callee's resolution at that time (its service and handler
// types, the retention it was given, its trace), which the command itself does not carry.
// sys_journal shows the call as restate-server does from it.
type CallRecord struct {
	Callee      ids.InvocationID    `msgpack:"i"`
	ServiceType command.ServiceType `msgpack:"st"`
	HandlerType command.HandlerType `msgpack:"ht,omitempty"`
	Retention   *command.Retention  `msgpack:"rt,omitempty"`
	Trace       *command.Trace      `msgpack:"tr,omitempty"`
}

// JournalRecord is one stored journal entry as a scan reads it.
type JournalRecord struct {
	Entry command.Entry
	// At is the log's time it was appended at (0 in records written before it was kept).
	At int64
	// Call is set on a Call or OneWayCall command the state machine carried out.
	Call *CallRecord
}

// AppendJournal writes entry at index, appended at the log's time at (ms since the epoch).
func AppendJournal(w pebble.Writer, id ids.InvocationID, index uint32, e command.Entry, at int64) error {
	return put(w, journalKey(id, index), &journalRecord{Type: e.Type, Payload: e.Payload, At: at})
}

// AppendJournalCall writes a Call or OneWayCall command at index with what the state machine
// made of it.
func AppendJournalCall(w pebble.Writer, id ids.InvocationID, index uint32, e command.Entry, at int64, call *CallRecord) error {
	return put(w, journalKey(id, index), &journalRecord{Type: e.Type, Payload: e.Payload, At: at, Call: call})
}

// JournalEntry reads one entry.
func JournalEntry(r pebble.Reader, id ids.InvocationID, index uint32) (command.Entry, bool, error) {
	var e command.Entry
	ok, err := get(r, journalKey(id, index), &e)
	return e, ok, err
}

// Journal reads all entries of an invocation in order.
func Journal(r pebble.Reader, id ids.InvocationID) ([]command.Entry, error) {
	var out []command.Entry
	err := scan(r, journalPrefix(id), func(_, v []byte) (bool, error) {
		var e command.Entry
		if err := msgpack.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("storage: decode journal entry of %s: %w", id, err)
		}
		out = append(out, e)
		return true, nil
	})
	return out, err
}

// PushInbox appends an invocation to a key's inbox.
func PushInbox(w pebble.Writer, service, key string, seq uint64, id ids.InvocationID) error {
	return w.Set(inboxKey(service, key, seq), id.Bytes(), nil)
}

// PopInbox removes and returns the first invocation in a key's inbox.
func PopInbox(rw pebble.Reader, w pebble.Writer, service, key string) (ids.InvocationID, bool, error) {
	var first []byte
	var id ids.InvocationID
	err := scan(rw, inboxPrefix(service, key), func(k, v []byte) (bool, error) {
		first = append([]byte(nil), k...)
		var err error
		id, err = ids.FromBytes(v)
		return false, err
	})
	if err != nil || first == nil {
		return ids.InvocationID{}, false, err
	}
	return id, true, w.Delete(first, nil)
}

// DeleteInbox removes the invocation queued at seq in a key's inbox (cancelled before it ran).
func DeleteInbox(w pebble.Writer, service, key string, seq uint64) error {
	return w.Delete(inboxKey(service, key, seq), nil)
}

// InboxLength counts a key's inbox (for introspection and tests).
func InboxLength(r pebble.Reader, service, key string) (int, error) {
	n := 0
	err := scan(r, inboxPrefix(service, key), func(_, _ []byte) (bool, error) { n++; return true, nil })
	return n, err
}

// Lock returns the invocation holding a key's lock.
func Lock(r pebble.Reader, service, key string) (ids.InvocationID, bool, error) {
	v, ok, err := getRaw(r, lockKey(service, key))
	if err != nil || !ok {
		return ids.InvocationID{}, false, err
	}
	id, err := ids.FromBytes(v)
	return id, err == nil, err
}

// PutLock gives a key's lock to id.
func PutLock(w pebble.Writer, service, key string, id ids.InvocationID) error {
	return w.Set(lockKey(service, key), id.Bytes(), nil)
}

// DeleteLock frees a key's lock.
func DeleteLock(w pebble.Writer, service, key string) error {
	return w.Delete(lockKey(service, key), nil)
}

// StateValue reads one state entry of (service, key).
func StateValue(r pebble.Reader, service, key string, name []byte) ([]byte, bool, error) {
	return getRaw(r, stateKey(service, key, name))
}

// PutState writes one state entry.
func PutState(w pebble.Writer, service, key string, name, value []byte) error {
	return w.Set(stateKey(service, key, name), value, nil)
}

// DeleteState removes one state entry.
func DeleteState(w pebble.Writer, service, key string, name []byte) error {
	return w.Delete(stateKey(service, key, name), nil)
}

// DeleteAllState removes every state entry of (service, key). It deletes point by point: range
// tombstones in the memtable make every later read of the partition slower until compaction.
func DeleteAllState(rw interface {
	pebble.Reader
	pebble.Writer
}, service, key string) error {
	var keys [][]byte
	err := scan(rw, statePrefix(service, key), func(k, _ []byte) (bool, error) {
		keys = append(keys, append([]byte(nil), k...))
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := rw.Delete(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// StateEntry is one state key and value.
type StateEntry struct {
	Key   []byte
	Value []byte
}

// AllState reads every state entry of (service, key), ordered by state key.
func AllState(r pebble.Reader, service, key string) ([]StateEntry, error) {
	p := statePrefix(service, key)
	var out []StateEntry
	err := scan(r, p, func(k, v []byte) (bool, error) {
		out = append(out, StateEntry{Key: append([]byte(nil), k[len(p):]...), Value: append([]byte(nil), v...)})
		return true, nil
	})
	return out, err
}

// PutOutbox stores an outbox message under seq.
func PutOutbox(w pebble.Writer, seq uint64, m *command.OutboxMessage) error {
	return put(w, outboxKey(seq), m)
}

// OutboxEntry is a stored outbox message.
type OutboxEntry struct {
	Seq     uint64
	Message command.OutboxMessage
}

// Outbox reads up to limit messages with seq >= from, in order.
func Outbox(r pebble.Reader, from uint64, limit int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: outboxKey(from), UpperBound: []byte{tableOutbox + 1}})
	if err != nil {
		return nil, fmt.Errorf("storage: iterate outbox: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		var m command.OutboxMessage
		if err := msgpack.Unmarshal(it.Value(), &m); err != nil {
			return nil, fmt.Errorf("storage: decode outbox message: %w", err)
		}
		out = append(out, OutboxEntry{Seq: binary.BigEndian.Uint64(it.Key()[1:]), Message: m})
	}
	return out, it.Error()
}

// TruncateOutbox removes messages with seq <= upTo, point by point from the outbox head (the
// last truncated seq), which it then advances. Range tombstones would be simpler, but every read
// of the partition pays for them while they sit in the memtable.
func TruncateOutbox(rw interface {
	pebble.Reader
	pebble.Writer
}, upTo uint64) error {
	head, err := Counter(rw, MetaOutboxHead)
	if err != nil || upTo <= head {
		return err
	}
	for seq := head + 1; seq <= upTo; seq++ {
		if err := rw.Delete(outboxKey(seq), nil); err != nil {
			return err
		}
	}
	return PutCounter(rw, MetaOutboxHead, upTo)
}

// OutboxHead is the last truncated outbox seq: undelivered messages start after it.
func OutboxHead(r pebble.Reader) (uint64, error) { return Counter(r, MetaOutboxHead) }

// IdempotentInvocation returns the invocation registered for an idempotency key.
func IdempotentInvocation(r pebble.Reader, t command.Target, idem string) (ids.InvocationID, bool, error) {
	v, ok, err := getRaw(r, idempotencyKey(t.Service, t.Key, t.Handler, idem))
	if err != nil || !ok {
		return ids.InvocationID{}, false, err
	}
	id, err := ids.FromBytes(v)
	return id, err == nil, err
}

// PutIdempotentInvocation registers id for an idempotency key.
func PutIdempotentInvocation(w pebble.Writer, t command.Target, idem string, id ids.InvocationID) error {
	return w.Set(idempotencyKey(t.Service, t.Key, t.Handler, idem), id.Bytes(), nil)
}

// DeleteIdempotentInvocation removes the idempotency entry of (target, key).
func DeleteIdempotentInvocation(w pebble.Writer, t command.Target, idem string) error {
	return w.Delete(idempotencyKey(t.Service, t.Key, t.Handler, idem), nil)
}

// Dedup returns the last seq applied from producer (0 when none).
func Dedup(r pebble.Reader, producer uint32) (uint64, error) {
	return Counter(r, dedupKey(producer))
}

// PutDedup records the last seq applied from producer.
func PutDedup(w pebble.Writer, producer uint32, seq uint64) error {
	return w.Set(dedupKey(producer), binary.BigEndian.AppendUint64(nil, seq), nil)
}

// Counter reads a u64 stored at key (0 when absent).
func Counter(r pebble.Reader, key []byte) (uint64, error) {
	v, ok, err := getRaw(r, key)
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("storage: counter %x has %d bytes", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Meta keys.
var (
	MetaAppliedIndex = metaKey("applied")
	MetaOutboxSeq    = metaKey("outbox-seq")
	MetaInboxSeq     = metaKey("inbox-seq")
	MetaOutboxHead   = metaKey("outbox-head")
	// MetaFenceTerm is the latest leadership that fenced off earlier attempts (command.Fence).
	MetaFenceTerm = metaKey("fence-term")
)

// PutCounter writes a u64 at key.
func PutCounter(w pebble.Writer, key []byte, v uint64) error {
	return w.Set(key, binary.BigEndian.AppendUint64(nil, v), nil)
}

// NextCounter increments the counter at key and returns its new value.
func NextCounter(rw interface {
	pebble.Reader
	pebble.Writer
}, key []byte) (uint64, error) {
	v, err := Counter(rw, key)
	if err != nil {
		return 0, err
	}
	v++
	return v, PutCounter(rw, key, v)
}

// Timer is a durable timer: at WakeTime (ms since the Unix epoch) the leader fires it. A
// CompletionID of 0 starts a scheduled invocation; otherwise it completes a SleepCommand.
type Timer struct {
	WakeTime     int64
	ID           ids.InvocationID
	CompletionID uint32
}

// PutTimer stores a timer.
func PutTimer(w pebble.Writer, t Timer) error { return w.Set(timerKey(t), nil, nil) }

// DeleteTimer removes a timer.
func DeleteTimer(w pebble.Writer, t Timer) error { return w.Delete(timerKey(t), nil) }

// HasTimer reports whether the timer is stored.
func HasTimer(r pebble.Reader, t Timer) (bool, error) {
	_, ok, err := getRaw(r, timerKey(t))
	return ok, err
}

// Timers lists up to limit timers in wake-time order (limit <= 0: all).
func Timers(r pebble.Reader, limit int) ([]Timer, error) {
	var out []Timer
	err := scan(r, []byte{tableTimers}, func(k, _ []byte) (bool, error) {
		if len(k) != 1+8+ids.RawLength+4 {
			return false, fmt.Errorf("storage: timer key %x has %d bytes", k, len(k))
		}
		id, err := ids.FromBytes(k[9 : 9+ids.RawLength])
		if err != nil {
			return false, err
		}
		out = append(out, Timer{
			WakeTime:     int64(binary.BigEndian.Uint64(k[1:9])),
			ID:           id,
			CompletionID: binary.BigEndian.Uint32(k[9+ids.RawLength:]),
		})
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}
