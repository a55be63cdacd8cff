package partition

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/resolute-run/resolute/actors/partition/pb"
	"github.com/resolute-run/resolute/runtime/ids"

	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// appliedActions are the actions this replica applied from the log: the partition actor's one
// message that is not protobuf (pb), as it never leaves the replica (see the .proto's note).
type appliedActions struct{ actions []statemachine.Action }

// partitionActor carries out a partition's actions. It holds no state that is not derived from
// the tables, so the supervisor may restart it at any time.
type partitionActor struct {
	p *Partition
	// ending is set while the actor restarts or stops: its parts' terminations are expected then.
	ending bool
	// ready is set while this replica leads and has applied its leadership's fence
	// (awaitLeaderReady): only then does the actor do the leader's work.
	ready bool
}

func (a *partitionActor) Receive(ctx actor.Context) {
	defer a.p.notePanic()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.ending = false
		a.p.spawnParts(ctx)
		switch {
		case a.p.IsLeader() && a.p.leaderReady():
			// A restart within a leadership that was fenced already.
			a.ready = true
			a.becomeLeader()
		case a.p.IsLeader():
			a.p.awaitLeaderReady(ctx.Self())
		default:
			a.p.markUp()
		}
	case *pb.LeaderReady:
		if a.p.IsLeader() && m.Epoch == a.p.leaderEpoch.Load() {
			a.ready = true
			a.becomeLeader()
		}
	case *pb.RetryLeader:
		if a.p.IsLeader() && a.ready {
			a.becomeLeader()
		}
	case *pb.RecheckAttempt:
		id, err := ids.ParseInvocationID(m.InvocationId)
		if err != nil {
			slog.Error("recheck attempt: bad invocation id", "partition", a.p.cfg.ID, "err", err)
			return
		}
		if a.p.IsLeader() {
			if err := a.recheck(id); err != nil {
				slog.Warn("recheck attempt", "partition", a.p.cfg.ID, "invocation", id, "err", err)
			}
		}
	case *actor.Restarting:
		// Attempts may have missed notifications lost with the failed message: restart them all
		// from their journals once Started runs again.
		a.ending = true
		a.p.cfg.Invoker.AbortAll(a.p)
	case *actor.Stopping:
		a.ending = true
	case *actor.Terminated:
		// A part stopped outside a restart or a stop: its strategy gave up on it. The partition
		// actor fails, and its supervisor restarts it with fresh parts.
		if !a.ending {
			panic(fmt.Sprintf("partition %d: part %s stopped after failing too often", a.p.cfg.ID, m.Who.Id))
		}
	case *pb.LeaderChanged:
		a.ready = false
		if m.IsLeader {
			a.p.awaitLeaderReady(ctx.Self())
		} else {
			a.p.cfg.Invoker.AbortAll(a.p)
			a.p.controlTimers(false)
		}
	case appliedActions:
		if a.p.IsLeader() && a.ready {
			a.carryOut(m.actions)
		} else {
			a.answerWaiters(m.actions)
		}
	case *pb.Crash:
		panic("partition actor: crash requested")
	}
}

// becomeLeader re-derives every pending action from the tables. If it cannot read them, the
// partition refuses work until a later try succeeds (see supervision.go).
func (a *partitionActor) becomeLeader() {
	p := a.p
	active, err := p.activeInvocations()
	if err != nil {
		p.markDown(fmt.Sprintf("cannot read the running invocations: %v", err))
		p.retryLeaderLater()
		return
	}
	for _, id := range active {
		p.cfg.Invoker.Start(p, id)
	}
	p.wakeShuffle()
	p.controlTimers(true)
	for _, id := range p.waiters.ids() {
		if st, ok, err := p.Status(id); err == nil && ok && st.Phase == storage.Completed && st.Result != nil {
			p.waiters.resolve(id, *st.Result)
		}
	}
	p.markUp()
	slog.Debug("partition leader", "partition", p.cfg.ID, "running", len(active))
}

// answerWaiters, on a replica that does not lead, answers the callers waiting at this node's
// ingress for invocations that ended (their proposals went to the leader through the log); the
// rest of the actions are the leader's.
func (a *partitionActor) answerWaiters(actions []statemachine.Action) {
	for _, act := range actions {
		if act.Kind == statemachine.Finished {
			a.p.waiters.resolve(act.ID, *act.Result)
		}
	}
}

func (a *partitionActor) carryOut(actions []statemachine.Action) {
	p := a.p
	for _, act := range actions {
		switch act.Kind {
		case statemachine.StartAttempt:
			p.cfg.Invoker.Start(p, act.ID)
		case statemachine.Notify:
			p.cfg.Invoker.Notify(act.ID, act.Index, act.Entry)
		case statemachine.StopAttempt:
			p.cfg.Invoker.Abort(act.ID)
		case statemachine.YieldAttempt:
			p.cfg.Invoker.Yield(p, act.ID)
		case statemachine.Finished:
			p.waiters.resolve(act.ID, *act.Result)
			if e := act.Ended; e != nil {
				p.cfg.Invoker.Ended(act.ID, e.Target, e.Trace, e.CreatedAt, act.Result.Failure)
			}
		case statemachine.DeliverOutbox:
			p.wakeShuffle()
		case statemachine.ArmTimer:
			p.armTimer(storage.Timer{WakeTime: act.WakeTime, ID: act.ID, CompletionID: act.CompletionID})
		}
	}
}
