package statemachine

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Journal events (restate's sys_journal_events: TransientError, Paused): a running
// invocation's events are stored in the order applied, each after the journal's entries so far
// and at the log's time; an invocation that is not running gets none; dropping the journal
// (purge, purge of the journal, retention) drops them; and the same log gives the same tables.
func TestJournalEvents(t *testing.T) {
	h := newHarness(t)
	svc := command.Target{Service: "S", Handler: "h", ServiceType: command.Service}
	event := func(id ids.InvocationID, msg string, index *uint32) command.Command {
		te := &command.TransientError{Code: 500, Message: msg, DocCode: "RT0007", RelatedCommandIndex: index}
		if index != nil {
			te.RelatedCommandType = uint16(protocol.RunCommandType)
		}
		return command.Command{Kind: command.KindJournalEvent, JournalEvent: &command.JournalEvent{ID: id, TransientError: te}, Term: 1}
	}
	invoke := func(name string, ret *command.Retention) ids.InvocationID {
		id := h.id(name, svc)
		h.want(h.apply(command.Command{Kind: command.KindInvoke, Invoke: &command.Invocation{ID: id, Target: svc, Retention: ret}}), "applied")
		return id
	}
	run := &command.AppendEntry{CommandIndex: 1, Entry: command.Entry{Type: uint16(protocol.RunCommandType), Payload: payload(&pb.RunCommandMessage{Name: "step", ResultCompletionId: 1})}}
	fail := func(id ids.InvocationID) command.Command {
		return command.Command{Kind: command.KindFail, Fail: &command.Fail{ID: id, Failure: command.Failure{Code: 500, Message: "gave up"}}}
	}

	a, b := invoke("a", nil), invoke("b", nil)
	h.want(h.apply(event(a, "handler boom", nil), event(b, "other", nil)), "applied", "applied")
	h.now = 2000
	ae := *run
	ae.ID = a
	h.want(h.apply(command.Command{Kind: command.KindAppendEntry, AppendEntry: &ae}), "applied")
	h.now = 3000
	h.want(h.apply(event(a, "step boom", new(uint32(1))), event(a, "step boom", new(uint32(1)))), "applied", "applied")
	h.wantEvents(a, "1@1000 after 0: 500 handler boom", "2@3000 after 1: 500 step boom (command 1)", "3@3000 after 1: 500 step boom (command 1)")
	h.wantEvents(b, "1@1000 after 0: 500 other")

	// Not running: none stored.
	h.want(h.apply(event(h.id("nobody", svc), "x", nil)), "stale")
	h.want(h.apply(fail(a)), "applied")
	h.want(h.apply(event(a, "late", nil)), "stale")
	h.wantEvents(a, "1@1000 after 0: 500 handler boom", "2@3000 after 1: 500 step boom (command 1)", "3@3000 after 1: 500 step boom (command 1)")

	// Dropping the journal drops the events: a purge of the journal, a purge, a retention of 0.
	h.want(h.apply(command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: a, JournalOnly: true}}), "applied")
	h.wantEvents(a)
	h.wantEvents(b, "1@1000 after 0: 500 other")
	h.want(h.apply(fail(b), command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: b}}), "applied", "applied")
	h.wantEvents(b)
	c := invoke("c", &command.Retention{})
	h.want(h.apply(event(c, "c boom", nil)), "applied")
	h.wantEvents(c, "1@3000 after 0: 500 c boom")
	h.want(h.apply(fail(c)), "applied")
	h.wantEvents(c)
	d := invoke("d", nil)
	paused := command.Command{Kind: command.KindJournalEvent, Term: 1, JournalEvent: &command.JournalEvent{ID: d,
		Paused: &command.Paused{LastFailure: &command.TransientError{Code: 500, Message: "kept"}}}}
	h.want(h.apply(event(d, "kept", nil), paused), "applied", "applied")
	h.wantEvents(d, "1@3000 after 0: 500 kept", "2@3000 after 0: paused 500 kept")

	for i := 0; i < 2; i++ {
		db := openMem(t)
		sm := &StateMachine{Partition: h.sm.Partition}
		for _, b := range h.batches {
			if _, err := h.applyTo(sm, db, b); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(dump(t, db), dump(t, h.db)) {
			t.Fatal("replay diverged")
		}
	}
	if !bytes.Contains(dump(t, h.db), fmt.Appendf(nil, "%x", "kept")) { // the dump is hex
		t.Fatal("the dump compared has no event") // the replay check would be empty
	}
}

// An operator's pause is recorded as a Paused event without a failure when it takes effect: at
// once for a suspended invocation, when the yielding attempt ends for a running one (by its
// Suspension, or the invoker's Yielded pause, which may carry the attempt's failure). The
// invoker's own pause after the last attempt proposes its event itself: none is added.
func TestOperatorPauseEvents(t *testing.T) {
	h := newHarness(t)
	svc := command.Target{Service: "S", Handler: "h", ServiceType: command.Service}
	invoke := func(name string) ids.InvocationID {
		id := h.id(name, svc)
		h.want(h.apply(command.Command{Kind: command.KindInvoke, Invoke: &command.Invocation{ID: id, Target: svc}}), "applied")
		return id
	}
	pause := func(id ids.InvocationID, p command.Pause) command.Command {
		p.ID = id
		return command.Command{Kind: command.KindPause, Pause: &p}
	}
	sleep := func(id ids.InvocationID) command.Command {
		return command.Command{Kind: command.KindAppendEntry, AppendEntry: &command.AppendEntry{ID: id, CommandIndex: 1,
			Entry: command.Entry{Type: uint16(protocol.SleepCommandType), Payload: payload(&pb.SleepCommandMessage{WakeUpTime: 9000, ResultCompletionId: 1})}}}
	}
	suspend := func(id ids.InvocationID) command.Command {
		return command.Command{Kind: command.KindSuspend, Suspend: &command.Suspend{ID: id, WaitingCompletions: []uint32{1}}}
	}

	running := invoke("running")
	h.want(h.apply(pause(running, command.Pause{}), sleep(running)), "applied", "applied")
	h.wantEvents(running) // requested: it still runs
	h.want(h.apply(suspend(running)), "applied")
	h.wantEvents(running, "1@1000 after 1: paused")

	suspended := invoke("suspended")
	h.want(h.apply(sleep(suspended), suspend(suspended), pause(suspended, command.Pause{})), "applied", "applied", "applied")
	h.wantEvents(suspended, "1@1000 after 1: paused")

	failing := invoke("failing")
	h.want(h.apply(pause(failing, command.Pause{}), pause(failing, command.Pause{Yielded: true, LastFailure: &command.Failure{Code: 500, Message: "closed"}})), "applied", "applied")
	h.wantEvents(failing, "1@1000 after 0: paused")

	exhausted := invoke("exhausted")
	h.want(h.apply(pause(exhausted, command.Pause{LastFailure: &command.Failure{Code: 500, Message: "boom"}, Attempts: 3})), "applied")
	h.wantEvents(exhausted)
}

// want checks the outcomes an apply printed, in order.
func (h *harness) want(out string, outcomes ...string) {
	h.t.Helper()
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if o, ok := strings.CutPrefix(l, "outcome: "); ok {
			got = append(got, strings.Fields(o)[0])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(outcomes) {
		h.t.Fatalf("outcomes %v, want %v:\n%s", got, outcomes, out)
	}
}

// wantEvents checks invocation id's stored events: "seq@time after index: code message
// (command index)".
func (h *harness) wantEvents(id ids.InvocationID, want ...string) {
	h.t.Helper()
	var got []string
	err := storage.ScanJournalEventsOf(h.db, id, func(_ ids.InvocationID, seq uint32, e *storage.JournalEvent) bool {
		te, kind := e.TransientError, ""
		if e.Paused != nil {
			te, kind = e.Paused.LastFailure, "paused "
		}
		if te == nil {
			got = append(got, fmt.Sprintf("%d@%d after %d: paused", seq, e.At, e.AfterEntry))
			return true
		}
		s := fmt.Sprintf("%d@%d after %d: %s%d %s", seq, e.At, e.AfterEntry, kind, te.Code, te.Message)
		if te.RelatedCommandIndex != nil {
			s += fmt.Sprintf(" (command %d)", *te.RelatedCommandIndex)
		}
		got = append(got, s)
		return true
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Fatalf("events of %s:\n got %q\nwant %q", h.show(id), got, want)
	}
}
