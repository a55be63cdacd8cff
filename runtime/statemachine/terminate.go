package statemachine

import (
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// cancelSignal is the signal index that cancels an invocation (protocol V4+): the SDK fails the
// handler's next await with a terminal error, and cancels the calls it waits on itself.
const cancelSignal = 1

// The failures of terminated invocations, as restate-server words them (CANCELED and
// KILLED_INVOCATION_ERROR, code ABORTED = 409).
var (
	canceled = command.Failure{Code: 409, Message: "canceled"}
	killed   = command.Failure{Code: 409, Message: "killed"}
)

// terminate cancels or kills an invocation. One that has not started (inboxed, scheduled) is
// removed at once, either way, as restate-server does: whoever waits for it gets the failure,
// and nothing of it is kept (its output is unknown, its idempotency key free again). A running or suspended one is
// cancelled with the cancel signal in its journal (outcome Pending; a second cancel is a
// duplicate), or killed: its attempt stops, the calls it waits on are killed too, and it
// completes with the failure (callers answered, the key's lock passed on).
func (a *applier) terminate(t *command.Terminate) (Outcome, error) {
	st, found, err := a.status(t.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return Outcome{Code: NotFound, Message: "invocation " + t.ID.String() + " not found"}, nil
	}
	failure := canceled
	if t.Kill {
		failure = killed
	}
	switch st.Phase {
	case storage.Completed:
		return Outcome{Code: Ended, Message: "invocation " + t.ID.String() + " has completed already"}, nil
	case storage.Inboxed:
		if err := objects.Withdraw(a.rw, st.Invocation.Target, st.InboxSeq); err != nil {
			return Outcome{}, err
		}
		st.InboxSeq = 0
		return Outcome{}, a.abandon(t.ID, &st, failure)
	case storage.Scheduled:
		if err := storage.DeleteTimer(a.rw, storage.Timer{WakeTime: st.Invocation.ExecutionTime, ID: t.ID}); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, a.abandon(t.ID, &st, failure)
	}
	if !t.Kill {
		o, err := a.signal(&command.Signal{ID: t.ID, Index: cancelSignal, Void: true})
		if err == nil && o.Code == Applied {
			o.Pending = true
		}
		return o, err
	}
	a.emit(Action{Kind: StopAttempt, ID: t.ID})
	if err := a.killChildren(t.ID, &st); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.complete(t.ID, &st, &command.Result{Failure: &failure})
}

// abandon removes invocation id, which never started, answering everyone waiting for it with
// failure (the ingress callers, a calling invocation, the attached ones).
func (a *applier) abandon(id ids.InvocationID, st *storage.InvocationStatus, failure command.Failure) error {
	if err := a.answerAll(id, st, &command.Result{Failure: &failure}); err != nil {
		return err
	}
	return a.remove(id, st)
}

// killChildren kills, through the outbox, every invocation that id called and still waits on:
// the calls of its journal whose result has not arrived.
func (a *applier) killChildren(id ids.InvocationID, st *storage.InvocationStatus) error {
	journal, err := storage.Journal(a.rw, id)
	if err != nil {
		return err
	}
	callees := map[uint32]string{} // invocation id notification index → callee id
	var waiting []uint32           // invocation id notification indexes of unanswered calls
	for _, e := range journal {
		switch protocol.MessageType(e.Type) {
		case protocol.CallCommandType:
			var c pb.CallCommandMessage
			if proto.Unmarshal(e.Payload, &c) == nil && !st.HasCompletion(c.ResultCompletionId) {
				waiting = append(waiting, c.InvocationIdNotificationIdx)
			}
		case protocol.CallInvocationIDCompletionType:
			var n pb.CallInvocationIdCompletionNotificationMessage
			if proto.Unmarshal(e.Payload, &n) == nil {
				callees[n.CompletionId] = n.InvocationId
			}
		}
	}
	for _, idx := range waiting {
		child, err := ids.ParseInvocationID(callees[idx])
		if err != nil {
			continue // the call's id was never journaled: nothing was created
		}
		if err := a.sendOutbox(&command.OutboxMessage{Terminate: &command.Terminate{ID: child, Kill: true}}); err != nil {
			return err
		}
	}
	return nil
}
