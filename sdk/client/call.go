package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Call invokes t with input and waits for its result, decoded as O. A handler's terminal error
// comes back as an *Error with Source "invocation" and the failure's code.
//
//	greeting, err := client.Call[string](ctx, c, sdk.ToService("Greeter", "greet"), "bob")
func Call[O any](ctx context.Context, c *Client, t sdk.Target, input any, opts ...RequestOption) (O, error) {
	var zero O
	r := c.newRequest(http.MethodPost, invokePath(t, false), opts)
	if err := r.encodeBody(input); err != nil {
		return zero, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return zero, err
	}
	return decode[O](r.codec, resp.body)
}

// Status says whether a send started an invocation or found the one started by an earlier
// request with the same idempotency key (or workflow key).
type Status string

// Statuses of a Send.
const (
	Accepted           Status = "Accepted"
	PreviouslyAccepted Status = "PreviouslyAccepted"
)

// SendResult is the ingress's answer to a send: the invocation is durably accepted.
type SendResult struct {
	// InvocationID names the invocation (for Attach and Output, the admin API and the CLI).
	InvocationID string
	Status       Status
	// ExecutionTime is when a delayed send runs (zero without a delay).
	ExecutionTime time.Time
}

// sendAnswer is the ingress's JSON answer to a send.
type sendAnswer struct {
	InvocationID  string `json:"invocationId"`
	Status        Status `json:"status"`
	ExecutionTime string `json:"executionTime"`
}

// Send invokes t with input without waiting for its result, and returns once the ingress has
// accepted the invocation (WithDelay to run it later, WithIdempotencyKey to send it once). Its
// result is kept, for Attach and Output, only with an idempotency key (or for a workflow's run).
func Send(ctx context.Context, c *Client, t sdk.Target, input any, opts ...RequestOption) (SendResult, error) {
	r := c.newRequest(http.MethodPost, invokePath(t, true), opts)
	if err := r.encodeBody(input); err != nil {
		return SendResult{}, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return SendResult{}, err
	}
	return decodeSendAnswer(resp.body)
}

func decodeSendAnswer(body []byte) (SendResult, error) {
	var a sendAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return SendResult{}, fmt.Errorf("client: decode the send answer %q: %w", body, err)
	}
	if a.InvocationID == "" {
		return SendResult{}, fmt.Errorf("client: the send answer %q has no invocation id", body)
	}
	res := SendResult{InvocationID: a.InvocationID, Status: a.Status}
	if a.ExecutionTime != "" {
		t, err := time.Parse(time.RFC3339Nano, a.ExecutionTime)
		if err != nil {
			return SendResult{}, fmt.Errorf("client: decode the send answer's execution time: %w", err)
		}
		res.ExecutionTime = t
	}
	return res, nil
}

// WorkflowRun is the name of a workflow's main handler, the one SubmitWorkflow starts.
const WorkflowRun = "run"

// SubmitWorkflow starts the run of workflow with key (its handler "run") with input, once per
// key: a second submit answers PreviouslyAccepted with the same invocation id, while the run goes
// on or for the workflow's retention after it ended. AttachWorkflow and OutputWorkflow read its
// result; its shared handlers are called with Call(ctx, c, sdk.ToWorkflow(workflow, key, h), …).
func SubmitWorkflow(ctx context.Context, c *Client, workflow, key string, input any, opts ...RequestOption) (SendResult, error) {
	opts = append(opts[:len(opts):len(opts)], safeToRepeat)
	return Send(ctx, c, sdk.ToWorkflow(workflow, key, WorkflowRun), input, opts...)
}
