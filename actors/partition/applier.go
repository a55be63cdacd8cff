package partition

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// applier adapts the deterministic core to raftlog.Applier and hands committed actions on.
type applier struct {
	sm statemachine.StateMachine
	// pending collects actions of the batch being applied; only dragonboat's apply goroutine
	// touches it.
	pending []statemachine.Action
	publish func([]statemachine.Action)
	mu      sync.Mutex // guards publish swaps
}

func (a *applier) Apply(b *pebble.Batch, data []byte) ([]byte, error) {
	batch, err := command.Decode(data)
	if err != nil {
		// A log entry we cannot read is a bug or a newer format: stop rather than skip it.
		return nil, fmt.Errorf("partition %d: %w", a.sm.Partition, err)
	}
	outcomes, actions, err := a.sm.Apply(b, batch)
	if err != nil {
		return nil, err
	}
	a.pending = append(a.pending, actions...)
	return msgpack.Marshal(outcomes)
}

func (a *applier) Committed() {
	if len(a.pending) == 0 {
		return
	}
	actions := a.pending
	a.pending = nil
	a.mu.Lock()
	publish := a.publish
	a.mu.Unlock()
	if publish != nil {
		publish(actions)
	}
}

// Reset drops the state machine's cache after a snapshot replaced the tables.
func (a *applier) Reset() {
	a.pending = nil
	a.sm.Reset()
}

func (a *applier) setPublish(f func([]statemachine.Action)) {
	a.mu.Lock()
	a.publish = f
	a.mu.Unlock()
}
