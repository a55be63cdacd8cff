package invoker

import (
	"errors"

	"github.com/resolute-run/resolute/runtime/ids"
)

// Observer is told of every attempt that chose a deployment, once it is over: the deployment and
// whether the attempt failed (it will be retried, or the invocation paused or failed by the
// runtime). Attempts aborted by the partition (cancellation, leadership lost) or found stale are
// neither attempts nor failures of the deployment. Called on the attempt's goroutine; must be cheap.
type Observer interface {
	Attempted(deployment ids.DeploymentID, failed bool)
}

func (v *invocation) observe(a *attempt, f *failure) {
	o := v.inv.cfg.Observer
	if o == nil || a.deployment.ID == (ids.DeploymentID{}) {
		return
	}
	if f != nil && (v.ctx.Err() != nil || errors.Is(f.err, ErrStale)) {
		return
	}
	o.Attempted(a.deployment.ID, f != nil)
}
