package client

import (
	"context"
	"net/http"
)

// ResolveAwakeable completes the awakeable id (handed out by a handler's sdk.Awakeable) with
// value, encoded with the client's codec (sdk.Void: no body): the handler waiting on it goes on
// with value. The ingress answers once the resolution is durable, whether or not it takes
// effect: an awakeable completed already keeps its first completion, and one of an invocation
// that ended is ignored. A malformed id is refused (400).
func ResolveAwakeable[T any](ctx context.Context, c *Client, id string, value T, opts ...RequestOption) error {
	r := c.newRequest(http.MethodPost, awakeablePath(id, false), opts)
	if err := r.encodeBody(value); err != nil {
		return err
	}
	_, err := c.do(ctx, r)
	return err
}

// RejectAwakeable completes the awakeable id with a failure: the handler waiting on it gets a
// terminal error with reason as its message and code 500 (the ingress has no way to carry
// another code).
func RejectAwakeable(ctx context.Context, c *Client, id, reason string, opts ...RequestOption) error {
	r := c.newRequest(http.MethodPost, awakeablePath(id, true), opts)
	r.body = []byte(reason)
	r.header.Set("Content-Type", "text/plain")
	_, err := c.do(ctx, r)
	return err
}
