package invoker

import (
	"errors"

	"github.com/resolute-run/resolute/runtime/ids"
)

// Observer is told of every attempt that chose a deployment, once it is over: the deployment and
// whether the attempt failed (it will be retried, or the invocation paused or failed by the
// runtime). An attempt aborted by the partition (kill, cancellation, leadership lost) or found
// stale is an attempt but not a failure of the deployment. Called on the attempt's goroutine;
// must be cheap.
type Observer interface {
	Attempted(deployment ids.DeploymentID, failed bool)
}

func (v *invocation) observe(a *attempt, f *failure) {
	v.maybeProposeEvent(a, f) // events.go
	o := v.inv.cfg.Observer
	if o == nil || a.deployment.ID == (ids.DeploymentID{}) {
		return
	}
	failed := f != nil && v.ctx.Err() == nil && !errors.Is(f.err, ErrStale)
	o.Attempted(a.deployment.ID, failed)
}
