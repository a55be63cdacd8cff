package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/storage"
)

// journalEvent stores an event the invoker proposed for a running invocation, as restate-server
// stores the journal events of an invoked invocation (others get Stale: the attempt that failed
// is over, or was fenced off).
func (a *applier) journalEvent(e *command.JournalEvent) (Outcome, error) {
	st, o, err := a.running(e.ID)
	if err != nil || o != nil {
		return deref(o), err
	}
	return Outcome{}, a.appendEvent(e.ID, &st, &storage.JournalEvent{TransientError: e.TransientError, Paused: e.Paused})
}

// appendEvent stores event ev of invocation id, whose status is st, after its journal entries so
// far, stamped with the log's time. The events go with the journal (storage.DeleteJournal).
func (a *applier) appendEvent(id ids.InvocationID, st *storage.InvocationStatus, ev *storage.JournalEvent) error {
	ev.At, ev.AfterEntry = a.now, st.JournalLength
	if ev.AfterEntry > 0 {
		ev.AfterEntry-- // the index of the last entry
	}
	return storage.AppendJournalEvent(a.rw, id, ev)
}
