package statemachine

import (
	"fmt"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// signal journals a signal (an awakeable's resolution, or a SendSignalCommand's signal) as a
// SignalNotification of its invocation. The first signal with a given index or name wins; a
// later one is a duplicate. A signal for an invocation that ended, or never existed, is dropped.
// An invocation that has not started yet (inboxed, scheduled) finds it in its journal.
func (a *applier) signal(s *command.Signal) (Outcome, error) {
	st, found, err := a.status(s.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase == storage.Completed {
		return stale("signal for %s: the invocation is not in flight", s.ID), nil
	}
	n := &pb.SignalNotificationMessage{}
	var wakes bool
	if s.Name != "" {
		if st.HasNamedSignal(s.Name) {
			return Outcome{Code: Duplicate}, nil
		}
		n.SignalId = &pb.SignalNotificationMessage_Name{Name: s.Name}
		st.NamedSignals = append(st.NamedSignals, s.Name)
		wakes = st.Waiting != nil && containsString(st.Waiting.NamedSignals, s.Name)
	} else {
		if st.HasSignal(s.Index) {
			return Outcome{Code: Duplicate}, nil
		}
		n.SignalId = &pb.SignalNotificationMessage_Idx{Idx: s.Index}
		st.Signals = append(st.Signals, s.Index)
		wakes = st.Waiting != nil && containsU32(st.Waiting.Signals, s.Index)
	}
	switch {
	case s.Void:
		n.Result = &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}
	case s.Result.Failure != nil:
		f := s.Result.Failure
		n.Result = &pb.SignalNotificationMessage_Failure{Failure: &pb.Failure{Code: uint32(f.Code), Message: f.Message}}
	default:
		n.Result = &pb.SignalNotificationMessage_Value{Value: &pb.Value{Content: s.Result.Value}}
	}
	if err := a.notify(s.ID, &st, protocol.SignalNotificationType, n, wakes); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(s.ID, &st)
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// completeAwakeable sends a handler's CompleteAwakeableCommand to the awakeable's invocation
// (through the outbox, whichever partition it lives in). A malformed id fails the invocation: no
// retry can fix it. A legacy prom_1 id names a V1–V4 journal entry, which no invocation of this
// server has, so it is dropped, as is the reserved signal index 0.
func (a *applier) completeAwakeable(id ids.InvocationID, st *storage.InvocationStatus, m *pb.CompleteAwakeableCommandMessage) error {
	aw, err := promises.Parse(m.AwakeableId)
	if err != nil {
		_, err := a.failInvocation(id, st, 400, fmt.Sprintf("CompleteAwakeableCommand: %v", err))
		return err
	}
	if aw.Legacy || aw.Index == 0 {
		return nil
	}
	sig := &command.Signal{ID: aw.Invocation, Index: aw.Index}
	if f := m.GetFailure(); f != nil {
		sig.Result.Failure = &command.Failure{Code: uint16(f.Code), Message: f.Message}
	} else {
		sig.Result.Value = m.GetValue().GetContent()
	}
	return a.sendOutbox(&command.OutboxMessage{Signal: sig})
}

// sendSignal sends a SendSignalCommand's signal to its target invocation through the outbox.
func (a *applier) sendSignal(id ids.InvocationID, st *storage.InvocationStatus, m *pb.SendSignalCommandMessage) error {
	target, err := ids.ParseInvocationID(m.TargetInvocationId)
	if err != nil {
		_, err := a.failInvocation(id, st, 400, fmt.Sprintf("SendSignalCommand: %v", err))
		return err
	}
	sig := &command.Signal{ID: target}
	switch x := m.SignalId.(type) {
	case *pb.SendSignalCommandMessage_Idx:
		sig.Index = x.Idx
	case *pb.SendSignalCommandMessage_Name:
		sig.Name = x.Name
	}
	if sig.Index == 0 && sig.Name == "" {
		_, err := a.failInvocation(id, st, 400, "SendSignalCommand without a signal index or name")
		return err
	}
	switch x := m.Result.(type) {
	case *pb.SendSignalCommandMessage_Failure:
		sig.Result.Failure = &command.Failure{Code: uint16(x.Failure.GetCode()), Message: x.Failure.GetMessage()}
	case *pb.SendSignalCommandMessage_Value:
		sig.Result.Value = x.Value.GetContent()
	default:
		sig.Void = true
	}
	return a.sendOutbox(&command.OutboxMessage{Signal: sig})
}
