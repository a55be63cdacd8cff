package invoker

import (
	"errors"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
)

// Journal events: an attempt that failed and will be retried is recorded with the invocation
// as a TransientError event (restate-server's sys_journal_events), one proposal per failed
// attempt, none on the success path. As restate-server's invoker, an event equal to the last
// one proposed for the invocation (same code, message and related command) is not proposed
// again unless the attempt appended a command since. The last attempt of a retry policy that
// pauses proposes a Paused event with its failure instead (the loop then proposes the Pause).

// maybeProposeEvent proposes the journal event of attempt a, which ended with f: only for an
// attempt that read a running invocation and failed in a way the retry loop retries or, at the
// end of the retry policy, pauses (not aborted, not stale, not terminal; the kill at the end of
// the policy has none). Called on the invocation's goroutine, after the attempt's proposals were
// settled, so the event lands after the journal entries they appended.
func (v *invocation) maybeProposeEvent(a *attempt, f *failure) {
	if a.progress {
		v.lastEvent = nil
	}
	if f == nil || v.ctx.Err() != nil || errors.Is(f.err, ErrStale) || f.terminal || a.target.Service == "" {
		return
	}
	te := transientError(a, f.err)
	if retry := a.policy.Retry; retry.Exhausted(a.number) {
		if retry.OnMaxAttempts != OnMaxAttemptsKill {
			v.proposeEvent(&command.JournalEvent{ID: v.id, Paused: &command.Paused{LastFailure: te}})
		}
		return
	}
	if te.SameAs(v.lastEvent) {
		return
	}
	v.lastEvent = te
	v.proposeEvent(&command.JournalEvent{ID: v.id, TransientError: te})
}

// proposeEvent proposes e without waiting for its outcome: a rejected event (the invocation
// moved on) is dropped.
func (v *invocation) proposeEvent(e *command.JournalEvent) {
	v.propose(command.Command{Kind: command.KindJournalEvent, JournalEvent: e})
}

// transientError is the event of attempt a's failure err: what the deployment's ErrorMessage
// said, or the runtime's error with code 500, as restate-server reports them.
func transientError(a *attempt, err error) *command.TransientError {
	f := terminalFailure(err)
	te := &command.TransientError{Code: f.Code, Message: f.Message, DocCode: docCode(a, err, f.Code)}
	var se *SDKError
	if errors.As(err, &se) {
		te.Stacktrace = se.Stacktrace
		te.RelatedCommandIndex, te.RelatedCommandName = se.RelatedCommandIndex, se.RelatedCommandName
		if t := se.RelatedCommandType; t != nil && *t <= 0xFFFF {
			if mt := protocol.MessageType(*t); mt.IsCommand() && mt.Known() {
				te.RelatedCommandType = uint16(mt)
			}
		}
	}
	return te
}

// docCode is restate-server's documentation code (restate_doc_error_code) of an attempt's
// failure, as its invoker's errors carry them.
func docCode(a *attempt, err error, code uint16) string {
	var se *SDKError
	switch {
	case errors.As(err, &se), errors.Is(err, ErrStreamClosed):
		switch code {
		case 570: // journal mismatch
			return "RT0016"
		case 571: // protocol violation
			return "RT0012"
		}
		return "RT0007"
	case errors.Is(err, ErrAbortTimeout):
		return "RT0001"
	case errors.Is(err, ErrProtocolViolation), errors.Is(err, ErrUnexpectedResponse):
		return "RT0012"
	case errors.Is(err, ErrUnknownTarget):
		return "RT0018"
	case a.deployment.ID == (ids.DeploymentID{}) && a.deployment.URI == "":
		return "RT0011" // no deployment for the service, or its pinned one is gone
	}
	return "RT0010" // the deployment could not be reached
}
