package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// ActionKind says what the leader must do.
type ActionKind uint8

// Actions.
const (
	// StartAttempt: run (or resume) the invocation against its deployment, replaying its journal.
	StartAttempt ActionKind = iota + 1
	// Notify: the runtime appended notification Entry at Index; a live attempt must receive it.
	Notify
	// Finished: the invocation completed with Result; answer whoever waits for it.
	Finished
	// DeliverOutbox: the outbox has messages up to Seq.
	DeliverOutbox
	// StopAttempt: the invocation is no longer running (failed by the runtime); stop its attempt.
	StopAttempt
	// ArmTimer: a durable timer was stored; fire it (propose FireTimer) at WakeTime.
	ArmTimer
	// YieldAttempt: an operator paused the running invocation; its attempt must end without
	// ending it (close the request stream: the SDK suspends), then the invocation pauses.
	YieldAttempt
)

func (k ActionKind) String() string {
	switch k {
	case StartAttempt:
		return "start"
	case Notify:
		return "notify"
	case Finished:
		return "finished"
	case DeliverOutbox:
		return "deliver-outbox"
	case StopAttempt:
		return "stop"
	case ArmTimer:
		return "arm-timer"
	case YieldAttempt:
		return "yield"
	}
	return "unknown"
}

// Action is one thing for the leader to do after commit.
type Action struct {
	Kind   ActionKind
	ID     ids.InvocationID
	Index  uint32
	Entry  command.Entry
	Result *command.Result
	Seq    uint64
	// WakeTime and CompletionID describe the timer of an ArmTimer action.
	WakeTime     int64
	CompletionID uint32
	// Ended is set on the Finished action of an invocation's end (not on one answering a
	// duplicate request with a stored result): what the leader needs for its span.
	Ended *EndedInvocation
}

// EndedInvocation describes an invocation that just ended, for its span.
type EndedInvocation struct {
	Target    command.Target
	Trace     *command.Trace
	CreatedAt int64
}

// OutcomeCode is how a command was applied.
type OutcomeCode uint8

// Outcome codes.
const (
	// Applied: the command took effect.
	Applied OutcomeCode = 0
	// Duplicate: the command had already taken effect (same invocation id, seq or completion).
	Duplicate OutcomeCode = 1
	// Stale: the command belongs to an attempt that is no longer current, or to an invocation
	// that is not running.
	Stale OutcomeCode = 2
	// Invalid: the command is not allowed (e.g. state access from a stateless service).
	Invalid OutcomeCode = 3
	// NotFound: no invocation has the command's id.
	NotFound OutcomeCode = 4
	// Ended: the invocation had completed already.
	Ended OutcomeCode = 5
	// NotStarted: the invocation is inboxed or scheduled.
	NotStarted OutcomeCode = 6
	// Early: a timer or an expiry whose time the log has not reached yet (the proposer's clock
	// ran ahead of the log's): nothing changed; propose it again later.
	Early OutcomeCode = 7
)

// Outcome is the proposer's answer for one command.
type Outcome struct {
	Code    OutcomeCode `msgpack:"c"`
	Message string      `msgpack:"m,omitempty"`
	// Pending: a cancellation was journaled; it takes effect at the handler's next await.
	Pending bool `msgpack:"p,omitempty"`
	// Reason tells apart, for the admin API, the ways a command was Invalid (Reason* constants).
	Reason string `msgpack:"r,omitempty"`
	// Nonce, on a Duplicate invoke, is the existing invocation's Invocation.Nonce, and
	// ExecutionTime its execution time (a delayed send's; 0: none).
	Nonce         uint64 `msgpack:"n,omitempty"`
	ExecutionTime int64  `msgpack:"et,omitempty"`
	// Position, on every outcome of an Ingest, is its source's stored position after it (-1:
	// none): where the consumer reads from next.
	Position *int64 `msgpack:"ip,omitempty"`
}

// Reasons of an Invalid outcome that the admin API answers differently.
const (
	ReasonStillRunning     = "still-running"
	ReasonUnsupported      = "unsupported"
	ReasonMissingInput     = "missing-input"
	ReasonOutOfRange       = "out-of-range"
	ReasonIncompletePrefix = "incomplete-prefix"
	// ReasonNotPinned: a deployment change asked for an invocation that has none pinned, or
	// that is running (restate's CannotChangeDeploymentId).
	ReasonNotPinned = "not-pinned"
	// ReasonIncompatibleDeployment: the chosen deployment does not speak the protocol version
	// the invocation's journal was written in.
	ReasonIncompatibleDeployment = "incompatible-deployment"
)
