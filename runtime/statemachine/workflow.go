package statemachine

import (
	"fmt"
	"math"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Workflows: a workflow's run handler executes once per workflow key (its invocation id is
// ids.Workflow(service, key), so a second submission finds the first); shared handlers run beside
// it and after it. When the run ends, a cleanup timer is armed for the run's retention; when it
// fires, the workflow's state, durable promises and the run's status and journal are removed, and
// the key may run again.

// cleanupCompletionID marks a workflow's cleanup timer (no SleepCommand may use it).
const cleanupCompletionID = math.MaxUint32

// workflowAlreadyInvoked is what a caller of a workflow's run gets when the run exists already,
// as restate-server answers (WORKFLOW_ALREADY_INVOKED_INVOCATION_ERROR).
var workflowAlreadyInvoked = command.Failure{Code: 409, Message: "the workflow method was already invoked"}

// WorkflowAlreadyInvoked is the failure a second request for a workflow's run answers with.
func WorkflowAlreadyInvoked() command.Failure { return workflowAlreadyInvoked }

// armCleanup schedules the removal of a workflow whose run just ended.
func (a *applier) armCleanup(id ids.InvocationID, st *storage.InvocationStatus) error {
	retention := st.Invocation.Retention
	if retention < 0 {
		retention = 0
	}
	wake := a.now + retention
	if wake < a.now { // overflow: keep for ever
		return nil
	}
	return a.armTimer(storage.Timer{WakeTime: wake, ID: id, CompletionID: cleanupCompletionID})
}

// purgeWorkflow removes an ended workflow run with its workflow's state and promises (its
// cleanup timer fired).
func (a *applier) purgeWorkflow(id ids.InvocationID) (Outcome, error) {
	st, found, err := a.status(id)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase != storage.Completed || !st.Invocation.Target.WorkflowRun() {
		return stale("cleanup of %s: not an ended workflow run", id), nil
	}
	return Outcome{}, a.remove(id, &st)
}

// remove deletes an ended invocation: status, journal, idempotency entry, and for a workflow's
// run the workflow's state and promises.
func (a *applier) remove(id ids.InvocationID, st *storage.InvocationStatus) error {
	t := st.Invocation.Target
	if t.WorkflowRun() {
		if err := storage.DeleteAllState(a.rw, t.Service, t.Key); err != nil {
			return err
		}
		if err := storage.DeletePromises(a.rw, t.Service, t.Key); err != nil {
			return err
		}
	}
	if k := st.Invocation.IdempotencyKey; k != "" {
		if err := storage.DeleteIdempotentInvocation(a.rw, t, k); err != nil {
			return err
		}
	}
	a.cache.remove(id)
	return storage.DeleteInvocation(a.rw, id)
}

// purge removes an ended invocation, or only its journal, at an operator's request; one that has
// not ended cannot be purged (Invalid: the admin API's 409).
func (a *applier) purge(p *command.Purge) (Outcome, error) {
	st, found, err := a.status(p.ID)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case !found:
		return Outcome{Code: NotFound, Message: "invocation " + p.ID.String() + " not found"}, nil
	case st.Phase != storage.Completed:
		return Outcome{Code: Invalid, Message: "invocation " + p.ID.String() + " is " + st.Phase.String() + ": only completed invocations can be purged"}, nil
	case p.JournalOnly:
		if err := storage.DeleteJournal(a.rw, p.ID); err != nil {
			return Outcome{}, err
		}
		st.JournalLength, st.CommandCount, st.ModifiedAt = 0, 0, a.now
		return Outcome{}, a.putStatus(p.ID, &st)
	}
	return Outcome{}, a.remove(p.ID, &st)
}

// getPromise answers a GetPromiseCommand now when the promise is completed, else registers the
// invocation as a listener.
func (a *applier) getPromise(id ids.InvocationID, st *storage.InvocationStatus, m *pb.GetPromiseCommandMessage) error {
	t := st.Invocation.Target
	p, _, err := storage.GetPromise(a.rw, t.Service, t.Key, m.Key)
	if err != nil {
		return err
	}
	if r := promises.Await(&p, command.Caller{ID: id, CompletionID: m.ResultCompletionId, Kind: command.CallerPromise}); r != nil {
		return a.appendNotification(id, st, protocol.GetPromiseCompletionType, promises.GetNotification(m.ResultCompletionId, *r), m.ResultCompletionId)
	}
	return storage.PutPromise(a.rw, t.Service, t.Key, m.Key, &p)
}

// peekPromise answers a PeekPromiseCommand at once.
func (a *applier) peekPromise(id ids.InvocationID, st *storage.InvocationStatus, m *pb.PeekPromiseCommandMessage) error {
	t := st.Invocation.Target
	p, _, err := storage.GetPromise(a.rw, t.Service, t.Key, m.Key)
	if err != nil {
		return err
	}
	var r *command.Result
	if p.Completed {
		r = &p.Result
	}
	return a.appendNotification(id, st, protocol.PeekPromiseCompletionType, promises.PeekNotification(m.ResultCompletionId, r), m.ResultCompletionId)
}

// completePromise completes a promise once; its listeners get the result through the outbox (they
// may include the completing invocation itself, whose status the caller holds).
func (a *applier) completePromise(id ids.InvocationID, st *storage.InvocationStatus, m *pb.CompletePromiseCommandMessage) error {
	t := st.Invocation.Target
	p, _, err := storage.GetPromise(a.rw, t.Service, t.Key, m.Key)
	if err != nil {
		return err
	}
	result := promises.CompletionOf(m)
	listeners, failure := promises.Complete(&p, result)
	if failure == nil {
		if err := storage.PutPromise(a.rw, t.Service, t.Key, m.Key, &p); err != nil {
			return err
		}
		for _, l := range listeners {
			if err := a.answer(l, &result); err != nil {
				return err
			}
		}
	}
	return a.appendNotification(id, st, protocol.CompletePromiseCompletionType, promises.CompleteNotification(m.ResultCompletionId, failure), m.ResultCompletionId)
}

// attachTarget is the invocation an AttachInvocationCommand or GetInvocationOutputCommand names.
func attachTarget(invocationID string, idem *pb.IdempotentRequestTarget, wf *pb.WorkflowTarget) (ids.InvocationID, error) {
	switch {
	case idem != nil:
		t := ids.Target{Service: idem.ServiceName, Key: idem.GetServiceKey(), Handler: idem.HandlerName}
		if idem.IdempotencyKey == "" {
			return ids.InvocationID{}, fmt.Errorf("idempotent request target %s/%s without an idempotency key", t.Service, t.Handler)
		}
		return ids.Idempotent(t, idem.ServiceKey != nil, idem.IdempotencyKey), nil
	case wf != nil:
		return ids.Workflow(wf.WorkflowName, wf.WorkflowKey), nil
	case invocationID != "":
		return ids.ParseInvocationID(invocationID)
	}
	return ids.InvocationID{}, fmt.Errorf("no target")
}

// requestAttach sends an attach (or output) request for target to its partition; a malformed
// target fails the invocation (no retry can fix it).
func (a *applier) requestAttach(id ids.InvocationID, st *storage.InvocationStatus, t protocol.MessageType, target ids.InvocationID, err error, c command.Caller) error {
	if err != nil {
		_, ferr := a.failInvocation(id, st, 400, fmt.Sprintf("%s: %v", t, err))
		return ferr
	}
	return a.sendOutbox(&command.OutboxMessage{Attach: &command.Attach{ID: target, Caller: c}})
}

// attachRequest answers an attach or output request from another invocation: at once when the
// invocation has ended, is unknown (404 "not found", as restate-server) or only the output now is
// wanted (not ready); else when it ends.
func (a *applier) attachRequest(m *command.Attach) (Outcome, error) {
	st, found, err := a.status(m.ID)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case !found:
		return Outcome{}, a.answer(m.Caller, &command.Result{Failure: &command.Failure{Code: 404, Message: "not found"}})
	case st.Phase == storage.Completed:
		return Outcome{}, a.answer(m.Caller, st.Result)
	case m.Caller.Kind == command.CallerOutput:
		return Outcome{}, a.sendOutbox(&command.OutboxMessage{Complete: &command.Completion{
			ID: m.Caller.ID, CompletionID: m.Caller.CompletionID, Kind: command.CallerOutput, NotReady: true}})
	case isCaller(&st, m.Caller):
		return Outcome{Code: Duplicate}, nil
	}
	st.Attached = append(st.Attached, m.Caller)
	return Outcome{}, a.putStatus(m.ID, &st)
}
