package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy retries, after an ambiguous failure, the requests that are safe to repeat: a Call
// or Send with an idempotency key, SubmitWorkflow (idempotent by the workflow's key), and the
// Attach and Output family (they only read). Other requests, and awakeable completions, are made
// once, as with the official TypeScript client whose policy this is. The zero value of a field
// takes the default in its comment.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included (6; negative: no limit but
	// MaxDuration).
	MaxAttempts int
	// InitialInterval is the wait before the second attempt (250 ms); each wait is Factor times
	// the previous one (2), at most MaxInterval (3 s), with ±20% jitter.
	InitialInterval time.Duration
	Factor          float64
	MaxInterval     time.Duration
	// MaxDuration bounds the whole request: no attempt is made that would start after it (60 s;
	// negative: no bound but MaxAttempts and the context).
	MaxDuration time.Duration
	// IgnoreRetryAfter waits the backoff even when the answer has a Retry-After header (a 429 of
	// an overloaded ingress), which is otherwise waited instead.
	IgnoreRetryAfter bool
	// ShouldRetry, if set, decides whether the failure err of attempt (1 for the first) is retried
	// instead of DefaultShouldRetry.
	ShouldRetry func(err error, attempt int) bool
}

// WithRetry retries requests that are safe to repeat as p says (see RetryPolicy). Without it,
// every request is made once.
func WithRetry(p RetryPolicy) ClientOption {
	p = p.withDefaults()
	return clientOption(func(c *Client) { c.retry = &p })
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 6
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = 250 * time.Millisecond
	}
	if p.Factor <= 0 {
		p.Factor = 2
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 3 * time.Second
	}
	if p.MaxDuration == 0 {
		p.MaxDuration = time.Minute
	}
	if p.ShouldRetry == nil {
		p.ShouldRetry = func(err error, _ int) bool { return DefaultShouldRetry(err) }
	}
	return p
}

// DefaultShouldRetry reports whether err is a failure worth another attempt: a network failure,
// or an answer of the ingress with status 408, 425, 429 or 5xx. An invocation's own failure
// (Source "invocation") is its outcome, never retried whatever its code; a context's end is not
// retried either.
func DefaultShouldRetry(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return true // no answer: a network failure
	}
	if e.Terminal() {
		return false
	}
	switch s := e.Status; {
	case s == http.StatusRequestTimeout, s == http.StatusTooEarly, s == http.StatusTooManyRequests:
		return true
	case s >= 500 && s <= 599:
		return true
	}
	return false
}

// wait is how long to wait after the failure err of attempt (1 for the first).
func (p *RetryPolicy) wait(err error, attempt int) time.Duration {
	var e *Error
	if !p.IgnoreRetryAfter && errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	d := float64(p.InitialInterval)
	for i := 1; i < attempt && d < float64(p.MaxInterval); i++ {
		d *= p.Factor
	}
	d = min(d, float64(p.MaxInterval))
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}

// doRetrying makes r's attempts under c's retry policy (one attempt without one, or when r is
// not safe to repeat).
func (c *Client) doRetrying(ctx context.Context, r *request, ok []int) (response, error) {
	p := c.retry
	if p == nil || !r.repeatable() {
		return c.doOnce(ctx, r, ok)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		resp, err := c.doOnce(ctx, r, ok)
		if err == nil || ctx.Err() != nil || (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) || !p.ShouldRetry(err, attempt) {
			return resp, err
		}
		d := p.wait(err, attempt)
		if p.MaxDuration > 0 && time.Since(start)+d >= p.MaxDuration {
			return resp, err
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("client: %s %s: %w while waiting to retry after %d attempts (last: %w)", r.method, r.path, ctx.Err(), attempt, err)
		}
	}
}
