package invoker

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels. Attempt errors wrap one of them, so callers and logs can classify failures with
// errors.Is.
var (
	// ErrStale says the invocation is no longer running the way this attempt assumed (completed,
	// suspended by someone else, wrong command index, leadership lost). The partition wraps it in
	// the error of a rejected proposal; the invoker then stops the attempt without retrying.
	ErrStale = errors.New("invoker: stale attempt")
	// ErrProtocolViolation: the deployment sent something the protocol does not allow.
	ErrProtocolViolation = errors.New("invoker: protocol violation")
	// ErrUnexpectedResponse: the deployment answered with a non-2xx status or a wrong content type.
	ErrUnexpectedResponse = errors.New("invoker: unexpected response")
	// ErrStreamClosed: the response ended without End, Suspension or Error.
	ErrStreamClosed = errors.New("invoker: stream closed without End, Suspension or Error")
	// ErrAbortTimeout: after the request stream was closed, the deployment did not finish in time.
	ErrAbortTimeout = errors.New("invoker: abort timeout")
	// ErrUnknownTarget: a Call or OneWayCall names a service or handler the resolver does not know.
	ErrUnknownTarget = errors.New("invoker: unknown call target")
	// ErrAborted: the attempt was stopped by Abort, AbortAll or Close.
	ErrAborted = errors.New("invoker: aborted")
)

// SDKError is the content of an ErrorMessage sent by the deployment: a failed attempt.
type SDKError struct {
	Code       uint32
	Message    string
	Stacktrace string
	// RelatedCommandIndex, when set, names the command the SDK was processing; so may its
	// name and its protocol message type.
	RelatedCommandIndex *uint32
	RelatedCommandName  *string
	RelatedCommandType  *uint32
}

func (e *SDKError) Error() string {
	s := fmt.Sprintf("invoker: deployment error %d: %s", e.Code, e.Message)
	if e.RelatedCommandIndex != nil {
		s += fmt.Sprintf(" (command %d)", *e.RelatedCommandIndex)
	}
	return s
}

// failure is an attempt's outcome when it did not finish the invocation: the cause plus how the
// retry loop should treat it.
type failure struct {
	err error
	// delay overrides the policy's next delay (ErrorMessage.next_retry_delay, Retry-After).
	delay time.Duration
	// noBump keeps retry_count_since_last_stored_entry unchanged: the deployment never ran the
	// handler (no deployment, version mismatch), as the official invoker does.
	noBump bool
	// terminal asks the loop to fail the invocation now (ErrorMessage behavior FAIL).
	terminal bool
}

func failed(err error) *failure { return &failure{err: err} }

func protocolViolation(format string, args ...any) *failure {
	return failed(fmt.Errorf("%w: %s", ErrProtocolViolation, fmt.Sprintf(format, args...)))
}
