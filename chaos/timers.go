//go:build linux

package chaos

import (
	"fmt"
	"slices"
	"time"
)

// timer is one durable timer of the workload, in Unix ns: a nap's sleep
// (armed by its first Run step, fired when its second one ran), a send
// delayed by ingress (armed when the client sent it) or by a fanout (armed
// after the fanout's Run step); a delayed add fired when its Run step ran.
// The true due time is at or after due: each is armed a little after the
// moment taken here.
type timer struct {
	o                 *op
	armed, due, fired int64
}

// timeGrain is the resolution of the protocol's timer times (Unix ms): a
// due time rounds down by up to this much.
const timeGrain = int64(time.Millisecond)

// timers lists the timers whose op has an output to read the firing from.
func timers(r *run, outs outputs) []timer {
	var ts []timer
	ms := func(n int) int64 { return int64(n) * int64(time.Millisecond) }
	for _, o := range r.ops {
		switch {
		case o.kind == kindNap:
			if v, ok := outs.nap[o]; ok {
				ts = append(ts, timer{o: o, armed: v.Before.At, due: v.Before.At + ms(o.delay), fired: v.After.At})
			}
		case o.kind == kindSend && o.delay > 0:
			if v, ok := outs.add[o]; ok {
				armed := r.start.UnixNano() + o.call
				ts = append(ts, timer{o: o, armed: armed, due: armed + ms(o.delay), fired: v.At})
			}
		case o.kind == kindSub && o.delay > 0:
			v, ok := outs.add[o]
			fan, fok := outs.fan[o.parent]
			if ok && fok {
				ts = append(ts, timer{o: o, armed: fan.At, due: fan.At + ms(o.delay), fired: v.At})
			}
		}
	}
	return ts
}

// isTimer reports whether o waits on a timer: a nap, a delayed send or sub.
func isTimer(o *op) bool {
	return o.kind == kindNap || (o.kind == kindSend || o.kind == kindSub) && o.delay > 0
}

// checkTimers: every acknowledged op with a timer (sleep or delayed send)
// fired, its add is applied exactly once, and it fired no earlier than due.
// It also counts the timers armed before a kill by when they fell due.
func checkTimers(r *run, outs outputs) Check {
	var bad []string
	applied := map[string]int{}
	for _, s := range r.dumps {
		for _, id := range s.Applied {
			applied[id]++
		}
	}
	ts := timers(r, outs)
	fired := map[*op]bool{}
	for _, t := range ts {
		fired[t.o] = true
		if t.fired < t.due-timeGrain {
			armed := time.Duration(t.armed - r.start.UnixNano()).Round(time.Millisecond)
			bad = append(bad, fmt.Sprintf("%s (%s %dms armed at %v): fired %v before due", t.o.id, t.o.kind, t.o.delay, armed, time.Duration(t.due-t.fired)))
		}
	}
	for _, o := range r.ops {
		if !isTimer(o) || !o.acked {
			continue
		}
		_, dumped := r.dumps[o.key]
		switch n := applied[o.id]; {
		case !fired[o] && o.attached:
			bad = append(bad, fmt.Sprintf("%s (%s %dms): answered without a firing time", o.id, o.kind, o.delay))
		case n != 1 && dumped:
			bad = append(bad, fmt.Sprintf("%s (%s %dms): its add applied %d times", o.id, o.kind, o.delay, n))
		}
	}
	slices.Sort(bad)
	st := timerStats(r, ts)
	return Check{Name: "timers fire once, never early", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d sleeps, %d delayed sends; armed before a kill and due: %d in the second before it, %d while down, %d after the restart",
			st.Sleeps, st.Delayed, st.Before, st.During, st.After), listed(bad))}
}

// timerStats counts the timers by kind and by when they fell due relative
// to each kill they were armed before.
func timerStats(r *run, ts []timer) TimerStats {
	var st TimerStats
	for _, t := range ts {
		if t.o.kind == kindNap {
			st.Sleeps++
		} else {
			st.Delayed++
		}
		for _, k := range r.kills {
			down := r.start.UnixNano() + int64(k.At)
			up := down + int64(k.Downtime)
			switch {
			case t.armed >= down:
			case t.due >= down-int64(time.Second) && t.due < down:
				st.Before++
			case t.due >= down && t.due <= up:
				st.During++
			case t.due > up:
				st.After++
			}
		}
	}
	return st
}
