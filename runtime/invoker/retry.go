package invoker

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy is an exponential backoff between attempts of one invocation, kept in memory.
type RetryPolicy struct {
	// InitialInterval is the delay before the first retry. Default 100ms.
	InitialInterval time.Duration
	// Factor multiplies the delay after each retry. Default 2.
	Factor float64
	// MaxInterval caps the delay. Default 10s.
	MaxInterval time.Duration
	// MaxAttempts bounds the attempts (the first one included), after which OnMaxAttempts
	// happens. 0 means the default, DefaultMaxAttempts (as restate-server); negative, unlimited.
	MaxAttempts int
	// OnMaxAttempts is what happens when the attempts are exhausted: the invocation is paused
	// (the default, as restate-server: an operator resumes it after fixing the deployment) or
	// killed (failed with the last error).
	OnMaxAttempts OnMaxAttempts
}

// DefaultMaxAttempts is restate-server's default attempt bound.
const DefaultMaxAttempts = 70

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.OnMaxAttempts == OnMaxAttemptsUnset {
		p.OnMaxAttempts = OnMaxAttemptsPause
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = 100 * time.Millisecond
	}
	if p.Factor < 1 {
		p.Factor = 2
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 10 * time.Second
	}
	return p
}

// Delay is the wait after the n-th failed attempt (n >= 1).
func (p RetryPolicy) Delay(n int) time.Duration {
	d := float64(p.InitialInterval) * math.Pow(p.Factor, float64(n-1))
	if d > float64(p.MaxInterval) || math.IsInf(d, 0) || math.IsNaN(d) {
		return p.MaxInterval
	}
	return time.Duration(d)
}

// Exhausted reports whether no attempt may follow the n-th failed one (never when MaxAttempts is
// negative: unlimited).
func (p RetryPolicy) Exhausted(n int) bool { return p.MaxAttempts > 0 && n >= p.MaxAttempts }

// retryAfter parses a Retry-After header (delay seconds or an HTTP date); 0 when absent or bad.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
