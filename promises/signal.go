package promises

import (
	"fmt"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// Resolution is the Signal that resolves (value) or rejects (failure) the awakeable id. ok is
// false when no invocation of this server can wait on it: a legacy prom_1 id (a V1–V4 journal
// entry) or the reserved signal index 0.
func Resolution(id AwakeableID, result command.Result) (sig command.Signal, ok bool) {
	if id.Legacy || id.Index == 0 {
		return command.Signal{}, false
	}
	return command.Signal{ID: id.Invocation, Index: id.Index, Result: result}, true
}

// Rejection is the failure an awakeable rejected at the ingress carries: code 500 and the
// request body as the message, as restate-server does.
func Rejection(body []byte) command.Result {
	return command.Result{Failure: &command.Failure{Code: 500, Message: string(body)}}
}

// FromCompleteAwakeable is the Signal a handler's CompleteAwakeableCommand sends (ok false as for
// Resolution); a malformed awakeable id is an error.
func FromCompleteAwakeable(m *pb.CompleteAwakeableCommandMessage) (sig command.Signal, ok bool, err error) {
	id, err := Parse(m.AwakeableId)
	if err != nil {
		return command.Signal{}, false, fmt.Errorf("CompleteAwakeableCommand: %w", err)
	}
	var r command.Result
	if f := m.GetFailure(); f != nil {
		r.Failure = command.FailureFromProto(f)
	} else {
		r.Value = m.GetValue().GetContent()
	}
	sig, ok = Resolution(id, r)
	return sig, ok, nil
}

// FromSendSignal is the Signal a handler's SendSignalCommand sends to its target invocation, by
// index or by name, void, value or failure. A malformed target id, or neither index nor name, is
// an error.
func FromSendSignal(m *pb.SendSignalCommandMessage) (command.Signal, error) {
	target, err := ids.ParseInvocationID(m.TargetInvocationId)
	if err != nil {
		return command.Signal{}, fmt.Errorf("SendSignalCommand: %w", err)
	}
	sig := command.Signal{ID: target}
	switch x := m.SignalId.(type) {
	case *pb.SendSignalCommandMessage_Idx:
		sig.Index = x.Idx
	case *pb.SendSignalCommandMessage_Name:
		sig.Name = x.Name
	}
	if sig.Index == 0 && sig.Name == "" {
		return command.Signal{}, fmt.Errorf("SendSignalCommand without a signal index or name")
	}
	switch x := m.Result.(type) {
	case *pb.SendSignalCommandMessage_Failure:
		sig.Result.Failure = command.FailureFromProto(x.Failure)
	case *pb.SendSignalCommandMessage_Value:
		sig.Result.Value = x.Value.GetContent()
	default:
		sig.Void = true
	}
	return sig, nil
}

// Notification is the SignalNotification that journals sig in its invocation's journal.
func Notification(sig *command.Signal) *pb.SignalNotificationMessage {
	n := &pb.SignalNotificationMessage{}
	if sig.Name != "" {
		n.SignalId = &pb.SignalNotificationMessage_Name{Name: sig.Name}
	} else {
		n.SignalId = &pb.SignalNotificationMessage_Idx{Idx: sig.Index}
	}
	switch {
	case sig.Void:
		n.Result = &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}
	case sig.Result.Failure != nil:
		f := sig.Result.Failure
		n.Result = &pb.SignalNotificationMessage_Failure{Failure: f.Proto()}
	default:
		n.Result = &pb.SignalNotificationMessage_Value{Value: &pb.Value{Content: sig.Result.Value}}
	}
	return n
}
