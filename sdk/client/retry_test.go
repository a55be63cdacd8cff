package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
)

// answer is one canned answer: an HTTP answer, or a network failure when status is 0.
type answer struct {
	status int
	header http.Header
	body   string
}

var (
	ok200          = answer{status: 200, body: `1`}
	accepted       = answer{status: 202, body: `{"invocationId":"inv_1x","status":"Accepted"}`}
	unavailable    = answer{status: 503, header: http.Header{"X-Restate-Error-Source": {"ingress"}}, body: `{"code":503,"message":"internal routing error","source":"ingress"}`}
	busy           = answer{status: 429, header: http.Header{"X-Restate-Error-Source": {"ingress"}, "Retry-After": {"3600"}}, body: `{"code":429,"message":"busy","source":"ingress"}`}
	failed500      = answer{status: 500, header: http.Header{"X-Restate-Error-Source": {"invocation"}}, body: `{"code":500,"message":"boom","source":"invocation"}`}
	notFound       = answer{status: 404, header: http.Header{"X-Restate-Error-Source": {"ingress"}}, body: `{"code":404,"message":"invocation not found","source":"ingress"}`}
	networkFailure = answer{}
)

// sequence answers each attempt with the next answer (the last one again when it runs out) and
// counts the attempts.
type sequence struct {
	mu       sync.Mutex
	answers  []answer
	attempts int
	bodies   []string
}

func (s *sequence) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	a := s.answers[min(s.attempts, len(s.answers)-1)]
	s.attempts++
	b, _ := io.ReadAll(req.Body)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if a.status == 0 {
		return nil, errors.New("connection refused")
	}
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
}

// fast is a policy whose waits are short enough not to slow the tests.
var fast = client.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}

// TestRetry checks which requests are retried after which failures, and how many times.
func TestRetry(t *testing.T) {
	greet := sdk.ToService("Greeter", "greet")
	call := func(opts ...client.RequestOption) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := client.Call[int](ctx, c, greet, "x", opts...)
			return err
		}
	}
	idem := client.WithIdempotencyKey("k")
	tests := []struct {
		name     string
		policy   *client.RetryPolicy // nil: no WithRetry
		answers  []answer
		do       func(context.Context, *client.Client) error
		attempts int
		ok       bool
	}{
		{"no policy: one attempt", nil, []answer{unavailable, ok200}, call(idem), 1, false},
		{"idempotent call after 503s", &fast, []answer{unavailable, unavailable, ok200}, call(idem), 3, true},
		{"idempotent call after a network failure", &fast, []answer{networkFailure, ok200}, call(idem), 2, true},
		{"call without idempotency key: once", &fast, []answer{unavailable, ok200}, call(), 1, false},
		{"the invocation's own failure: once", &fast, []answer{failed500, ok200}, call(idem), 1, false},
		{"404: once", &fast, []answer{notFound, ok200}, call(idem), 1, false},
		{"attempts used up", &client.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}, []answer{unavailable}, call(idem), 2, false},
		{"send with idempotency key", &fast, []answer{unavailable, accepted}, func(ctx context.Context, c *client.Client) error {
			_, err := client.Send(ctx, c, greet, "x", idem)
			return err
		}, 2, true},
		{"send without idempotency key: once", &fast, []answer{unavailable, accepted}, func(ctx context.Context, c *client.Client) error {
			_, err := client.Send(ctx, c, greet, "x")
			return err
		}, 1, false},
		{"workflow submit, idempotent by its key", &fast, []answer{networkFailure, accepted}, func(ctx context.Context, c *client.Client) error {
			_, err := client.SubmitWorkflow(ctx, c, "Signup", "ann", "x")
			return err
		}, 2, true},
		{"attach", &fast, []answer{unavailable, ok200}, func(ctx context.Context, c *client.Client) error {
			_, err := client.Attach[int](ctx, c, "inv_1x")
			return err
		}, 2, true},
		{"output", &fast, []answer{unavailable, ok200}, func(ctx context.Context, c *client.Client) error {
			_, _, err := client.OutputWorkflow[int](ctx, c, "Signup", "ann")
			return err
		}, 2, true},
		{"awakeable resolution: once", &fast, []answer{unavailable, {status: 202}}, func(ctx context.Context, c *client.Client) error {
			return client.ResolveAwakeable(ctx, c, "sign_1x", 1)
		}, 1, false},
		{"Retry-After (an hour) beyond the budget: no second attempt", &client.RetryPolicy{InitialInterval: time.Millisecond, MaxDuration: 10 * time.Minute}, []answer{busy, ok200}, call(idem), 1, false},
		{"Retry-After ignored: the backoff fits", &client.RetryPolicy{InitialInterval: time.Millisecond, MaxDuration: 10 * time.Minute, IgnoreRetryAfter: true}, []answer{busy, ok200}, call(idem), 2, true},
		{"ShouldRetry of one's own", &client.RetryPolicy{InitialInterval: time.Millisecond, ShouldRetry: func(err error, attempt int) bool {
			var e *client.Error
			return errors.As(err, &e) && e.Status == 404 && attempt < 3
		}}, []answer{notFound}, call(idem), 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := &sequence{answers: tt.answers}
			opts := []client.ClientOption{client.WithHTTPClient(&http.Client{Transport: seq})}
			if tt.policy != nil {
				opts = append(opts, client.WithRetry(*tt.policy))
			}
			c, err := client.New("http://h", opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.do(t.Context(), c)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
			if seq.attempts != tt.attempts {
				t.Errorf("%d attempts, want %d", seq.attempts, tt.attempts)
			}
			for i, b := range seq.bodies {
				if b != seq.bodies[0] {
					t.Errorf("attempt %d sent %q, the first %q", i+1, b, seq.bodies[0])
				}
			}
		})
	}
}

// TestRetryStopsWithTheContext checks that a context ending during a wait ends the request with
// the context's error and the last failure.
func TestRetryStopsWithTheContext(t *testing.T) {
	seq := &sequence{answers: []answer{unavailable}}
	c, err := client.New("http://h", client.WithHTTPClient(&http.Client{Transport: seq}),
		client.WithRetry(client.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour, MaxDuration: -1}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := client.Attach[int](ctx, c, "inv_1x")
		done <- err
	}()
	for {
		seq.mu.Lock()
		n := seq.attempts
		seq.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	err = <-done
	var e *client.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("err = %v, want context.Canceled and the last *Error (503)", err)
	}
	if seq.attempts != 1 {
		t.Errorf("%d attempts, want 1", seq.attempts)
	}
}

// TestDefaultShouldRetry checks the default decision.
func TestDefaultShouldRetry(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("connection reset"), true},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{&client.Error{Status: 408}, true},
		{&client.Error{Status: 425}, true},
		{&client.Error{Status: 429, Source: "ingress"}, true},
		{&client.Error{Status: 500}, true},
		{&client.Error{Status: 503, Source: "ingress"}, true},
		{&client.Error{Status: 500, Source: "invocation"}, false},
		{&client.Error{Status: 503, Source: "invocation"}, false},
		{&client.Error{Status: 400, Source: "ingress"}, false},
		{&client.Error{Status: 404}, false},
		{&client.Error{Status: 470}, false},
	}
	for _, tt := range tests {
		if got := client.DefaultShouldRetry(tt.err); got != tt.want {
			t.Errorf("DefaultShouldRetry(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
