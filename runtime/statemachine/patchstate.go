package statemachine

import (
	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/storage"
)

// mutationTarget is the exclusive target a state patch of (service, key) locks.
func mutationTarget(service, key string) command.Target {
	return command.Target{Service: service, Key: key, ServiceType: command.VirtualObject, HandlerType: command.Exclusive}
}

// patchState replaces a Virtual Object key's state, as an exclusive invocation of the key would:
// at once when the key is free, else when the invocations before it in the key's inbox are done
// (it waits there as a Mutation). A version that no longer matches leaves the state alone
// (Invalid when known at once).
func (a *applier) patchState(p *command.PatchState) (Outcome, error) {
	if _, found, err := a.status(p.ID); err != nil || found {
		return Outcome{Code: Duplicate}, err
	}
	t := mutationTarget(p.Service, p.Key)
	run, seq, err := objects.Admit(a.rw, t, p.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !run {
		st := storage.InvocationStatus{Phase: storage.Inboxed, InboxSeq: seq, Invocation: command.Invocation{ID: p.ID, Target: t},
			Mutation: p, CreatedAt: a.now, ModifiedAt: a.now}
		return Outcome{}, a.putStatus(p.ID, &st)
	}
	applied, err := objects.ReplaceState(a.rw, t, p.State, p.Version)
	if err != nil {
		return Outcome{}, err
	}
	if err := a.releaseLock(t, p.ID); err != nil {
		return Outcome{}, err
	}
	if !applied {
		return Outcome{Code: Invalid, Message: "the state of " + p.Service + "/" + p.Key + " is not at version " + p.Version}, nil
	}
	return Outcome{}, nil
}

// applyQueuedMutation applies a state patch that got the key's lock from the inbox, removes it
// and passes the lock on.
func (a *applier) applyQueuedMutation(id ids.InvocationID, st *storage.InvocationStatus) error {
	p, t := st.Mutation, st.Invocation.Target
	if _, err := objects.ReplaceState(a.rw, t, p.State, p.Version); err != nil {
		return err
	}
	a.cache.remove(id)
	if err := storage.DeleteInvocation(a.rw, id); err != nil {
		return err
	}
	return a.releaseLock(t, id)
}
