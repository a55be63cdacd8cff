package sdk

import (
	"errors"
	"fmt"
)

// Terminal is an error the runtime must not retry: it becomes the invocation's result
// (OutputCommand with a Failure), and callers see it with the same code.
type Terminal struct {
	Code uint16
	Err  error
}

func (e *Terminal) Error() string { return e.Err.Error() }
func (e *Terminal) Unwrap() error { return e.Err }

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

// IsTerminal reports whether err (or an error it wraps) is terminal.
func IsTerminal(err error) bool {
	var t *Terminal
	return errors.As(err, &t)
}

// ErrorCode is the code of a terminal error, or 500 for any other non-nil error.
func ErrorCode(err error) uint16 {
	var t *Terminal
	if errors.As(err, &t) {
		return t.Code
	}
	if err == nil {
		return 0
	}
	return 500
}

// ErrCancelled is returned by the first await after the invocation was cancelled. Returning it
// (or any error wrapping it) ends the invocation with failure 409 "Cancelled".
var ErrCancelled error = &Terminal{Code: 409, Err: errors.New("Cancelled")}
