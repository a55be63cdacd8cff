package storage

import (
	"slices"

	"github.com/resolute-run/resolute/runtime/command"
)

// Phase is where an invocation is in its lifecycle.
//
// Legal transitions:
//
//	(new) → Inboxed       exclusive handler, key locked by another invocation
//	(new) → Scheduled     the request has an execution time in the future (delayed send)
//	Scheduled → Inboxed / Running  its timer fired (as for a new invocation)
//	(new) → Running       otherwise
//	Inboxed → Running     the key's lock passed to it
//	Running → Suspended   the attempt suspended on notifications not yet in the journal
//	Suspended → Running   an awaited notification arrived
//	Running → Completed   End (with an Output), or a runtime failure
//	Suspended → Completed runtime failure only
//	Running, Suspended → Paused   paused by an operator, or its attempts were exhausted
//	Paused → Running      resumed; Paused → Completed  killed or failed
type Phase uint8

// Phases. Values are part of the storage format.
const (
	Inboxed   Phase = 1
	Running   Phase = 2
	Suspended Phase = 3
	Completed Phase = 4
	Scheduled Phase = 5
	Paused    Phase = 6
)

func (p Phase) String() string {
	switch p {
	case Inboxed:
		return "inboxed"
	case Running:
		return "running"
	case Suspended:
		return "suspended"
	case Completed:
		return "completed"
	case Scheduled:
		return "scheduled"
	case Paused:
		return "paused"
	}
	return "unknown"
}

// Waiting is what a suspended invocation waits for: any one of these wakes it.
type Waiting struct {
	Completions  []uint32 `msgpack:"c,omitempty"`
	Signals      []uint32 `msgpack:"s,omitempty"`
	NamedSignals []string `msgpack:"n,omitempty"`
}

// InvocationStatus is the status table's record.
type InvocationStatus struct {
	Phase Phase `msgpack:"p"`
	// Invocation is the request; its Input is cleared once stored as the journal's first entry.
	Invocation command.Invocation `msgpack:"i"`
	// CommandCount is the number of commands in the journal (the Input command included).
	CommandCount uint32 `msgpack:"cc"`
	// JournalLength is the number of entries (commands and notifications).
	JournalLength uint32 `msgpack:"jl"`
	// Completions lists the completion ids whose notification is in the journal, Signals the
	// signal ids and NamedSignals the signal names, so that suspension can check "already
	// arrived" (and a second signal be dropped) without a journal scan.
	Completions  []uint32 `msgpack:"cp,omitempty"`
	Signals      []uint32 `msgpack:"sg,omitempty"`
	NamedSignals []string `msgpack:"ns,omitempty"`
	Waiting      *Waiting `msgpack:"w,omitempty"`
	// Attached lists the calling invocations that called this one again with its idempotency
	// key while it ran; each gets the result as the original caller (Invocation.Caller) does.
	Attached []command.Caller `msgpack:"at,omitempty"`
	// Mutation is set on a state patch waiting in a key's inbox (not an invocation: it never
	// runs; it is applied when it gets the lock, and removed).
	Mutation *command.PatchState `msgpack:"mu,omitempty"`
	// LastFailure and Attempts: why and after how many attempts the invoker paused it.
	LastFailure *command.Failure `msgpack:"lf,omitempty"`
	Attempts    uint32           `msgpack:"na,omitempty"`
	// PauseRequested is set on a running invocation an operator paused: its attempt was asked
	// to yield (the invoker closes the request stream, so the SDK suspends), and the invocation
	// pauses when that attempt ends, as restate-server's.
	PauseRequested bool `msgpack:"pr,omitempty"`
	// Pinned is the deployment its attempts run on (see command.Pin); nil until an attempt
	// proposed something.
	Pinned     *command.Pin    `msgpack:"pn,omitempty"`
	Result     *command.Result `msgpack:"r,omitempty"`
	InboxSeq   uint64          `msgpack:"q,omitempty"`
	CreatedAt  int64           `msgpack:"ca"`
	ModifiedAt int64           `msgpack:"ma"`
	// InboxedAt, ScheduledAt and RunningAt are the log's times of its first move into a key's
	// inbox, into the timer table (a delayed invocation) and into running (0: never).
	InboxedAt   int64 `msgpack:"ia,omitempty"`
	ScheduledAt int64 `msgpack:"sa,omitempty"`
	RunningAt   int64 `msgpack:"ra,omitempty"`
	// CreatedUsing is the release (runtime/version) of the state machine that created it.
	CreatedUsing string `msgpack:"cv,omitempty"`
}

// HasCompletion reports whether the notification for completion id c is journaled.
func (s *InvocationStatus) HasCompletion(c uint32) bool { return containsU32(s.Completions, c) }

// HasSignal reports whether signal id c is journaled.
func (s *InvocationStatus) HasSignal(c uint32) bool { return containsU32(s.Signals, c) }

// HasNamedSignal reports whether a signal named n is journaled.
func (s *InvocationStatus) HasNamedSignal(n string) bool { return slices.Contains(s.NamedSignals, n) }

func containsU32(xs []uint32, x uint32) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
