package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// PhaseCounts counts invocations by phase, indexed by Phase (index 0 unused).
type PhaseCounts [Paused + 1]int

// CountPhases counts the status table's invocations by phase, for metrics. It reads every
// status (only its phase is decoded); callers read a snapshot, never the applier's batch.
func CountPhases(r pebble.Reader) (PhaseCounts, error) {
	var c PhaseCounts
	var s struct {
		Phase Phase `msgpack:"p"`
	}
	err := scan(r, []byte{tableStatus}, func(k, v []byte) (bool, error) {
		s.Phase = 0
		if err := msgpack.Unmarshal(v, &s); err != nil {
			return false, fmt.Errorf("storage: decode status %x: %w", k, err)
		}
		if int(s.Phase) < len(c) {
			c[s.Phase]++
		}
		return true, nil
	})
	return c, err
}

// CountTimers counts the timers table's timers (sleeps and delayed invocations not fired yet).
func CountTimers(r pebble.Reader) (int, error) {
	n := 0
	err := scan(r, []byte{tableTimers}, func(_, _ []byte) (bool, error) {
		n++
		return true, nil
	})
	return n, err
}
