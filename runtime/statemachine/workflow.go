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

// Workflows: a workflow's run executes once per workflow key (its invocation id is
// ids.Workflow(service, key), so a second submission finds the first); shared handlers run beside
// it and after it. When the run ends it is kept for its retention like any invocation (see
// armRetention), and its removal also removes the workflow's state and durable promises, after
// which the key may run again.

// Completion ids of the timers that removed an ended invocation (cleanupCompletionID) or only its
// journal (journalCleanupCompletionID) before the expiry index replaced them; entries logged then
// still apply, and no SleepCommand may use them.
const (
	cleanupCompletionID        = math.MaxUint32
	journalCleanupCompletionID = math.MaxUint32 - 1
)

// reservedCompletionID reports whether a SleepCommand may not use completion id c.
func reservedCompletionID(c uint32) bool {
	return c == cleanupCompletionID || c == journalCleanupCompletionID
}

// workflowAlreadyInvoked is what a caller of a workflow's run gets when the run exists already,
// as restate-server answers (WORKFLOW_ALREADY_INVOKED_INVOCATION_ERROR).
var workflowAlreadyInvoked = command.Failure{Code: 409, Message: "the workflow method was already invoked"}

// WorkflowAlreadyInvoked is the failure a second request for a workflow's run answers with.
func WorkflowAlreadyInvoked() command.Failure { return workflowAlreadyInvoked }

// armRetention schedules the removal of an invocation that just ended, as its retention says:
// the journal after Retention.Journal, everything after Retention.Completion (0: now), through the
// expiry index. An invocation without a retention (logged before retention existed) is kept.
func (a *applier) armRetention(id ids.InvocationID, st *storage.InvocationStatus) error {
	r := st.Invocation.Retention
	if r == nil {
		return nil
	}
	if r.Completion <= 0 {
		return a.remove(id, st)
	}
	if r.Journal < r.Completion {
		if r.Journal <= 0 {
			if err := a.dropJournal(id, st); err != nil {
				return err
			}
		} else if err := a.expireAfter(id, r.Journal, true); err != nil {
			return err
		}
	}
	return a.expireAfter(id, r.Completion, false)
}

// expireAfter adds id to the expiry index ms from now (kept for ever when that is past the
// clock's range). The leader's cleaner proposes Expire for due entries: a per-invocation timer
// would keep every retained invocation in the leader's memory.
func (a *applier) expireAfter(id ids.InvocationID, ms int64, journalOnly bool) error {
	at := a.now + ms
	if at < a.now {
		return nil
	}
	return storage.PutExpiry(a.rw, storage.Expiry{At: at, ID: id, JournalOnly: journalOnly})
}

// expireDue applies the due entries of the expiry index the cleaner proposed; an entry no longer
// in the index was applied before (a duplicate proposal).
func (a *applier) expireDue(x *command.Expire) (Outcome, error) {
	out := Outcome{Code: Duplicate}
	for _, e := range x.Entries {
		if e.At > a.now {
			out = Outcome{Code: Early} // not due by the log's time: kept for a later Expire
			continue
		}
		se := storage.Expiry{At: e.At, ID: e.ID, JournalOnly: e.JournalOnly}
		found, err := storage.HasExpiry(a.rw, se)
		if err != nil {
			return Outcome{}, err
		}
		if !found {
			continue
		}
		if err := storage.DeleteExpiry(a.rw, se); err != nil {
			return Outcome{}, err
		}
		if _, err := a.expire(e.ID, e.JournalOnly); err != nil {
			return Outcome{}, err
		}
		out = Outcome{}
	}
	return out, nil
}

// expire removes an ended invocation whose retention is over (its cleanup timer fired), or only
// its journal.
func (a *applier) expire(id ids.InvocationID, journalOnly bool) (Outcome, error) {
	st, found, err := a.status(id)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase != storage.Completed {
		return stale("cleanup of %s: not an ended invocation", id), nil
	}
	if journalOnly {
		return Outcome{}, a.dropJournal(id, &st)
	}
	return Outcome{}, a.remove(id, &st)
}

// dropJournal deletes an ended invocation's journal and keeps its status.
func (a *applier) dropJournal(id ids.InvocationID, st *storage.InvocationStatus) error {
	if err := storage.DeleteJournal(a.rw, id); err != nil {
		return err
	}
	st.JournalLength, st.CommandCount, st.ModifiedAt = 0, 0, a.now
	return a.putStatus(id, st)
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
		return Outcome{}, a.dropJournal(p.ID, &st)
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
