package sdk

import (
	"errors"
	"fmt"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Terminal is an error the runtime must not retry: it becomes the invocation's result
// (OutputCommand with a Failure), and callers see it with the same code and metadata.
type Terminal struct {
	Code uint16
	Err  error
	// Metadata travels with the failure from protocol V6 on (Failure.metadata): to the journal, to
	// calling handlers and to the ingress's answer. Older protocols drop it.
	Metadata map[string]string
}

func (e *Terminal) Error() string { return e.Err.Error() }
func (e *Terminal) Unwrap() error { return e.Err }

// failure is e as the protocol's Failure, metadata sorted by key (a replay journals the same).
func (e *Terminal) failure() statemachine.Failure {
	f := statemachine.Failure{Code: uint32(e.Code), Message: e.Err.Error()}
	for _, k := range sortedKeys(e.Metadata) {
		f.Metadata = append(f.Metadata, statemachine.Metadata{Key: k, Value: e.Metadata[k]})
	}
	return f
}

// terminalOf is the terminal error of a failure received from the runtime.
func terminalOf(f statemachine.Failure) *Terminal {
	t := &Terminal{Code: uint16(f.Code), Err: errors.New(f.Message)}
	for _, md := range f.Metadata {
		if t.Metadata == nil {
			t.Metadata = map[string]string{}
		}
		t.Metadata[md.Key] = md.Value
	}
	return t
}

// TerminalError marks err as terminal, with an HTTP-style code (500 when omitted).
func TerminalError(err error, code ...uint16) error {
	if err == nil {
		return nil
	}
	t := &Terminal{Code: 500, Err: err}
	if len(code) > 0 {
		t.Code = code[0]
	}
	return t
}

// TerminalErrorf is TerminalError(fmt.Errorf(format, args...), code).
func TerminalErrorf(code uint16, format string, args ...any) error {
	return &Terminal{Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrorOption configures ToTerminalError and ToRetryableError: WithErrorCode, and WithMetadata
// (terminal errors only).
type ErrorOption interface{ applyError(*Terminal) }

type codeOption uint16

func (c codeOption) applyError(t *Terminal) { t.Code = uint16(c) }

// WithErrorCode sets the code of a terminal or retryable error (500 when not set).
func WithErrorCode(code uint16) ErrorOption { return codeOption(code) }

// ToTerminalError is sdk-go's restate.ToTerminalError: err as a *Terminal with the options'
// code and metadata. A *Terminal err, given no options, is returned as it is; nil stays nil.
//
//	return sdk.ToTerminalError(err, sdk.WithErrorCode(402), sdk.WithMetadata("reason", "card declined"))
func ToTerminalError(err error, opts ...ErrorOption) error {
	if err == nil {
		return nil
	}
	var t *Terminal
	if len(opts) == 0 && errors.As(err, &t) {
		return t
	}
	t = &Terminal{Code: 500, Err: err}
	for _, o := range opts {
		o.applyError(t)
	}
	return t
}

// IsTerminal reports whether err (or an error it wraps) is terminal.
func IsTerminal(err error) bool {
	var t *Terminal
	return errors.As(err, &t)
}

// TerminalMetadata is the metadata of err's *Terminal (nil when none).
func TerminalMetadata(err error) map[string]string {
	var t *Terminal
	if errors.As(err, &t) {
		return t.Metadata
	}
	return nil
}

// ErrorCode is the code of a terminal or retryable error, or 500 for any other non-nil error.
func ErrorCode(err error) uint16 {
	var t *Terminal
	if errors.As(err, &t) {
		return t.Code
	}
	if err == nil {
		return 0
	}
	return retryableCode(err)
}

// Retryable is an error the runtime retries, like any error that is not terminal, but with a
// code: the ErrorMessage of the failed attempt carries it, and a Run whose retries are used up
// journals its failure with it.
type Retryable struct {
	Code uint16
	Err  error
}

func (e *Retryable) Error() string { return fmt.Sprintf("[%d] %v", e.Code, e.Err) }
func (e *Retryable) Unwrap() error { return e.Err }

// RetryableError is sdk-go's restate.ToRetryableError: err made retryable with a code (500 when
// omitted). nil stays nil.
func RetryableError(err error, code ...uint16) error {
	if err == nil {
		return nil
	}
	r := &Retryable{Code: 500, Err: err}
	if len(code) > 0 {
		r.Code = code[0]
	}
	return r
}

// RetryableErrorf is RetryableError(fmt.Errorf(format, args...), code).
func RetryableErrorf(code uint16, format string, args ...any) error {
	return &Retryable{Code: code, Err: fmt.Errorf(format, args...)}
}

// IsRetryable reports whether err is, or wraps, a *Retryable that no *Terminal wraps.
func IsRetryable(err error) bool {
	var r *Retryable
	return !IsTerminal(err) && errors.As(err, &r)
}

// retryableCode is the code of err's *Retryable, or 500.
func retryableCode(err error) uint16 {
	var r *Retryable
	if errors.As(err, &r) {
		return r.Code
	}
	return 500
}

// retryableMessage is the message of err without a *Retryable's code prefix.
func retryableMessage(err error) string {
	var r *Retryable
	if errors.As(err, &r) && r == err {
		return r.Err.Error()
	}
	return err.Error()
}

// ErrCancelled is returned by the first await after the invocation was cancelled. Returning it
// (or any error wrapping it) ends the invocation with failure 409 "Cancelled".
var ErrCancelled error = &Terminal{Code: 409, Err: errors.New("Cancelled")}
