package invoker

import (
	"log/slog"
	"sync"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
)

// DefaultFailureLogInterval is how often failed attempts against one deployment are summarized.
const DefaultFailureLogInterval = 10 * time.Second

// maxCountedInvocations bounds the distinct invocations a summary counts (memory).
const maxCountedInvocations = 100_000

// failureLog aggregates the log of failed attempts per deployment, so a dead deployment with
// thousands of invocations retrying gives one line per interval, not one per attempt: the first
// failure of an interval is logged at once (with its invocation, so the operator can look),
// the next ones are counted, and the first failure after the interval logs their summary and
// opens the next interval. Every attempt is still logged at debug level.
type failureLog struct {
	mu struct {
		sync.Mutex
		interval time.Duration
		m        map[string]*failureCount
	}
}

type failureCount struct {
	since       time.Time
	attempts    int
	invocations map[ids.InvocationID]struct{}
	lastErr     string
}

// attemptFailures is the process's failure log (shared by every Invoker: deployments are named
// by id or URI, which differ between servers).
var attemptFailures = newFailureLog(DefaultFailureLogInterval)

func newFailureLog(interval time.Duration) *failureLog {
	l := &failureLog{}
	l.mu.interval = interval
	l.mu.m = map[string]*failureCount{}
	return l
}

func (l *failureLog) setInterval(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.interval = d
}

func (l *failureLog) note(log *slog.Logger, now time.Time, deployment string, id ids.InvocationID, attempt int, retryIn time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.mu.m[deployment]
	if c != nil && now.Sub(c.since) < l.mu.interval {
		c.attempts++
		if len(c.invocations) < maxCountedInvocations {
			c.invocations[id] = struct{}{}
		}
		c.lastErr = err.Error()
		return
	}
	if c != nil && c.attempts > 0 {
		log.Warn("invocation attempts failed against deployment", "deployment", deployment,
			"attempts", c.attempts, "invocations", len(c.invocations), "during", now.Sub(c.since).Round(time.Millisecond), "last_err", c.lastErr)
	}
	l.mu.m[deployment] = &failureCount{since: now, invocations: map[ids.InvocationID]struct{}{}}
	log.Warn("invocation attempt failed", "deployment", deployment, "invocation", id.String(), "attempt", attempt, "retry_in", retryIn, "err", err,
		"then", "further failures against this deployment are summarized every "+l.mu.interval.String())
}

// deploymentOf names the deployment an attempt ran against (its id, else its URI), or the
// target service when the deployment is unknown.
func (v *invocation) deploymentOf(a *attempt) string {
	if a.deployment.ID != (ids.DeploymentID{}) {
		return a.deployment.ID.String()
	}
	if a.target.Service == "" {
		return "unknown"
	}
	d, err := v.inv.resolver.Deployment(a.target.Service)
	if err != nil {
		return "service " + a.target.Service
	}
	if d.ID != (ids.DeploymentID{}) {
		return d.ID.String()
	}
	return d.URI
}
