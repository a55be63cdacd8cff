package partition

import (
	"container/heap"
	"log/slog"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/storage"
)

// timerControl switches the timer service between leader (load every stored timer) and follower
// (forget them).
type timerControl struct{ leader bool }

// runTimers is the leader's timer service: it keeps the partition's durable timers in a heap and
// proposes FireTimer for each one whose wake time has come by this node's clock. The tables stay
// the truth: a new leader reloads them, and firing a timer twice is a no-op in the state machine.
func (p *Partition) runTimers() {
	defer p.wg.Done()
	var h timerHeap
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		select {
		case <-p.stop:
			return
		case c := <-p.timerCtl:
			h = h[:0]
			if c.leader {
				stored, err := storage.Timers(p.cfg.DB, 0)
				if err != nil {
					slog.Error("load timers", "partition", p.cfg.ID, "err", err)
				}
				h = append(h, stored...)
				heap.Init(&h)
			}
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
		done := p.propose(command.Command{Kind: command.KindFireTimer, FireTimer: &command.FireTimer{ID: t.ID, CompletionID: t.CompletionID, WakeTime: t.WakeTime}})
		go p.rearmOnFailure(t, done)
	}
}

func (p *Partition) rearmOnFailure(t storage.Timer, done chan proposalResult) {
	r := <-done
	if r.err == nil || !p.IsLeader() {
		return
	}
	slog.Warn("fire timer failed, retrying", "partition", p.cfg.ID, "invocation", t.ID, "err", r.err)
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
