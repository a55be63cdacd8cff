package partition

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/resolute-run/resolute/actors/partition/pb"
)

// A partition's moving parts are loops (the proposer that batches commands into log entries, the
// completer that hands proposals their outcomes, the timer service and the outbox shuffle), each
// run by a child actor of the partition actor. A panic in a loop fails its actor; the partition
// actor's strategy restarts it (partRestarts within partRestartWindow), and a part that keeps
// failing stops, which fails the partition actor, whose own supervisor restarts it with fresh
// parts or, in the end, marks the partition down (supervision.go).
//
// A restart loses no work, because a loop keeps nothing that is not in the partition (its
// channels, which outlive the loop) or in the tables: a stopped loop finishes the step it is in
// (a batch is handed to the completer, an awaited entry's outcomes are handed out); a proposer
// that panics mid-batch fails that batch's proposals (nothing written: their callers retry, or
// unknown once proposed: raftlog.ErrProposal, and the state machine deduplicates what is proposed
// again), a completer that panics fails the rest of its entry's proposals as unknown; the timer
// service reloads the stored timers when it starts on a leader, and the shuffle re-reads the
// outbox.

// partRestarts within partRestartWindow: how often a part may fail before its partition actor
// fails too.
const (
	partRestarts      = 10
	partRestartWindow = 10 * time.Second
)

// part is one of a partition's loops. loop returns when stop is closed.
type part struct {
	name string
	loop func(p *Partition, stop <-chan struct{})
}

var partitionParts = []part{
	{"proposer", (*Partition).runProposer},
	{"completer", (*Partition).runCompleter},
	{"timers", (*Partition).runTimers},
	{"shuffle", (*Partition).runShuffle},
}

// partActor runs one part's loop while it lives: Started starts the loop, Stopping and
// Restarting tell it to stop. They do not wait for it: a loop in the middle of a step (a batch
// being handed to the completer, an entry whose outcome is awaited) finishes that step first, and
// the next loop of the same part starts only once the previous one has returned, so a part never
// runs twice at once and a parent's restart is never held up by a slow step.
type partActor struct {
	p    *Partition
	part part
	stop chan struct{}
}

func (a *partActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx.ActorSystem(), ctx.Self())
	case *actor.Stopping, *actor.Restarting:
		a.halt()
	case *pb.PartFailed:
		panic(fmt.Sprintf("partition %d %s: %s", a.p.cfg.ID, m.Part, m.Reason))
	}
}

func (a *partActor) start(sys *actor.ActorSystem, self *actor.PID) {
	a.stop = make(chan struct{})
	stop := either(a.stop, a.p.stop)
	name := a.part.name
	done := make(chan struct{})
	prev := a.p.parts.handOver(name, done)
	a.p.goLoop(done, func() {
		if prev != nil {
			select {
			case <-prev: // the previous loop of this part has returned
			case <-a.p.stop:
				return
			}
		}
		defer func() {
			if r := recover(); r != nil {
				slog.Error("partition part failed; its supervisor restarts it", "partition", a.p.cfg.ID, "part", name, "panic", r)
				sys.Root.Send(self, &pb.PartFailed{Part: name, Reason: fmt.Sprint(r)})
			}
		}()
		a.part.loop(a.p, stop)
	})
}

func (a *partActor) halt() {
	if a.stop != nil {
		close(a.stop)
		a.stop = nil
	}
}

// partLoops records, per part, the channel closed when its latest loop returns.
type partLoops struct {
	mu   sync.Mutex
	done map[string]<-chan struct{}
}

// handOver records done as the latest loop of part name and returns the previous one's.
func (l *partLoops) handOver(name string, done <-chan struct{}) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.done = map[string]<-chan struct{}{}
	}
	prev := l.done[name]
	l.done[name] = done
	return prev
}

// either returns a channel closed once a or b is.
func either(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		select {
		case <-a:
		case <-b:
		}
	}()
	return out
}

// goLoop runs f in a goroutine counted in wg and closes done when it returns; once the
// partition is closed it only closes done.
func (p *Partition) goLoop(done chan struct{}, f func()) {
	p.closed.Lock()
	defer p.closed.Unlock()
	if p.closed.yes {
		close(done)
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		f()
	}()
}

// spawnParts starts the partition's parts as children of its actor (ctx).
func (p *Partition) spawnParts(ctx actor.Context) {
	for _, pt := range partitionParts {
		props := actor.PropsFromProducer(func() actor.Actor { return &partActor{p: p, part: pt} })
		if _, err := ctx.SpawnNamed(props, pt.name); err != nil {
			panic(fmt.Sprintf("partition %d: spawn %s: %v", p.cfg.ID, pt.name, err))
		}
	}
}

// partsStrategy is how a partition actor supervises its parts.
func partsStrategy() actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(partRestarts, partRestartWindow, actor.DefaultDecider)
}
