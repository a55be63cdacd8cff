// Package sdktest runs SDK services inside an embedded Resolute server for tests: real log, real
// storage (in a temporary directory), real ingress over HTTP, and the endpoints served in-process
// over an in-memory HTTP/2 connection. User code does not change between a test and production.
//
//	env := sdktest.Start(t, sdk.NewEndpoint().Bind(counter))
//	n, err := sdktest.Call[int](env, sdk.ToObject("Counter", "a", "add"), 1)
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// Env is an embedded server with endpoints registered in-process.
type Env struct {
	srv    *server.Server
	client *http.Client
}

// Start starts a server with 2 partitions in t's temporary directory and registers each endpoint.
// The server stops when the test ends.
func Start(t testing.TB, endpoints ...*sdk.Endpoint) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatalf("sdktest: start server: %v", err)
	}
	t.Cleanup(srv.Close)
	for i, ep := range endpoints {
		if err := srv.RegisterInProcess(ctx, fmt.Sprintf("endpoint-%d", i), ep); err != nil {
			t.Fatalf("sdktest: %v", err)
		}
	}
	return &Env{srv: srv, client: &http.Client{Timeout: time.Minute}}
}

// IngressURL is the ingress base URL (for plain HTTP requests).
func (e *Env) IngressURL() string { return e.srv.IngressURL() }

// AdminURL is the admin API base URL.
func (e *Env) AdminURL() string { return e.srv.AdminURL() }

// Call invokes target through the ingress with input encoded as JSON and decodes the JSON output.
// A failed invocation returns an *sdk.Terminal carrying the failure's code and message.
func Call[O any](e *Env, target sdk.Target, input any, opts ...RequestOption) (O, error) {
	var out O
	body, err := json.Marshal(input)
	if err != nil {
		return out, fmt.Errorf("sdktest: encode input: %w", err)
	}
	resp, err := e.post(path(target, ""), body, opts)
	if err != nil {
		return out, err
	}
	if resp.status != http.StatusOK {
		return out, resp.failure()
	}
	if err := json.Unmarshal(resp.body, &out); err != nil && len(resp.body) > 0 {
		return out, fmt.Errorf("sdktest: decode output %q: %w", resp.body, err)
	}
	return out, nil
}

// Send invokes target one-way and returns the invocation id once the server has accepted it.
func Send(e *Env, target sdk.Target, input any, opts ...RequestOption) (string, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("sdktest: encode input: %w", err)
	}
	resp, err := e.post(path(target, "/send"), body, opts)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusAccepted {
		return "", resp.failure()
	}
	var accepted struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(resp.body, &accepted); err != nil {
		return "", fmt.Errorf("sdktest: decode send response %q: %w", resp.body, err)
	}
	return accepted.InvocationID, nil
}

// RequestOption adds something to an ingress request.
type RequestOption func(*http.Request)

// WithIdempotencyKey sets the idempotency-key header.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *http.Request) { r.Header.Set("idempotency-key", key) }
}

// WithHeader sets a request header, which the handler sees in ctx.Headers().
func WithHeader(name, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

func path(t sdk.Target, suffix string) string {
	if t.Key != "" {
		return "/" + t.Service + "/" + url.PathEscape(t.Key) + "/" + t.Handler + suffix
	}
	return "/" + t.Service + "/" + t.Handler + suffix
}

type reply struct {
	status int
	body   []byte
}

func (e *Env) post(p string, body []byte, opts []RequestOption) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, e.srv.IngressURL()+p, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("content-type", "application/json")
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("sdktest: POST %s: %w", p, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("sdktest: read response of %s: %w", p, err)
	}
	return reply{status: resp.StatusCode, body: b}, nil
}

func (r reply) failure() error {
	var f struct {
		Code    uint16 `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &f); err != nil || f.Message == "" {
		return &sdk.Terminal{Code: uint16(r.status), Err: fmt.Errorf("status %d: %s", r.status, r.body)}
	}
	return &sdk.Terminal{Code: uint16(r.status), Err: errors.New(f.Message)}
}
