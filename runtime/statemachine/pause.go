package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/storage"
)

// pause stops a running or suspended invocation's attempts until it is resumed, as
// restate-server. An operator's pause of a suspended one pauses it at once: it forgets what it
// waited on (a resumed attempt replays its journal and waits again). An operator's pause of a
// running one asks its attempt to yield (PauseRequested; the invoker closes the request stream,
// so the SDK suspends after what it is doing, a Run's result journaled): the invocation pauses
// when the attempt ends without ending it, by its Suspension or by the invoker's Yielded pause
// (the attempt failed, or there was none). One by the invoker after its attempts were exhausted
// records the last failure. Notifications that arrive while it is paused are journaled and wake
// nothing. Already paused: Duplicate; not started or ended: Invalid (the admin API's 409);
// unknown: NotFound.
func (a *applier) pause(p *command.Pause) (Outcome, error) {
	st, found, err := a.status(p.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return Outcome{Code: NotFound, Message: "invocation " + p.ID.String() + " not found"}, nil
	}
	byInvoker := p.LastFailure != nil || p.Yielded
	switch st.Phase {
	case storage.Paused:
		return Outcome{Code: Duplicate}, nil
	case storage.Running, storage.Suspended:
	default:
		if byInvoker {
			return stale("pause of %s: it is %s", p.ID, st.Phase), nil
		}
		return Outcome{Code: Invalid, Message: "invocation " + p.ID.String() + " is " + st.Phase.String() + ", not running"}, nil
	}
	switch {
	case byInvoker && st.Phase != storage.Running:
		return stale("pause of %s: it is %s", p.ID, st.Phase), nil
	case p.Yielded && !st.PauseRequested:
		return stale("yielded pause of %s: no pause was requested", p.ID), nil
	case st.Phase == storage.Running && !byInvoker:
		if !st.PauseRequested {
			st.PauseRequested, st.ModifiedAt = true, a.now
			a.emit(Action{Kind: YieldAttempt, ID: p.ID})
			return Outcome{}, a.putStatus(p.ID, &st)
		}
		return Outcome{}, nil // asked already: the attempt is yielding
	}
	// The invoker records its own pause's event (with the last failure) before proposing it; an
	// operator's is recorded here, once it takes effect.
	if err := a.pauseNow(p.ID, &st, p.LastFailure, p.Attempts, p.LastFailure == nil || p.Yielded); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(p.ID, &st)
}

// pauseNow moves invocation id's status st to Paused; byOperator records restate-server's Paused
// journal event (without a failure) for an operator's pause.
func (a *applier) pauseNow(id ids.InvocationID, st *storage.InvocationStatus, last *command.Failure, attempts uint32, byOperator bool) error {
	st.Phase, st.Waiting, st.PauseRequested, st.ModifiedAt = storage.Paused, nil, false, a.now
	st.LastFailure, st.Attempts = last, attempts
	if !byOperator {
		return nil
	}
	return a.appendEvent(id, st, &storage.JournalEvent{Paused: &command.Paused{}})
}

// resume starts a new attempt of a paused or suspended invocation (a running one is left as it
// is), on the deployment Repin names if set (refused, with ReasonNotPinned, for a running
// invocation or one with nothing pinned, and with ReasonIncompatibleDeployment for one that does
// not speak the journal's protocol version). Not started yet: NotStarted (the admin API's 425);
// ended: Ended; unknown: NotFound.
func (a *applier) resume(r *command.Resume) (Outcome, error) {
	st, found, err := a.status(r.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return Outcome{Code: NotFound, Message: "invocation " + r.ID.String() + " not found"}, nil
	}
	switch st.Phase {
	case storage.Running:
		if r.Repin != nil && !(r.Repin.Latest && st.Pinned == nil) {
			return Outcome{Code: Invalid, Reason: ReasonNotPinned, Message: "invocation " + r.ID.String() + " is running: its deployment cannot change"}, nil
		}
		return Outcome{}, nil
	case storage.Paused, storage.Suspended:
	case storage.Completed:
		return Outcome{Code: Ended, Message: "invocation " + r.ID.String() + " has completed"}, nil
	default:
		return Outcome{Code: NotStarted, Message: "invocation " + r.ID.String() + " is " + st.Phase.String()}, nil
	}
	if rp := r.Repin; rp != nil {
		switch {
		case st.Pinned == nil && rp.Latest:
			// Nothing pinned: the next attempt picks the latest deployment anyway.
		case st.Pinned == nil:
			return Outcome{Code: Invalid, Reason: ReasonNotPinned, Message: "invocation " + r.ID.String() + " has no pinned deployment yet"}, nil
		default:
			if o := checkRepin(&st, rp); o != nil {
				return *o, nil
			}
			st.Pinned = &command.Pin{Deployment: rp.Deployment, Protocol: st.Pinned.Protocol}
		}
	}
	st.Phase, st.Waiting, st.ModifiedAt = storage.Running, nil, a.now
	a.emit(Action{Kind: StartAttempt, ID: r.ID})
	return Outcome{}, a.putStatus(r.ID, &st)
}
