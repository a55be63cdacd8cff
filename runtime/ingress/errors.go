package ingress

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
)

// Error sources, as in the x-restate-error-source header and the "source" field.
const (
	sourceIngress    = "ingress"
	sourceInvocation = "invocation"
)

// Restate's ingress error messages.
const (
	msgBadServicePath     = "bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler"
	msgUnsupportedDelay   = "cannot use the delay query parameter with calls. The delay is supported only with sends"
	msgWorkflowIdemKey    = "cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself."
	msgPrivateService     = "the invoked service is not public"
	msgMethodNotAllowed   = "method not allowed"
	msgNotFound           = "not found"
	msgBadAwakeablePath   = "bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject"
	msgBadInvocationPath  = "bad path, expected either /restate/invocation/:invocation_id/output or /restate/invocation/:invocation_id/attach or /restate/invocation/:invocation_target/:idempotency_key/output or /restate/invocation/:invocation_target/:idempotency_key/attach"
	msgBadWorkflowPath    = "bad path, expected either /restate/workflow/:workflow_name/:workflow_key/output or /restate/workflow/:workflow_name/:workflow_key/attach"
	msgInvocationNotFound = "invocation not found"
	msgNotReady           = "the invocation exists but has not completed yet"
	msgBadRestateAPIPath  = "bad path, expected /restate/call/:service/:handler, /restate/send/:service/:handler, /restate/scope/:scope/call/:service/:handler, /restate/attach/:invocation_id, /restate/output/:invocation_id, or /restate/lookup"
	// msgScopeNeedsVQueues refuses every scoped invocation: restate-server runs them on its
	// vqueues (experimental, off by default), which Resolute does not have.
	msgScopeNeedsVQueues = "scoped invocations require vqueues to be enabled"
	// msgLimitKeyWithoutScope refuses a limit key outside a scope.
	msgLimitKeyWithoutScope = "limit-key requires a scope to be set"
)

// httpError is an error answered with Restate's JSON error shape.
type httpError struct {
	status  int
	code    int // the "code" field; status unless the failure code is not an HTTP status
	message string
	source  string
	header  http.Header // extra response headers (Allow)
	// metadata is a terminal failure's metadata (protocol V6+), answered as restate-server
	// does: a "metadata" object in the body.
	metadata []command.MetadataEntry
}

func (e *httpError) Error() string { return e.message }

func ingressError(status int, msg string) *httpError {
	return &httpError{status: status, code: status, message: msg, source: sourceIngress}
}

func serviceNotFound(svc string) *httpError {
	return ingressError(http.StatusNotFound, "service '"+svc+"' not found, make sure to register the service before calling it.")
}

func handlerNotFound(svc, h string) *httpError {
	return ingressError(http.StatusNotFound, "the service '"+svc+"' exists, but the handler '"+h+"' was not found, check that the handler exists in the latest registered service version.")
}

// badHeader refuses a header whose value is not visible ASCII, in restate-server's words (the
// http crate's ToStrError, as Rust's Debug prints it).
func badHeader(name string) *httpError {
	return ingressError(http.StatusBadRequest, "bad header "+name+": ToStrError { _priv: () }")
}

func badPath(path string) *httpError {
	return ingressError(http.StatusBadRequest, "bad path: "+path)
}

// invocationError maps a failure code to the response status as the official server does: the
// code itself when it is in 100..999, else 500.
func invocationError(code uint16, msg string) *httpError {
	status := int(code)
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	return &httpError{status: status, code: int(code), message: msg, source: sourceInvocation}
}

type errorBody struct {
	Code     int               `json:"code"`
	Message  string            `json:"message"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Source   string            `json:"source"`
}

// failureError answers an invocation's terminal failure, metadata included.
func failureError(f *command.Failure) *httpError {
	e := invocationError(f.Code, f.Message)
	e.metadata = f.Metadata
	return e
}

func writeError(w http.ResponseWriter, e *httpError) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	eb := errorBody{Code: e.code, Message: e.message, Source: e.source}
	if len(e.metadata) > 0 {
		eb.Metadata = make(map[string]string, len(e.metadata))
		for _, m := range e.metadata {
			eb.Metadata[m.Key] = m.Value
		}
	}
	body, _ := json.Marshal(eb)
	w.Header().Set("x-restate-error-source", e.source)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// refusal is an error of a Dispatcher that refused a request before writing anything (the
// partition router's admission control): the caller may retry it as it is after RetryAfter.
type refusal interface {
	error
	RetryAfter() time.Duration
	// Unavailable: the partition cannot run (503); otherwise it is only busy (429).
	Unavailable() bool
}

// refusedError answers a refusal: 429 when the partition's queue is full, 503 when it cannot
// run, both with Retry-After in whole seconds (at least 1). 429 says "slow down, nothing was
// done", which clients and proxies retry without treating the server as failed; 503 says the
// server cannot serve this part of the key space now, which a load balancer may route around.
func refusedError(err error) *httpError {
	var r refusal
	if !errors.As(err, &r) {
		return nil
	}
	status := http.StatusTooManyRequests
	if r.Unavailable() {
		status = http.StatusServiceUnavailable
	}
	e := ingressError(status, r.Error()+". The request was not accepted: it can be retried as it is, with or without an 'idempotency-key'.")
	secs := int((r.RetryAfter() + time.Second - 1) / time.Second)
	e.header = http.Header{"Retry-After": {strconv.Itoa(max(secs, 1))}}
	return e
}
