package partition

import (
	"container/heap"
	"log/slog"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// timerControl switches the timer service between leader (load every stored timer) and follower
// (forget them).
type timerControl struct{ leader bool }

// runTimers is the leader's timer service: it keeps the partition's durable timers in a heap and
// proposes FireTimer for each one whose wake time has come by this node's clock. The tables stay
// the truth: a new leader reloads them, and firing a timer twice is a no-op in the state machine.
//
// It also runs the leader's cleaner: every cleanupInterval it proposes Expire for the due entries
// of the partition's expiry index (ended invocations whose retention is over), at most one
// proposal in flight.
//
// It is a part (parts.go): it returns when stop is closed, and a new loop (after a failure)
// reloads the stored timers at once if this replica leads.
func (p *Partition) runTimers(stop <-chan struct{}) {
	var h timerHeap
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	cleanup := time.NewTicker(cleanupInterval)
	defer cleanup.Stop()
	var leader bool
	cleaning := make(chan struct{}, 1) // holds a token while an Expire proposal is in flight
	control := func(c timerControl) {
		h = h[:0]
		leader = c.leader
		if c.leader {
			stored, err := storage.Timers(p.cfg.DB, 0)
			if err != nil {
				slog.Error("load timers", "partition", p.cfg.ID, "err", err)
			}
			h = append(h, stored...)
			heap.Init(&h)
		}
	}
	if p.IsLeader() {
		control(timerControl{leader: true})
		p.fireDue(&h)
		wake.Reset(nextWake(h))
	}
	for {
		select {
		case <-stop:
			return
		case <-cleanup.C:
			if leader {
				p.expireDue(cleaning)
			}
			continue
		case c := <-p.timerCtl:
			control(c)
		case t := <-p.timerArm:
			heap.Push(&h, t)
		case <-wake.C:
		}
		p.fireDue(&h)
		wake.Reset(nextWake(h))
	}
}

// fireDue proposes every timer due now; a failed proposal comes back to the heap after a pause.
func (p *Partition) fireDue(h *timerHeap) {
	now := time.Now().UnixMilli()
	for h.Len() > 0 && (*h)[0].WakeTime <= now {
		t := heap.Pop(h).(storage.Timer)
		if f := p.hook().beforeFire; f != nil {
			f(t)
		}
		done := p.propose(command.Command{Kind: command.KindFireTimer, FireTimer: &command.FireTimer{ID: t.ID, CompletionID: t.CompletionID, WakeTime: t.WakeTime}})
		go p.rearmOnFailure(t, done)
	}
}

// rearmOnFailure puts t back in the heap, after a pause, when its FireTimer failed or came too
// early for the log's time (statemachine.Early: this node's clock runs ahead of the log's).
func (p *Partition) rearmOnFailure(t storage.Timer, done chan proposalResult) {
	r := <-done
	early := r.err == nil && r.outcome.Code == statemachine.Early
	if (r.err == nil && !early) || !p.IsLeader() {
		return
	}
	if early {
		slog.Debug("timer fired before the log's time reached it, retrying", "partition", p.cfg.ID, "invocation", t.ID, "wake", t.WakeTime, "outcome", r.outcome.Message)
	} else {
		slog.Warn("fire timer failed, retrying", "partition", p.cfg.ID, "invocation", t.ID, "err", r.err)
	}
	select {
	case <-time.After(100 * time.Millisecond):
	case <-p.stop:
		return
	}
	select {
	case p.timerArm <- t:
	case <-p.stop:
	}
}

func nextWake(h timerHeap) time.Duration {
	if len(h) == 0 {
		return time.Hour
	}
	return max(time.Until(time.UnixMilli(h[0].WakeTime)), time.Millisecond)
}

// timerHeap orders timers by wake time.
type timerHeap []storage.Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].WakeTime < h[j].WakeTime }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(storage.Timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (p *Partition) controlTimers(leader bool) {
	select {
	case p.timerCtl <- timerControl{leader: leader}:
	case <-p.stop:
	}
}

func (p *Partition) armTimer(t storage.Timer) {
	select {
	case p.timerArm <- t:
	case <-p.stop:
	}
}

// cleanupInterval is how often the leader looks for invocations whose retention is over.
const cleanupInterval = time.Second

// maxExpiryBatch bounds one Expire proposal.
const maxExpiryBatch = 1000

// expireDue proposes Expire for the expiry index's entries due by this node's clock, unless the
// previous proposal is still in flight (cleaning holds a token then).
func (p *Partition) expireDue(cleaning chan struct{}) {
	select {
	case cleaning <- struct{}{}:
	default:
		return
	}
	due, err := storage.DueExpiries(p.cfg.DB, time.Now().UnixMilli(), maxExpiryBatch)
	if err != nil || len(due) == 0 {
		if err != nil {
			slog.Error("read the expiry index", "partition", p.cfg.ID, "err", err)
		}
		<-cleaning
		return
	}
	x := &command.Expire{Entries: make([]command.ExpiryEntry, len(due))}
	for i, e := range due {
		x.Entries[i] = command.ExpiryEntry{At: e.At, ID: e.ID, JournalOnly: e.JournalOnly}
	}
	done := p.propose(command.Command{Kind: command.KindExpire, Expire: x})
	go func() {
		select {
		case r := <-done:
			if r.err != nil && p.IsLeader() {
				slog.Warn("expire proposal failed; retried at the next tick", "partition", p.cfg.ID, "err", r.err)
			}
		case <-p.stop:
		}
		<-cleaning
	}()
}
