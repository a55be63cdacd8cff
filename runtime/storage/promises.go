package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// Promise is the promises table's record: a workflow's durable promise, keyed by (workflow,
// key, name). Until it is completed it holds the invocations waiting on it (GetPromiseCommand);
// once completed, its result, which never changes again.
type Promise struct {
	Completed bool             `msgpack:"d,omitempty"`
	Result    command.Result   `msgpack:"r"`
	Listeners []command.Caller `msgpack:"l,omitempty"`
}

// NamedPromise is a promise and its name.
type NamedPromise struct {
	Name    string
	Promise Promise
}

// GetPromise reads promise name of (service, key).
func GetPromise(r pebble.Reader, service, key, name string) (Promise, bool, error) {
	var p Promise
	ok, err := get(r, promiseKey(service, key, name), &p)
	return p, ok, err
}

// PutPromise writes promise name of (service, key).
func PutPromise(w pebble.Writer, service, key, name string, p *Promise) error {
	return put(w, promiseKey(service, key, name), p)
}

// Promises reads every promise of (service, key), ordered by name.
func Promises(r pebble.Reader, service, key string) ([]NamedPromise, error) {
	prefix := promisePrefix(service, key)
	var out []NamedPromise
	err := scan(r, prefix, func(k, v []byte) (bool, error) {
		var p Promise
		if err := msgpack.Unmarshal(v, &p); err != nil {
			return false, fmt.Errorf("storage: decode promise %q of %s/%s: %w", k[len(prefix):], service, key, err)
		}
		out = append(out, NamedPromise{Name: string(k[len(prefix):]), Promise: p})
		return true, nil
	})
	return out, err
}

// DeletePromises removes every promise of (service, key), point by point (see DeleteAllState).
func DeletePromises(rw interface {
	pebble.Reader
	pebble.Writer
}, service, key string) error {
	return deletePrefix(rw, promisePrefix(service, key))
}

// DeleteJournal removes an invocation's journal and its journal events (a purge of the journal
// only).
func DeleteJournal(rw interface {
	pebble.Reader
	pebble.Writer
}, id ids.InvocationID) error {
	if err := deletePrefix(rw, journalPrefix(id)); err != nil {
		return err
	}
	return deleteJournalEvents(rw, id)
}

// DeleteInvocation removes an invocation's status, journal and journal events (a purge). The
// caller makes sure nothing else refers to it: no timer, lock or inbox entry.
func DeleteInvocation(rw interface {
	pebble.Reader
	pebble.Writer
}, id ids.InvocationID) error {
	if err := DeleteJournal(rw, id); err != nil {
		return err
	}
	if err := rw.Delete(activeKey(id), nil); err != nil {
		return err
	}
	return rw.Delete(statusKey(id), nil)
}

// deletePrefix deletes every key with the prefix, point by point.
func deletePrefix(rw interface {
	pebble.Reader
	pebble.Writer
}, prefix []byte) error {
	var keys [][]byte
	err := scan(rw, prefix, func(k, _ []byte) (bool, error) {
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
