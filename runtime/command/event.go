package command

import "github.com/resolute-run/resolute/runtime/ids"

// KindJournalEvent records an event of a running invocation beside its journal (see
// JournalEvent). Part of the log format: never renumber.
const KindJournalEvent Kind = 20

// JournalEvent is something that happened to running invocation ID that is not a journal entry,
// proposed by the invoker: restate-server's journal events, which its sys_journal_events table
// shows. The state machine stores it after the invocation's journal entries so far (its index
// and the log's time), in order, until the journal is dropped; an invocation that is not running
// gets Stale. Exactly one event field is set.
type JournalEvent struct {
	ID             ids.InvocationID `msgpack:"i"`
	TransientError *TransientError  `msgpack:"te,omitempty"`
	Paused         *Paused          `msgpack:"pa,omitempty"`
}

// Paused is the pause of an invocation whose attempts are exhausted (its retry policy pauses
// it), with the last attempt's failure, as restate-server's PausedEvent. The invoker proposes it
// just before the Pause.
type Paused struct {
	LastFailure *TransientError `msgpack:"lf,omitempty"`
}

// valid reports whether exactly one event is set.
func (e *JournalEvent) valid() bool {
	return e != nil && (e.TransientError != nil) != (e.Paused != nil)
}

// TransientError is an attempt that failed and will be retried: the error the deployment sent
// (ErrorMessage) or the runtime met, as restate-server's TransientErrorEvent.
type TransientError struct {
	Code       uint16 `msgpack:"c"`
	Message    string `msgpack:"m"`
	Stacktrace string `msgpack:"st,omitempty"`
	// DocCode is restate's documentation code of the error (restate_doc_error_code: "RT0007"
	// for an error the handler threw, "RT0016" for a journal mismatch, …); "" for none.
	DocCode string `msgpack:"dc,omitempty"`
	// RelatedCommandIndex, RelatedCommandName and RelatedCommandType name the command the SDK
	// was processing, when it said (nil, nil, 0: it did not). The type is the command's
	// protocol message type (a command type the runtime knows, else 0).
	RelatedCommandIndex *uint32 `msgpack:"ri,omitempty"`
	RelatedCommandName  *string `msgpack:"rn,omitempty"`
	RelatedCommandType  uint16  `msgpack:"rt,omitempty"`
}

// SameAs reports whether e says what o says, stack trace and documentation code aside (as
// restate-server compares a failed attempt's event with the one it proposed last).
func (e *TransientError) SameAs(o *TransientError) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.Code == o.Code && e.Message == o.Message && e.RelatedCommandType == o.RelatedCommandType &&
		eqPtr(e.RelatedCommandIndex, o.RelatedCommandIndex) && eqPtr(e.RelatedCommandName, o.RelatedCommandName)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
