package client

import (
	"context"
	"net/http"

	"github.com/resolute-run/resolute/sdk"
)

// Attach waits for the result of the invocation invocationID (from a SendResult, the CLI or
// the admin API) and decodes it as O; a failure comes back as an *Error with Source
// "invocation". The ingress must still know the invocation: running, or ended and retained
// (requests with an idempotency key and workflow runs keep their results for their retention;
// other invocations are forgotten when they end: 404).
func Attach[O any](ctx context.Context, c *Client, invocationID string, opts ...RequestOption) (O, error) {
	return attach[O](ctx, c, byID(invocationID), opts)
}

// AttachIdempotent waits for the result of the request to t made with idempotencyKey (by Call
// or Send with WithIdempotencyKey). The key must be made of characters a URL path holds as they
// are (letters, digits, -._~ and the like): the ingress reads it from the path unescaped.
func AttachIdempotent[O any](ctx context.Context, c *Client, t sdk.Target, idempotencyKey string, opts ...RequestOption) (O, error) {
	return attach[O](ctx, c, byIdempotencyKey(t, idempotencyKey), opts)
}

// AttachWorkflow waits for the result of the run of workflow with key (see SubmitWorkflow).
func AttachWorkflow[O any](ctx context.Context, c *Client, workflow, key string, opts ...RequestOption) (O, error) {
	return attach[O](ctx, c, byWorkflow(workflow, key), opts)
}

// Output reads the result of the invocation invocationID without waiting: ready is false while
// it runs. A failed invocation's failure is returned as an *Error, as Attach does.
func Output[O any](ctx context.Context, c *Client, invocationID string, opts ...RequestOption) (value O, ready bool, err error) {
	return output[O](ctx, c, byID(invocationID), opts)
}

// OutputIdempotent is Output for the request to t made with idempotencyKey (see
// AttachIdempotent).
func OutputIdempotent[O any](ctx context.Context, c *Client, t sdk.Target, idempotencyKey string, opts ...RequestOption) (value O, ready bool, err error) {
	return output[O](ctx, c, byIdempotencyKey(t, idempotencyKey), opts)
}

// OutputWorkflow is Output for the run of workflow with key.
func OutputWorkflow[O any](ctx context.Context, c *Client, workflow, key string, opts ...RequestOption) (value O, ready bool, err error) {
	return output[O](ctx, c, byWorkflow(workflow, key), opts)
}

func attach[O any](ctx context.Context, c *Client, inv invocation, opts []RequestOption) (O, error) {
	var zero O
	p, err := inv.path("attach")
	if err != nil {
		return zero, err
	}
	r := c.newRequest(http.MethodGet, p, opts)
	r.safe = true
	resp, err := c.do(ctx, r)
	if err != nil {
		return zero, err
	}
	return decode[O](r.codec, resp.body)
}

func output[O any](ctx context.Context, c *Client, inv invocation, opts []RequestOption) (value O, ready bool, err error) {
	p, err := inv.path("output")
	if err != nil {
		return value, false, err
	}
	r := c.newRequest(http.MethodGet, p, opts)
	r.safe = true
	resp, err := c.do(ctx, r, StatusNotReady)
	if err != nil {
		return value, false, err
	}
	if resp.status == StatusNotReady {
		return value, false, nil
	}
	value, err = decode[O](r.codec, resp.body)
	return value, err == nil, err
}
