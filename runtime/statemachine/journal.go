package statemachine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// appendEntry journals what a running attempt produced and applies its effects.
func (a *applier) appendEntry(e *command.AppendEntry) (Outcome, error) {
	st, o, err := a.running(e.ID)
	if err != nil || o != nil {
		return deref(o), err
	}
	pinOnce(&st, e.Pin)
	t := protocol.MessageType(e.Entry.Type)
	if t == protocol.ProposeRunCompletionType {
		return a.proposeRunCompletion(e.ID, &st, e.Entry.Payload)
	}
	if !t.IsCommand() && !t.IsCustom() {
		return Outcome{Code: Invalid, Message: fmt.Sprintf("%s cannot be journaled by a deployment", t)}, nil
	}
	if e.CommandIndex != st.CommandCount {
		return stale("command index %d, journal expects %d", e.CommandIndex, st.CommandCount), nil
	}
	if t.IsCommand() {
		msg, err := protocol.Decode(t, e.Entry.Payload)
		if err != nil {
			return a.failInvocation(e.ID, &st, 571, fmt.Sprintf("bad %s: %v", t, err))
		}
		if reason, code := a.checkAllowed(&st, t); reason != "" {
			return a.failInvocation(e.ID, &st, code, reason)
		}
		index := st.JournalLength
		if err := storage.AppendJournal(a.rw, e.ID, index, e.Entry, a.now); err != nil {
			return Outcome{}, err
		}
		st.CommandCount++
		st.JournalLength++
		st.ModifiedAt = a.now
		if err := a.applyCommand(e.ID, &st, index, e.Entry, msg, e.Call); err != nil {
			return Outcome{}, err
		}
	} else {
		if err := storage.AppendJournal(a.rw, e.ID, st.JournalLength, e.Entry, a.now); err != nil {
			return Outcome{}, err
		}
		st.CommandCount++
		st.JournalLength++
	}
	if st.Phase == storage.Completed {
		return Outcome{}, nil // applyCommand failed it and stored the status
	}
	return Outcome{}, a.putStatus(e.ID, &st)
}

// pinOnce records the deployment an attempt runs on when the invocation has none pinned yet (or
// only the deployment, chosen by an operator, without the protocol version).
func pinOnce(st *storage.InvocationStatus, p *command.Pin) {
	if p != nil && (st.Pinned == nil || st.Pinned.Protocol == 0) {
		pin := *p
		st.Pinned = &pin
	}
}

// checkAllowed returns why command type t may not be used by this invocation (and the failure
// code), or "".
func (a *applier) checkAllowed(st *storage.InvocationStatus, t protocol.MessageType) (string, uint16) {
	target := st.Invocation.Target
	if reason, code := objects.CheckAccess(target, t); reason != "" {
		return reason, code
	}
	switch t {
	case protocol.GetPromiseCommandType, protocol.PeekPromiseCommandType, protocol.CompletePromiseCommandType:
		if target.ServiceType != command.Workflow {
			return fmt.Sprintf("%s: service %s is not a workflow; durable promises belong to workflows", t, target.Service), 400
		}
	}
	return "", 0
}

// failInvocation ends the invocation with a terminal failure decided by the runtime.
func (a *applier) failInvocation(id ids.InvocationID, st *storage.InvocationStatus, code uint16, msg string) (Outcome, error) {
	a.emit(Action{Kind: StopAttempt, ID: id})
	if err := a.complete(id, st, &command.Result{Failure: &command.Failure{Code: code, Message: msg}}); err != nil {
		return Outcome{}, err
	}
	return Outcome{Code: Invalid, Message: msg}, nil
}

// applyCommand carries out the effects of a journaled command.
func (a *applier) applyCommand(id ids.InvocationID, st *storage.InvocationStatus, index uint32, entry command.Entry, msg proto.Message, call *command.CallResolution) error {
	target := st.Invocation.Target
	if n, handled, err := objects.ApplyState(a.rw, target, msg); handled || err != nil {
		if err != nil || n == nil {
			return err
		}
		return a.appendNotification(id, st, n.Type, n.Message, n.CompletionID)
	}
	switch m := msg.(type) {
	case *pb.SleepCommandMessage:
		if reservedCompletionID(m.ResultCompletionId) {
			_, err := a.failInvocation(id, st, 571, fmt.Sprintf("SleepCommand: completion id %d is reserved", m.ResultCompletionId))
			return err
		}
		return a.armTimer(storage.Timer{WakeTime: int64(m.WakeUpTime), ID: id, CompletionID: m.ResultCompletionId})
	case *pb.OutputCommandMessage:
		if f := m.GetFailure(); f != nil {
			st.Result = &command.Result{Failure: command.FailureFromProto(f)}
		} else {
			st.Result = &command.Result{Value: m.GetValue().GetContent()}
		}
	case *pb.CallCommandMessage:
		callee := command.Target{Service: m.ServiceName, Handler: m.HandlerName, Key: m.Key}
		caller := &command.Caller{ID: id, CompletionID: m.ResultCompletionId}
		return a.call(id, st, index, entry, callee, call, m.Parameter, m.Headers, m.GetIdempotencyKey(), caller, 0, m.InvocationIdNotificationIdx)
	case *pb.CompleteAwakeableCommandMessage:
		return a.completeAwakeable(id, st, m)
	case *pb.SendSignalCommandMessage:
		return a.sendSignal(id, st, m)
	case *pb.GetPromiseCommandMessage:
		return a.getPromise(id, st, m)
	case *pb.PeekPromiseCommandMessage:
		return a.peekPromise(id, st, m)
	case *pb.CompletePromiseCommandMessage:
		return a.completePromise(id, st, m)
	case *pb.AttachInvocationCommandMessage:
		dest, err := attachTarget(m.GetInvocationId(), m.GetIdempotentRequestTarget(), m.GetWorkflowTarget())
		return a.requestAttach(id, st, protocol.AttachInvocationCommandType, dest, err,
			command.Caller{ID: id, CompletionID: m.ResultCompletionId, Kind: command.CallerAttach})
	case *pb.GetInvocationOutputCommandMessage:
		dest, err := attachTarget(m.GetInvocationId(), m.GetIdempotentRequestTarget(), m.GetWorkflowTarget())
		return a.requestAttach(id, st, protocol.GetInvocationOutputCommandType, dest, err,
			command.Caller{ID: id, CompletionID: m.ResultCompletionId, Kind: command.CallerOutput})
	case *pb.OneWayCallCommandMessage:
		callee := command.Target{Service: m.ServiceName, Handler: m.HandlerName, Key: m.Key}
		return a.call(id, st, index, entry, callee, call, m.Parameter, m.Headers, m.GetIdempotencyKey(), nil, int64(m.InvokeTime), m.InvocationIdNotificationIdx)
	}
	return nil
}

// call creates the callee invocation (through the outbox), records it with the call's journal
// entry (index, entry), and journals its id for the caller.
func (a *applier) call(id ids.InvocationID, st *storage.InvocationStatus, index uint32, entry command.Entry, callee command.Target, res *command.CallResolution, param []byte, headers []*pb.Header, idem string, caller *command.Caller, invokeTime int64, idNotification uint32) error {
	if res == nil {
		_, err := a.failInvocation(id, st, 571, fmt.Sprintf("call to %s/%s was not resolved by the invoker", callee.Service, callee.Handler))
		return err
	}
	callee.ServiceType, callee.HandlerType = res.ServiceType, res.HandlerType
	var calleeID ids.InvocationID
	switch {
	case callee.WorkflowRun():
		// One run per workflow key; an idempotency key is ignored, as restate-server does.
		calleeID, idem = ids.Workflow(callee.Service, callee.Key), ""
	case idem != "":
		calleeID = ids.Idempotent(ids.Target{Service: callee.Service, Key: callee.Key, Handler: callee.Handler}, callee.Keyed(), idem)
	case callee.Keyed():
		calleeID = ids.Derive(id, index, ids.KeyedPartitionKey(callee.Service, callee.Key))
	default:
		calleeID = ids.Derive(id, index, derivedPartitionKey(id, index))
	}
	inv := &command.Invocation{ID: calleeID, Target: callee, Input: param, IdempotencyKey: idem, Caller: caller, ExecutionTime: invokeTime, Retention: res.Retention, Trace: res.Trace,
		InvokedBy: &command.InvokedBy{ID: id, Target: st.Invocation.Target}}
	if idem != "" {
		inv.Retention = res.IdempotentRetention
	}
	for _, h := range headers {
		inv.Headers = append(inv.Headers, command.Header{Key: h.Key, Value: h.Value})
	}
	if err := a.sendOutbox(&command.OutboxMessage{Invoke: inv}); err != nil {
		return err
	}
	rec := &storage.CallRecord{Callee: calleeID, ServiceType: callee.ServiceType, HandlerType: callee.HandlerType, Retention: inv.Retention, Trace: inv.Trace}
	if err := storage.AppendJournalCall(a.rw, id, index, entry, a.now, rec); err != nil {
		return err
	}
	n := &pb.CallInvocationIdCompletionNotificationMessage{CompletionId: idNotification, InvocationId: calleeID.String()}
	return a.appendNotification(id, st, protocol.CallInvocationIDCompletionType, n, idNotification)
}

// derivedPartitionKey spreads the stateless callees of one invocation over the key space.
func derivedPartitionKey(parent ids.InvocationID, index uint32) ids.PartitionKey {
	h := sha256.New()
	h.Write([]byte("pk"))
	h.Write(parent.Bytes())
	h.Write(binary.BigEndian.AppendUint32(nil, index))
	return ids.PartitionKey(binary.BigEndian.Uint64(h.Sum(nil)))
}

// proposeRunCompletion turns a proposed Run result into a journaled RunCompletionNotification.
func (a *applier) proposeRunCompletion(id ids.InvocationID, st *storage.InvocationStatus, payload []byte) (Outcome, error) {
	m := &pb.ProposeRunCompletionMessage{}
	if err := proto.Unmarshal(payload, m); err != nil {
		return a.failInvocation(id, st, 571, fmt.Sprintf("bad ProposeRunCompletion: %v", err))
	}
	if st.HasCompletion(m.ResultCompletionId) {
		return Outcome{Code: Duplicate}, nil
	}
	n := &pb.RunCompletionNotificationMessage{CompletionId: m.ResultCompletionId}
	if f := m.GetFailure(); f != nil {
		n.Result = &pb.RunCompletionNotificationMessage_Failure{Failure: f}
	} else {
		n.Result = &pb.RunCompletionNotificationMessage_Value{Value: &pb.Value{Content: m.GetValue()}}
	}
	if err := a.appendNotification(id, st, protocol.RunCompletionType, n, m.ResultCompletionId); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(id, st)
}
