package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/resolute-run/resolute/sdk"
)

// Sources of an error, as the ingress says them (x-restate-error-source header, "source" field).
const (
	// SourceIngress: the ingress refused or could not serve the request (a bad path or header, an
	// unknown service, an invocation not found, overload, a missing token).
	SourceIngress = "ingress"
	// SourceInvocation: the handler ran and ended with this failure (a terminal error, a
	// cancellation, a kill); asking again answers the same.
	SourceInvocation = "invocation"
)

// StatusNotReady is the status Restate answers an output request with while the invocation runs;
// Output, OutputIdempotent and OutputWorkflow return ready=false for it instead of an error.
const StatusNotReady = 470

// maxMessage bounds the message taken from an answer that is not Restate's JSON error (a proxy's
// HTML page, say).
const maxMessage = 1 << 10

// Error is an answer of the ingress with a status other than 2xx, as the ingress wrote it:
// restate-server and Resolute answer {"code":…,"message":…,"source":…} (and "metadata" for a
// terminal failure's metadata, restate-server only so far) with an x-restate-error-source header.
// Find it with errors.As:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == http.StatusNotFound { … }
//
// When the invocation itself failed (Source "invocation"), it also unwraps to an *sdk.Terminal
// with the same code, message and metadata, so sdk.IsTerminal(err) and sdk.ErrorCode(err) work
// as they do on a failure inside a handler.
type Error struct {
	// Status is the HTTP status (the failure's code for an invocation's failure, when the code
	// is in 100..999; 500 otherwise).
	Status int
	// Code is Restate's error code: the body's "code", or Status when the body has none.
	Code int
	// Message is the body's "message"; for an answer that is not Restate's JSON, the body's
	// text (at most 1 KiB) or the status text.
	Message string
	// Source is SourceIngress, SourceInvocation, or "" when the answer does not say (a proxy's).
	Source string
	// Metadata is a terminal failure's metadata (nil when none).
	Metadata map[string]string
	// RetryAfter is the Retry-After header's delay (429 and 503 answers of an overloaded
	// ingress), 0 when there is none: the request was not accepted and may be sent again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] %s", e.Code, e.Message)
	if e.Status != e.Code {
		fmt.Fprintf(&b, " (status %d)", e.Status)
	}
	if e.Source != "" {
		fmt.Fprintf(&b, " (source %s)", e.Source)
	}
	return b.String()
}

// Terminal reports whether the invocation itself ended with this failure (Source
// "invocation"), rather than the ingress refusing or failing the request.
func (e *Error) Terminal() bool { return e.Source == SourceInvocation }

// Unwrap returns the invocation's failure as an *sdk.Terminal when Terminal, else nil.
func (e *Error) Unwrap() error {
	if !e.Terminal() {
		return nil
	}
	code := uint16(500)
	if e.Code > 0 && e.Code <= 0xffff {
		code = uint16(e.Code)
	}
	return &sdk.Terminal{Code: code, Err: errors.New(e.Message), Metadata: e.Metadata}
}

// errorBody is Restate's JSON error.
type errorBody struct {
	Code     *int              `json:"code"`
	Message  *string           `json:"message"`
	Source   string            `json:"source"`
	Metadata map[string]string `json:"metadata"`
}

// decodeError reads an error answer.
func decodeError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status, Code: status, Source: h.Get("x-restate-error-source")}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Message != nil {
		e.Message = *eb.Message
		if eb.Code != nil {
			e.Code = *eb.Code
		}
		if e.Source == "" {
			e.Source = eb.Source
		}
		e.Metadata = eb.Metadata
	} else {
		e.Message = textMessage(status, body)
	}
	e.RetryAfter = retryAfter(h.Get("Retry-After"))
	return e
}

// textMessage is the message of an answer that is not Restate's JSON error.
func textMessage(status int, body []byte) string {
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
		msg += "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date (its distance from now).
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
