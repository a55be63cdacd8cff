package statemachine

import (
	"slices"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/storage"
)

// maxCachedStatuses bounds the status cache; past it the cache starts over.
const maxCachedStatuses = 65536

// statusCache mirrors the status table for invocations in flight, so that the several commands
// of one invocation do not each read and decode its status from pebble. It is derived state:
// write-through (every status written to the batch is written here too), dropped whole when a
// batch fails or the tables are replaced, and it never changes what Apply computes. Completed
// invocations are evicted (they are rarely read again). Only the apply goroutine touches it.
type statusCache struct {
	m map[ids.InvocationID]storage.InvocationStatus
}

func (c *statusCache) get(id ids.InvocationID) (storage.InvocationStatus, bool) {
	st, ok := c.m[id]
	if !ok {
		return st, false
	}
	// Clip the slices so that appends by the caller never write into the cached entry's arrays.
	st.Completions = slices.Clip(st.Completions)
	st.Signals = slices.Clip(st.Signals)
	st.NamedSignals = slices.Clip(st.NamedSignals)
	return st, true
}

func (c *statusCache) put(id ids.InvocationID, st *storage.InvocationStatus) {
	if st.Phase == storage.Completed {
		delete(c.m, id)
		return
	}
	if c.m == nil || len(c.m) >= maxCachedStatuses {
		c.m = make(map[ids.InvocationID]storage.InvocationStatus)
	}
	c.m[id] = *st
}

func (c *statusCache) reset() { c.m = nil }

func (c *statusCache) remove(id ids.InvocationID) { delete(c.m, id) }

// status reads an invocation's status through the cache.
func (a *applier) status(id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	if st, ok := a.cache.get(id); ok {
		return st, true, nil
	}
	st, found, err := storage.Status(a.rw, id)
	if err == nil && found {
		a.cache.put(id, &st)
	}
	return st, found, err
}

// putStatus writes an invocation's status to the batch and the cache.
func (a *applier) putStatus(id ids.InvocationID, st *storage.InvocationStatus) error {
	if err := storage.PutStatus(a.rw, id, st); err != nil {
		return err
	}
	a.cache.put(id, st)
	return nil
}
