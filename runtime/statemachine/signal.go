package statemachine

import (
	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"slices"
)

// signal journals a signal (an awakeable's resolution, or a SendSignalCommand's signal) as a
// SignalNotification of its invocation (built by package promises). The first signal with a
// given index wins (an awakeable resolves once); a later one is a duplicate. Signals by name are
// all journaled, in order. A signal for an invocation that ended, or
// never existed, is dropped. An invocation that has not started yet (inboxed, scheduled) finds it
// in its journal.
func (a *applier) signal(s *command.Signal) (Outcome, error) {
	st, found, err := a.status(s.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase == storage.Completed {
		return stale("signal for %s: the invocation is not in flight", s.ID), nil
	}
	var wakes bool
	if s.Name != "" {
		// Every signal of a name is journaled, in order, as restate-server does: a name carries
		// a stream of values (the SDKs' signal streams read them one by one).
		if !st.HasNamedSignal(s.Name) {
			st.NamedSignals = append(st.NamedSignals, s.Name)
		}
		wakes = st.Waiting != nil && slices.Contains(st.Waiting.NamedSignals, s.Name)
	} else {
		if st.HasSignal(s.Index) {
			return Outcome{Code: Duplicate}, nil
		}
		st.Signals = append(st.Signals, s.Index)
		wakes = st.Waiting != nil && containsU32(st.Waiting.Signals, s.Index)
	}
	if err := a.notify(s.ID, &st, protocol.SignalNotificationType, promises.Notification(s), wakes); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(s.ID, &st)
}

// completeAwakeable sends a handler's CompleteAwakeableCommand to the awakeable's invocation
// (through the outbox, whichever partition it lives in). A malformed id fails the invocation: no
// retry can fix it. An id no invocation here can wait on (legacy prom_1, index 0) is dropped.
func (a *applier) completeAwakeable(id ids.InvocationID, st *storage.InvocationStatus, m *pb.CompleteAwakeableCommandMessage) error {
	sig, ok, err := promises.FromCompleteAwakeable(m)
	if err != nil {
		_, err := a.failInvocation(id, st, 400, err.Error())
		return err
	}
	if !ok {
		return nil
	}
	return a.sendOutbox(&command.OutboxMessage{Signal: &sig})
}

// sendSignal sends a SendSignalCommand's signal to its target invocation through the outbox; a
// malformed one fails the invocation.
func (a *applier) sendSignal(id ids.InvocationID, st *storage.InvocationStatus, m *pb.SendSignalCommandMessage) error {
	sig, err := promises.FromSendSignal(m)
	if err != nil {
		_, err := a.failInvocation(id, st, 400, err.Error())
		return err
	}
	return a.sendOutbox(&command.OutboxMessage{Signal: &sig})
}
