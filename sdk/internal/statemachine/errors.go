package statemachine

import (
	"errors"
	"fmt"
)

// Error codes the SDK reports in ErrorMessage (shared core src/vm/errors.rs).
const (
	CodeInternal          = 500
	CodeJournalMismatch   = 570
	CodeProtocolViolation = 571
)

// Sentinels, tested with errors.Is.
var (
	// ErrJournalMismatch: the handler did something different from what the journal recorded.
	ErrJournalMismatch = errors.New("statemachine: journal mismatch")
	// ErrProtocolViolation: the runtime sent something the protocol does not allow here.
	ErrProtocolViolation = errors.New("statemachine: protocol violation")
	// ErrSuspended: the invocation suspended; the handler must stop.
	ErrSuspended = errors.New("statemachine: suspended")
	// ErrClosed: the invocation already ended (End, Suspension or Error was written).
	ErrClosed = errors.New("statemachine: closed")
	// ErrJournalEnd: a Machine told to StopAtJournalEnd stopped the handler where it went past
	// the journal. Nothing is written for it beyond the command the handler issued.
	ErrJournalEnd = errors.New("statemachine: the journal ends")
)

// CodedError is an error the Machine reported to the runtime as an ErrorMessage.
type CodedError struct {
	Code uint16
	Err  error
	// Command is the index of the command the error relates to, or -1.
	Command int
	// Journaled and Handler name the two commands of a journal mismatch that is about two
	// commands (Describe's words): the journal's, and the one the handler issued instead.
	Journaled, Handler string
}

func (e *CodedError) Error() string { return fmt.Sprintf("[%d] %v", e.Code, e.Err) }
func (e *CodedError) Unwrap() error { return e.Err }

func mismatch(index int, format string, args ...any) *CodedError {
	return &CodedError{
		Code:    CodeJournalMismatch,
		Err:     fmt.Errorf("%w at command %d: %s", ErrJournalMismatch, index, fmt.Sprintf(format, args...)),
		Command: index,
	}
}

// differs is the mismatch of the journal's command (journaled) with the handler's (handler) at
// index; detail, if set, says how two commands of one type differ.
func differs(index int, journaled, handler, detail string) *CodedError {
	e := mismatch(index, "the journal has %s, the handler did %s", journaled, handler)
	if detail != "" {
		e = mismatch(index, "the journal has %s, the handler did %s (%s)", journaled, handler, detail)
	}
	e.Journaled, e.Handler = journaled, handler
	return e
}

func violation(format string, args ...any) *CodedError {
	return &CodedError{
		Code:    CodeProtocolViolation,
		Err:     fmt.Errorf("%w: %s", ErrProtocolViolation, fmt.Sprintf(format, args...)),
		Command: -1,
	}
}

// StopError is how a Machine told to StopAtJournalEnd ended: at Command (an index as in
// CodedError), the first the handler could not replay from the journal.
type StopError struct {
	Command int
	Err     error
}

func (e *StopError) Error() string { return e.Err.Error() }
func (e *StopError) Unwrap() error { return e.Err }
