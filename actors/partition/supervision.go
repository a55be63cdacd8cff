package partition

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/resolute-run/resolute/actors/partition/pb"
	"github.com/resolute-run/resolute/runtime/command"
)

// A partition that cannot run refuses work (admission.go) and keeps trying to recover:
//
//   - when becomeLeader cannot read its tables, it marks the partition down and tries again
//     after RecoverInterval (pb.RetryLeader), instead of panicking;
//   - when the supervisor gives up on an actor that kept panicking (more than MaxRestarts in
//     RestartWindow), the partition is marked down with the last panic as the reason, and the
//     supervisor spawns a fresh actor after RecoverInterval. Its Started re-derives all pending
//     work from the tables, as after any restart, and marks the partition up.

// DefaultRecoverInterval is the default NodeConfig.RecoverInterval.
const DefaultRecoverInterval = time.Second

func (p *Partition) markDown(reason string) {
	if _, was := p.health.down(); !was {
		slog.Error("partition stops accepting work: it cannot run", "partition", p.cfg.ID, "reason", reason, "retry_in", p.cfg.RecoverInterval)
	}
	p.health.setDown(reason, p.cfg.RecoverInterval)
}

func (p *Partition) markUp() {
	if p.health.setUp() {
		slog.Info("partition runs again and accepts work", "partition", p.cfg.ID)
	}
}

// awaitLeaderReady sends LeaderReady to the actor (self) once this replica, leader now, has
// applied its leadership's Fence: every entry committed before it took over is then applied here
// too, and the commands of attempts started under earlier leaderships (a deposed leader's attempt
// whose proposals still reach the log, forwarded or late) are stale from the fence on. A new
// leader commits the entries of earlier terms only with one of its own and applies them after
// dragonboat tells it that it leads: re-deriving the work from the tables before that would start
// attempts on journals that lack what the previous leader acknowledged, and a journaled Run would
// run again. Until then the replica takes proposals but leaves the leader's work alone (the
// actor treats what it applies as a follower does).
func (p *Partition) awaitLeaderReady(self *actor.PID) {
	epoch := p.leaderEpoch.Add(1)
	p.after(0, func() {
		for backoff := 50 * time.Millisecond; p.IsLeader() && p.leaderEpoch.Load() == epoch; backoff = min(2*backoff, time.Second) {
			term, err := p.fence()
			if err == nil {
				p.readyTerm.Store(term)
				p.readyEpoch.Store(epoch)
				p.system.Root.Send(self, &pb.LeaderReady{Epoch: epoch})
				return
			}
			slog.Warn("new leader cannot fence off the earlier leaderships yet, retrying", "partition", p.cfg.ID, "err", err)
			select {
			case <-time.After(backoff):
			case <-p.stop:
				return
			}
		}
	})
}

// leaderReady reports whether this replica's latest leadership applied its fence.
func (p *Partition) leaderReady() bool {
	e := p.readyEpoch.Load()
	return e != 0 && e == p.leaderEpoch.Load()
}

// fence proposes this leadership's Fence and waits until this replica applied it; it returns the
// leadership's term. Where the term is not known it only waits until every entry committed so
// far is applied (raftlog's Barrier), and returns 0.
func (p *Partition) fence() (uint64, error) {
	timeout, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelTimeout()
	ctx, cancel := cancelWhen(timeout, p.stop)
	defer cancel()
	info, err := p.cfg.Host.Shard(p.cfg.ShardID)
	if err != nil || info.Term == 0 {
		return 0, p.cfg.Host.Barrier(ctx, p.cfg.ShardID)
	}
	select {
	case r := <-p.propose(command.Command{Kind: command.KindFence, Fence: &command.Fence{Term: info.Term}}):
		if r.err != nil {
			return 0, r.err
		}
		return info.Term, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// retryLeaderLater sends pb.RetryLeader to the actor after RecoverInterval.
func (p *Partition) retryLeaderLater() {
	pid := p.pid.Load()
	p.after(p.cfg.RecoverInterval, func() { p.system.Root.Send(pid, &pb.RetryLeader{}) })
}

// after runs f after d unless the partition is closed first; the goroutine is counted in wg.
func (p *Partition) after(d time.Duration, f func()) {
	p.closed.Lock()
	defer p.closed.Unlock()
	if p.closed.yes {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-p.stop:
		}
	}()
}

// notePanic records the reason of a panic of the actor before the supervisor sees it. It must
// be deferred directly.
func (p *Partition) notePanic() {
	if r := recover(); r != nil {
		p.health.setLastPanic(fmt.Sprint(r))
		panic(r)
	}
}

// actorStopped handles the supervisor's giving up on p's actor.
func (s *supervisorActor) actorStopped(ctx actor.Context, who *actor.PID) {
	if s.closing() {
		return
	}
	for _, p := range s.parts {
		if pid := p.pid.Load(); pid == nil || pid.Id != who.Id {
			continue
		}
		p.markDown(fmt.Sprintf("its actor failed too often and was stopped; last failure: %s", p.health.lastPanic()))
		sys, self := ctx.ActorSystem(), ctx.Self()
		p.after(p.cfg.RecoverInterval, func() { sys.Root.Send(self, &pb.Respawn{Partition: p.cfg.ID}) })
		return
	}
}

func (s *supervisorActor) respawn(ctx actor.Context, p *Partition) {
	if s.closing() {
		return
	}
	pid, err := ctx.SpawnNamed(s.props(p), partitionActorName(p))
	if err != nil {
		slog.Error("respawn partition actor", "partition", p.cfg.ID, "err", err)
		sys, self := ctx.ActorSystem(), ctx.Self()
		p.after(p.cfg.RecoverInterval, func() { sys.Root.Send(self, &pb.Respawn{Partition: p.cfg.ID}) })
		return
	}
	p.pid.Store(pid)
}

func partitionActorName(p *Partition) string { return fmt.Sprintf("partition-%d", p.cfg.ID) }

func isPartitionActor(pid *actor.PID) bool { return strings.Contains(pid.Id, "partition-") }
