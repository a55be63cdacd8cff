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

// The Scan functions read a whole table in key order, for introspection (runtime/introspect).
// They decode keys and values; fn's arguments are copies it may keep. A false from fn stops
// the scan.

// ScanStatuses calls fn for every invocation's status record.
func ScanStatuses(r pebble.Reader, fn func(id ids.InvocationID, st *InvocationStatus) bool) error {
	return scan(r, []byte{tableStatus}, func(k, v []byte) (bool, error) {
		id, err := ids.FromBytes(k[1:])
		if err != nil {
			return false, fmt.Errorf("storage: status key %x: %w", k, err)
		}
		var st InvocationStatus
		if err := msgpack.Unmarshal(v, &st); err != nil {
			return false, fmt.Errorf("storage: decode status of %s: %w", id, err)
		}
		return fn(id, &st), nil
	})
}

// ScanJournals calls fn for every journal entry of every invocation, by invocation and index.
func ScanJournals(r pebble.Reader, fn func(id ids.InvocationID, index uint32, rec JournalRecord) bool) error {
	return scan(r, []byte{tableJournal}, journalScanner(fn))
}

// ScanJournalOf calls fn for every journal entry of invocation id, by index.
func ScanJournalOf(r pebble.Reader, id ids.InvocationID, fn func(id ids.InvocationID, index uint32, rec JournalRecord) bool) error {
	return scan(r, journalPrefix(id), journalScanner(fn))
}

func journalScanner(fn func(id ids.InvocationID, index uint32, rec JournalRecord) bool) func(k, v []byte) (bool, error) {
	return func(k, v []byte) (bool, error) {
		if len(k) < 1+4 {
			return false, fmt.Errorf("storage: journal key %x too short", k)
		}
		id, err := ids.FromBytes(k[1 : len(k)-4])
		if err != nil {
			return false, fmt.Errorf("storage: journal key %x: %w", k, err)
		}
		index := binary.BigEndian.Uint32(k[len(k)-4:])
		var rec journalRecord
		if err := msgpack.Unmarshal(v, &rec); err != nil {
			return false, fmt.Errorf("storage: decode journal entry %d of %s: %w", index, id, err)
		}
		return fn(id, index, JournalRecord{Entry: command.Entry{Type: rec.Type, Payload: rec.Payload}, At: rec.At, Call: rec.Call}), nil
	}
}

// ScanInboxes calls fn for every inbox entry: the key's service and key, its sequence number
// and the invocation (or state patch) waiting.
func ScanInboxes(r pebble.Reader, fn func(service, key string, seq uint64, id ids.InvocationID) bool) error {
	return scan(r, []byte{tableInbox}, func(k, v []byte) (bool, error) {
		kr := keyReader{b: k[1:]}
		service, key, seq := kr.str(), kr.str(), kr.u64()
		if kr.err != nil {
			return false, fmt.Errorf("storage: inbox key %x: %w", k, kr.err)
		}
		id, err := ids.FromBytes(v)
		if err != nil {
			return false, fmt.Errorf("storage: inbox entry %s/%s/%d: %w", service, key, seq, err)
		}
		return fn(service, key, seq, id), nil
	})
}

// ScanLocks calls fn for every locked key and the invocation holding it.
func ScanLocks(r pebble.Reader, fn func(service, key string, id ids.InvocationID) bool) error {
	return scan(r, []byte{tableLock}, func(k, v []byte) (bool, error) {
		kr := keyReader{b: k[1:]}
		service, key := kr.str(), kr.str()
		if kr.err != nil {
			return false, fmt.Errorf("storage: lock key %x: %w", k, kr.err)
		}
		id, err := ids.FromBytes(v)
		if err != nil {
			return false, fmt.Errorf("storage: lock of %s/%s: %w", service, key, err)
		}
		return fn(service, key, id), nil
	})
}

// ScanState calls fn for every state entry of every Virtual Object and workflow key.
func ScanState(r pebble.Reader, fn func(service, key string, name, value []byte) bool) error {
	return scan(r, []byte{tableState}, func(k, v []byte) (bool, error) {
		kr := keyReader{b: k[1:]}
		service, key := kr.str(), kr.str()
		if kr.err != nil {
			return false, fmt.Errorf("storage: state key %x: %w", k, kr.err)
		}
		return fn(service, key, append([]byte(nil), kr.b...), append([]byte(nil), v...)), nil
	})
}

// ScanPromises calls fn for every workflow promise.
func ScanPromises(r pebble.Reader, fn func(service, key, name string, p *Promise) bool) error {
	return scan(r, []byte{tablePromise}, func(k, v []byte) (bool, error) {
		kr := keyReader{b: k[1:]}
		service, key := kr.str(), kr.str()
		if kr.err != nil {
			return false, fmt.Errorf("storage: promise key %x: %w", k, kr.err)
		}
		var p Promise
		if err := msgpack.Unmarshal(v, &p); err != nil {
			return false, fmt.Errorf("storage: decode promise %q of %s/%s: %w", kr.b, service, key, err)
		}
		return fn(service, key, string(kr.b), &p), nil
	})
}

// ScanIdempotency calls fn for every idempotency key and the invocation it names.
func ScanIdempotency(r pebble.Reader, fn func(service, key, handler, idem string, id ids.InvocationID) bool) error {
	return scan(r, []byte{tableIdempotency}, func(k, v []byte) (bool, error) {
		kr := keyReader{b: k[1:]}
		service, key, handler, idem := kr.str(), kr.str(), kr.str(), kr.str()
		if kr.err != nil {
			return false, fmt.Errorf("storage: idempotency key %x: %w", k, kr.err)
		}
		id, err := ids.FromBytes(v)
		if err != nil {
			return false, fmt.Errorf("storage: idempotency entry %s/%s/%s/%s: %w", service, key, handler, idem, err)
		}
		return fn(service, key, handler, idem, id), nil
	})
}

// keyReader decodes the parts of a composite key (keyBuilder's encodings); the first error
// sticks.
type keyReader struct {
	b   []byte
	err error
}

var errShortKey = errors.New("key too short")

func (r *keyReader) str() string {
	if r.err != nil {
		return ""
	}
	n, used := binary.Uvarint(r.b)
	if used <= 0 || uint64(len(r.b)-used) < n {
		r.err = errShortKey
		return ""
	}
	s := string(r.b[used : used+int(n)])
	r.b = r.b[used+int(n):]
	return s
}

func (r *keyReader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errShortKey
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}
