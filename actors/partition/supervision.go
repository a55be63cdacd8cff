package partition

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/resolute-run/resolute/actors/partition/pb"
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
