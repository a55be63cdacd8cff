package invoker

import (
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
)

// AttemptInfo is what the invoker knows of an invocation it is running or retrying (restate's
// invoker status, shown by sys_invocation): like restate-server, kept in memory by the leader
// only, and gone once the invocation leaves the invoker (ended, suspended, paused) or its
// partition changes leader.
type AttemptInfo struct {
	// Attempt is the number of the current (or the last) attempt since the invoker took the
	// invocation up, 1 for the first.
	Attempt int
	// Running: an attempt is under way; otherwise it is backing off until NextRetryAt.
	Running     bool
	NextRetryAt time.Time
	// LastFailure and LastFailureAt: the last failed attempt's error, if any.
	LastFailure   string
	LastFailureAt time.Time
	// Deployment and Protocol of the current or last attempt, once it chose them.
	Deployment ids.DeploymentID
	Protocol   int
}

// Attempts reports what the invoker knows of invocation id, if it is running or retrying it.
func (i *Invoker) Attempts(id ids.InvocationID) (AttemptInfo, bool) {
	i.mu.Lock()
	v := i.mu.attempts[id]
	i.mu.Unlock()
	if v == nil {
		return AttemptInfo{}, false
	}
	v.info.Lock()
	defer v.info.Unlock()
	return v.info.a, true
}

func (v *invocation) noteAttempt(number int) {
	v.info.Lock()
	v.info.a.Attempt, v.info.a.Running, v.info.a.NextRetryAt = number, true, time.Time{}
	v.info.Unlock()
}

func (v *invocation) noteDeployment(d ids.DeploymentID, protocol int) {
	v.info.Lock()
	v.info.a.Deployment, v.info.a.Protocol = d, protocol
	v.info.Unlock()
}

func (v *invocation) noteFailure(err error, at time.Time, retryIn time.Duration) {
	v.info.Lock()
	v.info.a.Running, v.info.a.LastFailure, v.info.a.LastFailureAt = false, err.Error(), at
	v.info.a.NextRetryAt = time.Time{}
	if retryIn > 0 {
		v.info.a.NextRetryAt = at.Add(retryIn)
	}
	v.info.Unlock()
}
