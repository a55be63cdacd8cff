package partition

import (
	"fmt"
	"sync"

	"github.com/resolute-run/resolute/actors/partition/pb"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Nothing active may be left without an attempt. Two things could leave an invocation running
// with nobody working on it after an attempt was cut off (an actor restart aborts every attempt):
//
//   - the aborted attempt's proposals may still sit in the proposer's queue. A new attempt that
//     read its snapshot before they were applied replays a journal without them, and its own
//     entries then land at indexes the journal has moved past: Stale. So Snapshot first waits
//     until every proposal an attempt of the invocation made has its outcome (attemptProposals);
//   - a Stale journal entry ends the attempt without a retry (the invoker cannot tell an
//     outdated attempt from a live one). So the actor is asked to check (pb.RecheckAttempt): if the
//     invocation is still running, its attempt is restarted from a fresh snapshot.

// attemptProposals counts, per invocation, the attempts' proposals whose outcome is not known.
type attemptProposals struct {
	mu struct {
		sync.Mutex
		m map[ids.InvocationID]*pendingProposals
	}
}

type pendingProposals struct {
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (a *attemptProposals) init() { a.mu.m = map[ids.InvocationID]*pendingProposals{} }

func (a *attemptProposals) add(id ids.InvocationID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pp := a.mu.m[id]
	if pp == nil {
		pp = &pendingProposals{idle: make(chan struct{})}
		a.mu.m[id] = pp
	}
	pp.n++
}

func (a *attemptProposals) done(id ids.InvocationID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pp := a.mu.m[id]
	if pp.n--; pp.n == 0 {
		close(pp.idle)
		delete(a.mu.m, id)
	}
}

// wait returns once no proposal of id is pending (calling waits first, if it must wait).
func (a *attemptProposals) wait(id ids.InvocationID, stop <-chan struct{}, waits func(ids.InvocationID)) error {
	a.mu.Lock()
	pp := a.mu.m[id]
	a.mu.Unlock()
	if pp == nil {
		return nil
	}
	if waits != nil {
		waits(id)
	}
	select {
	case <-pp.idle:
		return nil
	case <-stop:
		return ErrClosed
	}
}

// attemptOf is the invocation whose attempt proposes cmd.
func attemptOf(cmd command.Command) (ids.InvocationID, bool) {
	switch {
	case cmd.Kind == command.KindAppendEntry && cmd.AppendEntry != nil:
		return cmd.AppendEntry.ID, true
	case cmd.Kind == command.KindEnd && cmd.End != nil:
		return cmd.End.ID, true
	case cmd.Kind == command.KindSuspend && cmd.Suspend != nil:
		return cmd.Suspend.ID, true
	case cmd.Kind == command.KindFail && cmd.Fail != nil:
		return cmd.Fail.ID, true
	case cmd.Kind == command.KindPause && cmd.Pause != nil:
		return cmd.Pause.ID, true
	}
	return ids.InvocationID{}, false
}

// recheck asks the actor to make sure invocation id, if running, has an attempt.
func (p *Partition) recheck(id ids.InvocationID) {
	if pid := p.pid.Load(); pid != nil {
		p.system.Root.Send(pid, &pb.RecheckAttempt{InvocationId: id.String()})
	}
}

// recheck restarts the attempt of id if the invocation still runs: the attempt that got a Stale
// answer has ended (or is ending) without a retry. Abort then Start makes the invoker run a new
// attempt once the old goroutine has returned.
func (a *partitionActor) recheck(id ids.InvocationID) error {
	p := a.p
	st, found, err := p.Status(id)
	if err != nil {
		return fmt.Errorf("partition %d: recheck %s: %w", p.cfg.ID, id, err)
	}
	if !found || st.Phase != storage.Running {
		return nil
	}
	p.cfg.Invoker.Abort(id)
	p.cfg.Invoker.Start(p, id)
	return nil
}
