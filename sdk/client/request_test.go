package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
)

// transport is an http.RoundTripper that keeps the request it is given and answers with a
// canned response, so that a test sees exactly what an operation sends.
type transport struct {
	req    *http.Request
	body   string
	status int
	header http.Header
	answer string
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.req = req
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		tr.body = string(b)
	}
	h := tr.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: tr.status, Header: h, Body: io.NopCloser(strings.NewReader(tr.answer)), Request: req}, nil
}

func newClient(t *testing.T, base string, tr *transport, opts ...client.ClientOption) *client.Client {
	t.Helper()
	c, err := client.New(base, append(opts, client.WithHTTPClient(&http.Client{Transport: tr}))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRequests checks the request of every operation: method, URL (path, escaping, query),
// headers and body.
func TestRequests(t *testing.T) {
	greet := sdk.ToService("Greeter", "greet")
	add := sdk.ToObject("Counter", "a/b c", "add")
	sendAnswer := `{"invocationId":"inv_1abc","status":"Accepted"}`
	tests := []struct {
		name    string
		base    string
		opts    []client.ClientOption
		answer  string // 200 or 202 body
		do      func(ctx context.Context, c *client.Client) error
		method  string
		url     string
		headers map[string]string // "" means absent
		body    string
	}{
		{
			name: "service call", base: "http://h:8080", answer: `"hi"`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[string](ctx, c, greet, "bob")
				return err
			},
			method: "POST", url: "http://h:8080/Greeter/greet",
			headers: map[string]string{"Content-Type": "application/json", "Idempotency-Key": "", "Authorization": ""},
			body:    `"bob"`,
		},
		{
			name: "object call, key escaped, base with a path prefix", base: "https://example.com/restate/", answer: `1`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[int](ctx, c, add, 1, client.WithIdempotencyKey("k-1"))
				return err
			},
			method: "POST", url: "https://example.com/restate/Counter/a%2Fb%20c/add",
			headers: map[string]string{"Idempotency-Key": "k-1"}, body: `1`,
		},
		{
			name: "void input: no body, no content type", base: "http://h", answer: ``,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[sdk.Void](ctx, c, greet, sdk.Void{})
				return err
			},
			method: "POST", url: "http://h/Greeter/greet", headers: map[string]string{"Content-Type": ""}, body: ``,
		},
		{
			name: "client headers, token, request headers replacing the client's", base: "http://h",
			opts: []client.ClientOption{
				client.WithBearerToken("s3cret"),
				client.WithHeaders(map[string]string{"X-Tenant": "acme", "x-request": "client"}),
			},
			answer: `"hi"`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[string](ctx, c, greet, "bob", client.WithHeaders(map[string]string{"X-Request": "call"}))
				return err
			},
			method: "POST", url: "http://h/Greeter/greet",
			headers: map[string]string{"Authorization": "Bearer s3cret", "X-Tenant": "acme", "X-Request": "call"}, body: `"bob"`,
		},
		{
			name: "codec per request", base: "http://h", answer: `HI`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[string](ctx, c, greet, "hi", client.WithCodec(text{}))
				return err
			},
			method: "POST", url: "http://h/Greeter/greet", headers: map[string]string{"Content-Type": "text/plain"}, body: `hi`,
		},
		{
			name: "codec per client", base: "http://h", opts: []client.ClientOption{client.WithCodec(text{})}, answer: `HI`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Call[string](ctx, c, greet, "hi")
				return err
			},
			method: "POST", url: "http://h/Greeter/greet", headers: map[string]string{"Content-Type": "text/plain"}, body: `hi`,
		},
		{
			name: "send with a delay rounded up to a millisecond", base: "http://h", answer: sendAnswer,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Send(ctx, c, add, 2, client.WithDelay(1500*time.Microsecond), client.WithIdempotencyKey("k"))
				return err
			},
			method: "POST", url: "http://h/Counter/a%2Fb%20c/add/send?delay=2ms",
			headers: map[string]string{"Idempotency-Key": "k"}, body: `2`,
		},
		{
			name: "send without delay", base: "http://h", answer: sendAnswer,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Send(ctx, c, greet, "x")
				return err
			},
			method: "POST", url: "http://h/Greeter/greet/send", body: `"x"`,
		},
		{
			name: "workflow submit", base: "http://h", answer: sendAnswer,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.SubmitWorkflow(ctx, c, "Signup", "ann@x", "form")
				return err
			},
			method: "POST", url: "http://h/Signup/ann@x/run/send", body: `"form"`,
		},
		{
			name: "attach by id", base: "http://h", answer: `1`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.Attach[int](ctx, c, "inv_1abc")
				return err
			},
			method: "GET", url: "http://h/restate/invocation/inv_1abc/attach", headers: map[string]string{"Content-Type": ""},
		},
		{
			name: "output by id", base: "http://h", answer: `1`,
			do: func(ctx context.Context, c *client.Client) error {
				_, _, err := client.Output[int](ctx, c, "inv_1abc")
				return err
			},
			method: "GET", url: "http://h/restate/invocation/inv_1abc/output",
		},
		{
			name: "attach by idempotency key, service", base: "http://h", answer: `1`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.AttachIdempotent[int](ctx, c, greet, "key-1_2.3~")
				return err
			},
			method: "GET", url: "http://h/restate/invocation/Greeter/greet/key-1_2.3~/attach",
		},
		{
			name: "output by idempotency key, object", base: "http://h", answer: `1`,
			do: func(ctx context.Context, c *client.Client) error {
				_, _, err := client.OutputIdempotent[int](ctx, c, add, "k1")
				return err
			},
			method: "GET", url: "http://h/restate/invocation/Counter/a%2Fb%20c/add/k1/output",
		},
		{
			name: "attach to a workflow", base: "http://h", answer: `"done"`,
			do: func(ctx context.Context, c *client.Client) error {
				_, err := client.AttachWorkflow[string](ctx, c, "Signup", "a b")
				return err
			},
			method: "GET", url: "http://h/restate/workflow/Signup/a%20b/attach",
		},
		{
			name: "output of a workflow", base: "http://h", answer: `"done"`,
			do: func(ctx context.Context, c *client.Client) error {
				_, _, err := client.OutputWorkflow[string](ctx, c, "Signup", "ann")
				return err
			},
			method: "GET", url: "http://h/restate/workflow/Signup/ann/output",
		},
		{
			name: "resolve an awakeable", base: "http://h", answer: ``,
			do: func(ctx context.Context, c *client.Client) error {
				return client.ResolveAwakeable(ctx, c, "sign_1AbC-_", map[string]int{"x": 1})
			},
			method: "POST", url: "http://h/restate/awakeables/sign_1AbC-_/resolve",
			headers: map[string]string{"Content-Type": "application/json"}, body: `{"x":1}`,
		},
		{
			name: "resolve an awakeable with nothing", base: "http://h", answer: ``,
			do: func(ctx context.Context, c *client.Client) error {
				return client.ResolveAwakeable(ctx, c, "sign_1AbC", sdk.Void{})
			},
			method: "POST", url: "http://h/restate/awakeables/sign_1AbC/resolve", headers: map[string]string{"Content-Type": ""}, body: ``,
		},
		{
			name: "reject an awakeable", base: "http://h", answer: ``,
			do: func(ctx context.Context, c *client.Client) error {
				return client.RejectAwakeable(ctx, c, "sign_1AbC", "no stock")
			},
			method: "POST", url: "http://h/restate/awakeables/sign_1AbC/reject",
			headers: map[string]string{"Content-Type": "text/plain"}, body: `no stock`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if strings.HasSuffix(tt.url, "/send") || strings.Contains(tt.url, "/send?") || strings.Contains(tt.url, "/awakeables/") {
				status = http.StatusAccepted
			}
			tr := &transport{status: status, answer: tt.answer}
			c := newClient(t, tt.base, tr, tt.opts...)
			if err := tt.do(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if tr.req.Method != tt.method || tr.req.URL.String() != tt.url {
				t.Errorf("request %s %s, want %s %s", tr.req.Method, tr.req.URL, tt.method, tt.url)
			}
			for k, want := range tt.headers {
				if got := tr.req.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tr.body != tt.body {
				t.Errorf("body %q, want %q", tr.body, tt.body)
			}
			if tr.req.Context() == context.Background() {
				t.Error("the request does not carry the caller's context")
			}
		})
	}
}

// TestUnnamedInvocations checks that names no ingress path can hold are refused before any
// request is made.
func TestUnnamedInvocations(t *testing.T) {
	greet := sdk.ToService("Greeter", "greet")
	tests := []struct {
		name string
		do   func(ctx context.Context, c *client.Client) error
	}{
		{"empty invocation id", func(ctx context.Context, c *client.Client) error {
			_, err := client.Attach[int](ctx, c, "")
			return err
		}},
		{"empty idempotency key", func(ctx context.Context, c *client.Client) error {
			_, _, err := client.OutputIdempotent[int](ctx, c, greet, "")
			return err
		}},
		{"idempotency key with a space", func(ctx context.Context, c *client.Client) error {
			_, err := client.AttachIdempotent[int](ctx, c, greet, "a b")
			return err
		}},
		{"idempotency key with a slash", func(ctx context.Context, c *client.Client) error {
			_, err := client.AttachIdempotent[int](ctx, c, greet, "a/b")
			return err
		}},
		{"idempotency key not ASCII", func(ctx context.Context, c *client.Client) error {
			_, err := client.AttachIdempotent[int](ctx, c, greet, "clé")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &transport{status: http.StatusOK, answer: `1`}
			err := tt.do(t.Context(), newClient(t, "http://h", tr))
			if err == nil || !strings.Contains(err.Error(), "no invocation named") {
				t.Errorf("err = %v, want a refused name", err)
			}
			if tr.req != nil {
				t.Errorf("a request was sent: %s", tr.req.URL)
			}
		})
	}
}

// TestNew checks which base URLs New takes.
func TestNew(t *testing.T) {
	tests := []struct {
		base string
		ok   bool
	}{
		{"http://localhost:8080", true},
		{"https://example.com/restate/", true},
		{"localhost:8080", false},
		{"ftp://h", false},
		{"http://", false},
		{"http://h/?x=1", false},
		{"http://h/#frag", false},
		{"http://h\x7f", false},
	}
	for _, tt := range tests {
		_, err := client.New(tt.base)
		if (err == nil) != tt.ok {
			t.Errorf("New(%q): %v, want ok=%v", tt.base, err, tt.ok)
		}
	}
}

// TestAnswers checks how answers are read: values, Void, send answers, output not ready.
func TestAnswers(t *testing.T) {
	t.Run("send answer", func(t *testing.T) {
		tr := &transport{status: 202, answer: `{"invocationId":"inv_1x","status":"PreviouslyAccepted","executionTime":"2026-11-28T15:42:14.265000000Z"}`}
		s, err := client.Send(t.Context(), newClient(t, "http://h", tr), sdk.ToService("S", "h"), 1)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 11, 28, 15, 42, 14, 265e6, time.UTC)
		if s.InvocationID != "inv_1x" || s.Status != client.PreviouslyAccepted || !s.ExecutionTime.Equal(want) {
			t.Errorf("send result %+v", s)
		}
	})
	t.Run("send answer without an id", func(t *testing.T) {
		tr := &transport{status: 202, answer: `{"status":"Accepted"}`}
		if _, err := client.Send(t.Context(), newClient(t, "http://h", tr), sdk.ToService("S", "h"), 1); err == nil {
			t.Error("no error for a send answer without an invocation id")
		}
	})
	t.Run("output not ready", func(t *testing.T) {
		tr := &transport{status: 470, answer: `{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`}
		v, ready, err := client.Output[int](t.Context(), newClient(t, "http://h", tr), "inv_1x")
		if err != nil || ready || v != 0 {
			t.Errorf("output = %v, %v, %v; want 0, not ready, no error", v, ready, err)
		}
	})
	t.Run("output ready with an empty value", func(t *testing.T) {
		tr := &transport{status: 200}
		_, ready, err := client.Output[sdk.Void](t.Context(), newClient(t, "http://h", tr), "inv_1x")
		if err != nil || !ready {
			t.Errorf("output = %v, %v; want ready", ready, err)
		}
	})
	t.Run("attach answering 470 is an error", func(t *testing.T) {
		tr := &transport{status: 470, answer: `{"code":470,"message":"not yet","source":"ingress"}`}
		_, err := client.Attach[int](t.Context(), newClient(t, "http://h", tr), "inv_1x")
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 470 {
			t.Errorf("attach: %v, want an *Error 470", err)
		}
	})
	t.Run("undecodable output", func(t *testing.T) {
		tr := &transport{status: 200, answer: `"text"`}
		_, err := client.Call[int](t.Context(), newClient(t, "http://h", tr), sdk.ToService("S", "h"), 1)
		var e *client.Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("call: %v, want a decoding error that is not an *Error", err)
		}
	})
}

// text is a codec of strings as plain text.
type text struct{}

func (text) ContentType() string { return "text/plain" }

func (text) Marshal(v any) ([]byte, error) { return []byte(v.(string)), nil }

func (text) Unmarshal(data []byte, v any) error {
	*v.(*string) = string(data)
	return nil
}
