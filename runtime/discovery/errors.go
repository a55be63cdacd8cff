package discovery

import (
	"errors"
	"fmt"
)

// Restate error codes used by discovery.
const (
	// CodeUnreachable: the endpoint could not be reached, or answered with a non-2xx status.
	CodeUnreachable = "META0003"
	// CodeUnsupportedProtocol: the deployment's protocol range does not overlap the runtime's.
	CodeUnsupportedProtocol = "META0012"
	// CodeBadResponse: the discovery response is malformed or invalid.
	CodeBadResponse = "META0013"
)

// ErrBadURI is returned (wrapped) when the deployment URI is not an absolute http(s) URI.
var ErrBadURI = errors.New("discovery: bad deployment uri")

// Error is a discovery failure with a Restate error code.
type Error struct {
	Code    string
	Message string
	// Status is the HTTP status the endpoint answered with, 0 if it did not answer.
	Status int
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("[%s] %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("[%s] %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

func badResponse(format string, args ...any) *Error {
	return &Error{Code: CodeBadResponse, Message: fmt.Sprintf(format, args...)}
}
