package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/storage"
)

// journalEvent stores an event the invoker proposed for a running invocation after its journal
// entries so far, stamped with the log's time, as restate-server stores the journal events of
// an invoked invocation (others get Stale: the attempt that failed is over, or was fenced off).
// The events go with the journal (storage.DeleteJournal).
func (a *applier) journalEvent(e *command.JournalEvent) (Outcome, error) {
	st, o, err := a.running(e.ID)
	if err != nil || o != nil {
		return deref(o), err
	}
	after := st.JournalLength
	if after > 0 {
		after-- // the index of the last entry
	}
	return Outcome{}, storage.AppendJournalEvent(a.rw, e.ID, &storage.JournalEvent{At: a.now, AfterEntry: after, TransientError: e.TransientError})
}
