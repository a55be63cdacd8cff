package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/storage"
)

// pause stops a running or suspended invocation's attempts until it is resumed, as
// restate-server: an operator's pause of a running one stops its attempt; one by the invoker
// (its attempts exhausted) records the last failure. A suspended one forgets what it waited on
// (a resumed attempt replays its journal and waits again). Notifications that arrive while it is
// paused are journaled and wake nothing. Already paused: Duplicate; not started or ended: Invalid
// (the admin API's 409); unknown: NotFound.
func (a *applier) pause(p *command.Pause) (Outcome, error) {
	st, found, err := a.status(p.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return Outcome{Code: NotFound, Message: "invocation " + p.ID.String() + " not found"}, nil
	}
	switch st.Phase {
	case storage.Paused:
		return Outcome{Code: Duplicate}, nil
	case storage.Running, storage.Suspended:
	default:
		if p.LastFailure != nil {
			return stale("pause of %s: it is %s", p.ID, st.Phase), nil
		}
		return Outcome{Code: Invalid, Message: "invocation " + p.ID.String() + " is " + st.Phase.String() + ", not running"}, nil
	}
	if p.LastFailure != nil && st.Phase != storage.Running {
		return stale("pause of %s: it is %s", p.ID, st.Phase), nil
	}
	if st.Phase == storage.Running && p.LastFailure == nil {
		a.emit(Action{Kind: StopAttempt, ID: p.ID})
	}
	st.Phase, st.Waiting, st.ModifiedAt = storage.Paused, nil, a.now
	st.LastFailure, st.Attempts = p.LastFailure, p.Attempts
	return Outcome{}, a.putStatus(p.ID, &st)
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
