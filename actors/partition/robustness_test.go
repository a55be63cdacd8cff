package partition

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

func probeInvocation(key, handler string) command.Invocation {
	var e [16]byte
	binary.BigEndian.PutUint64(e[:], invocationSeq.Add(1))
	return command.Invocation{
		ID:     ids.NewInvocationID(ids.KeyedPartitionKey("Probe", key), e),
		Target: command.Target{Service: "Probe", Handler: handler, Key: key, ServiceType: command.VirtualObject, HandlerType: command.Exclusive},
		Input:  []byte("0"),
	}
}

// callAsync runs r.Call in a goroutine; the result arrives on the channel.
func callAsync(r *Router, inv command.Invocation) <-chan error {
	out := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := r.Call(ctx, inv)
		switch {
		case err != nil:
			out <- err
		case res.Failure != nil:
			out <- fmt.Errorf("failed: %d %s", res.Failure.Code, res.Failure.Message)
		case string(res.Value) != `"done"`:
			out <- fmt.Errorf("output %q, want \"done\"", res.Value)
		default:
			out <- nil
		}
	}()
	return out
}

func hasAppendOf(cmds []command.Command, id ids.InvocationID) bool {
	for _, c := range cmds {
		if c.Kind == command.KindAppendEntry && c.AppendEntry.ID == id {
			return true
		}
	}
	return false
}

// TestRestartedAttemptWaitsForAbortedProposals: an attempt's journal entry is still queued in
// the proposer when the partition actor panics. The attempt restarted after the panic must read
// its snapshot only once that entry is applied: otherwise it replays a journal without the entry,
// its own copy of it is Stale, and (without a recheck) the invocation stays running with no
// attempt until the next leader change. The handler's second run must be its last.
func TestRestartedAttemptWaitsForAbortedProposals(t *testing.T) {
	var runs atomic.Int32
	second := make(chan struct{}, 1)
	probe := sdk.NewObject("Probe").Handler("held", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ int) (string, error) {
		n := runs.Add(1)
		if n == 2 {
			second <- struct{}{}
		}
		if err := sdk.Set(ctx, "x", 1); err != nil {
			return "", err
		}
		if n == 1 {
			<-ctx.Done() // until the attempt is aborted
			return "", ctx.Err()
		}
		// A step that needs the runtime's answer: an attempt cut off by a Stale entry cannot
		// finish the invocation on the strength of its pipelined entries.
		return sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "done", nil })
	}))
	n := startNode(t, t.TempDir(), sdk.NewEndpoint().Bind(probe))
	defer n.close()
	r := n.node.Router()
	inv := probeInvocation("held", "held")
	p := r.For(inv.ID.PartitionKey)

	var armed atomic.Bool
	armed.Store(true)
	held, release, waiting := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	p.hooks.Store(&testHooks{
		beforeBatch: func(cmds []command.Command) {
			if hasAppendOf(cmds, inv.ID) && armed.CompareAndSwap(true, false) {
				close(held)
				<-release
			}
		},
		snapshotWaits: func(id ids.InvocationID) {
			if id == inv.ID {
				select {
				case waiting <- struct{}{}:
				default:
				}
			}
		},
	})
	done := callAsync(r, inv)
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("call ended before its Set was proposed: %v", err)
	}
	n.node.Crash(int(p.ID()))
	// Let the held entry go once the restarted attempt has either taken its snapshot (the
	// handler runs a second time) or is waiting for the held entry.
	select {
	case <-second:
	case <-waiting:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := runs.Load(); got != 2 {
		t.Errorf("handler ran %d times, want 2: the restarted attempt replayed a journal without the aborted attempt's entry", got)
	}
}

// TestStaleEntryRestartsAttempt: an entry lands in the journal of a running invocation behind
// its attempt's back (as a late entry of an aborted attempt does), so the attempt's next entry is
// Stale. The invocation must not stay running without an attempt: a new one replays the journal
// and finishes.
func TestStaleEntryRestartsAttempt(t *testing.T) {
	var runs atomic.Int32
	reached, proceed := make(chan struct{}), make(chan struct{})
	probe := sdk.NewObject("Probe").Handler("foreign", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ int) (string, error) {
		n := runs.Add(1)
		if err := sdk.Set(ctx, "a", 1); err != nil {
			return "", err
		}
		if n == 1 {
			close(reached)
			<-proceed
		}
		if err := sdk.Set(ctx, "b", 2); err != nil {
			return "", err
		}
		if n == 1 {
			<-ctx.Done() // the Stale answer ends this attempt
			return "", ctx.Err()
		}
		return "done", nil
	}))
	n := startNode(t, t.TempDir(), sdk.NewEndpoint().Bind(probe))
	defer n.close()
	r := n.node.Router()
	inv := probeInvocation("foreign", "foreign")
	p := r.For(inv.ID.PartitionKey)
	done := callAsync(r, inv)
	<-reached
	// Wait until the first Set is journaled (Input and Set: 2 commands).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, _, err := p.Status(inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.CommandCount == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first Set never journaled (commands %d)", st.CommandCount)
		}
	}
	payload, err := proto.Marshal(&pb.SetStateCommandMessage{Key: []byte("b"), Value: &pb.Value{Content: []byte("2")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := p.ProposeWait(ctx, command.Command{Kind: command.KindAppendEntry, AppendEntry: &command.AppendEntry{
		ID: inv.ID, CommandIndex: 2, Entry: command.Entry{Type: uint16(protocol.SetStateCommandType), Payload: payload},
	}})
	if err != nil || o.Code != statemachine.Applied {
		t.Fatalf("foreign entry: %+v %v", o, err)
	}
	close(proceed) // the attempt's own Set b is now Stale
	if err := <-done; err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := runs.Load(); got < 2 {
		t.Errorf("handler ran %d times, want a second attempt", got)
	}
}

// TestPartitionThatCannotRunRefusesWork: a partition whose actor keeps failing (more panics than
// the supervisor allows, then a storage error when it tries to lead) must refuse new work with an
// error that says so, at once, and accept it again once it can run.
func TestPartitionThatCannotRunRefusesWork(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs), func(c *NodeConfig) {
		c.MaxRestarts, c.RestartWindow, c.RecoverInterval = 2, time.Minute, 20*time.Millisecond
	})
	defer n.close()
	r := n.node.Router()
	inv := objectInvocation("down", 1)
	p := r.For(inv.ID.PartitionKey)
	var broken atomic.Bool
	broken.Store(true)
	p.hooks.Store(&testHooks{activeInvocations: func() ([]ids.InvocationID, error) {
		if broken.Load() {
			return nil, errors.New("disk on fire")
		}
		// Healthy again: the real read. (Answering "none" here once made the call below wait
		// for its deadline when a late crash restarted the actor while the call's invocation
		// ran: the restarted leader saw no invocation to resume.)
		return storage.ActiveInvocations(p.cfg.DB)
	}})
	// Three panics: the supervisor restarts the actor twice, then stops it.
	for i := 0; i < 3; i++ {
		n.node.Crash(int(p.ID()))
	}
	waitHealth(t, p, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := r.Call(ctx, inv)
	var refused *RefusedError
	if !errors.As(err, &refused) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call to a partition that cannot run: %v, want a refusal (ErrUnavailable)", err)
	}
	if refused.RetryAfter() <= 0 {
		t.Errorf("refusal without a retry delay: %+v", refused)
	}
	if err := n.node.Unhealthy(); err == nil {
		t.Error("Node.Unhealthy is nil while a partition cannot run")
	}
	broken.Store(false)
	waitHealth(t, p, true)
	if got := callInt(t, r, inv); got != 1 {
		t.Fatalf("call after recovery returned %d, want 1", got)
	}
	if err := n.node.Unhealthy(); err != nil {
		t.Errorf("Node.Unhealthy after recovery: %v", err)
	}
}

// waitHealth waits until p's Running is want.
func waitHealth(t *testing.T, p *Partition, want bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); p.Health().Running != want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("partition %d never reported running=%v: %+v", p.ID(), want, p.Health())
		}
	}
}

// TestOrphansListsRunningInvocationWithoutAttempt: an attempt stopped without a retry (as a Stale
// answer did) leaves its invocation running with nobody on it: Orphans lists it until an attempt
// runs again, and the invocation then finishes.
func TestOrphansListsRunningInvocationWithoutAttempt(t *testing.T) {
	var runs atomic.Int32
	started := make(chan struct{})
	probe := sdk.NewObject("Probe").Handler("orphan", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ int) (string, error) {
		if runs.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "done", nil
	}))
	n := startNode(t, t.TempDir(), sdk.NewEndpoint().Bind(probe))
	defer n.close()
	r := n.node.Router()
	inv := probeInvocation("orphan", "orphan")
	done := callAsync(r, inv)
	<-started
	if o, err := n.node.Orphans(); err != nil || len(o) != 0 {
		t.Fatalf("orphans while the attempt runs: %v %v", o, err)
	}
	n.inv.Abort(inv.ID) // no retry: nobody works on the invocation any more
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		o, err := n.node.Orphans()
		if err != nil {
			t.Fatal(err)
		}
		if len(o) == 1 && o[0] == inv.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphans %v, want [%s]", o, inv.ID)
		}
	}
	n.inv.Start(r.For(inv.ID.PartitionKey), inv.ID)
	if err := <-done; err != nil {
		t.Fatalf("call: %v", err)
	}
	if o, err := n.node.Orphans(); err != nil || len(o) != 0 {
		t.Errorf("orphans after the invocation finished: %v %v", o, err)
	}
}

// TestFullQueueStillTakesWorkAway: with the proposer's queue full, a new invocation is refused
// (ErrOverloaded, nothing queued) but a kill is admitted: an operator shedding load must not be
// refused for the load.
func TestFullQueueStillTakesWorkAway(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs), func(c *NodeConfig) { c.MaxQueued = 2 })
	defer n.close()
	r := n.node.Router()
	inv := objectInvocation("queue", 1)
	p := r.For(inv.ID.PartitionKey)
	held, release := make(chan struct{}), make(chan struct{})
	var freed sync.Once
	free := func() { freed.Do(func() { close(release) }) }
	defer free() // before n.close: a held proposer would keep Close waiting
	var once atomic.Bool
	p.hooks.Store(&testHooks{beforeBatch: func([]command.Command) {
		if once.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first invocation is held in the proposer; the next fill the queue until one is refused.
	results := make(chan error, 16)
	go func() { _, _, err := p.Invoke(ctx, objectInvocation("queue", 1)); results <- err }()
	<-held
	var refused error
	for i := 0; i < 16 && refused == nil; i++ {
		if p.queued.Load() < int64(p.cfg.MaxQueued) {
			go func() { _, _, err := p.Invoke(ctx, objectInvocation("queue", 1)); results <- err }()
			for p.queued.Load() < int64(i+2) && p.queued.Load() < int64(p.cfg.MaxQueued) {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		_, _, refused = p.Invoke(ctx, objectInvocation("queue", 1))
	}
	if !errors.Is(refused, ErrOverloaded) {
		t.Fatalf("invocation with a full queue: %v, want ErrOverloaded", refused)
	}
	killed := make(chan error, 1)
	go func() { _, err := r.Terminate(ctx, inv.ID, true); killed <- err }()
	for p.queued.Load() <= int64(p.cfg.MaxQueued) {
		select {
		case err := <-killed:
			t.Fatalf("kill with a full queue answered before the queue moved: %v", err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	free()
	if err := <-killed; err != nil {
		t.Fatalf("kill with a full queue: %v, want it admitted", err)
	}
}

// TestEarlyTimerFiresAgain: a FireTimer whose batch carries a time before the timer's wake time
// (a leader whose clock runs ahead of the log's, as after a leader change to a skewed node) is a
// no-op in the state machine; the leader's timer service must propose it again, so the delayed
// invocation still runs, once.
func TestEarlyTimerFiresAgain(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs))
	defer n.close()
	r := n.node.Router()
	inv := objectInvocation("early", 5)
	inv.ExecutionTime = time.Now().Add(100 * time.Millisecond).UnixMilli()
	p := r.For(inv.ID.PartitionKey)
	var early atomic.Int64
	p.hooks.Store(&testHooks{batchTime: func(now int64, cmds []command.Command) int64 {
		for _, c := range cmds {
			if c.Kind == command.KindFireTimer && c.FireTimer.ID == inv.ID && early.Add(1) <= 3 {
				return c.FireTimer.WakeTime - 1 // the log's time has not reached the wake time
			}
		}
		return now
	}})
	if got := callInt(t, r, inv); got != 5 {
		t.Fatalf("delayed call returned %d, want 5", got)
	}
	if got := early.Load(); got < 4 {
		t.Fatalf("the timer was proposed %d times, want 3 early ones and the one that fired", got)
	}
	if got := runs.Load(); got != 1 {
		t.Fatalf("the handler's Run ran %d times, want 1", got)
	}
}

// TestPartsRestartWithoutLosingWork: each moving part of a partition is a supervised child of its
// actor. A panic in the proposer (before its batch is written), in the completer (after an
// entry was applied, before its outcomes were handed out) or in the timer service restarts that
// part: the proposer's callers are told nothing was written and may retry, the completer's get
// their result anyway (the unknown outcome is proposed again and deduplicated), the timer still
// fires; every add is applied exactly once.
func TestPartsRestartWithoutLosingWork(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs))
	defer n.close()
	r := n.node.Router()
	proposerInv, completerInv, timerInv := objectInvocation("parts-proposer", 1), objectInvocation("parts-completer", 1), objectInvocation("parts-timer", 1)
	invokes := func(cmds []command.Command, inv command.Invocation) bool {
		for _, c := range cmds {
			if c.Kind == command.KindInvoke && c.Invoke.ID == inv.ID {
				return true
			}
		}
		return false
	}
	var proposerPanics, completerPanics, timerPanics atomic.Int64
	hooks := &testHooks{
		beforeBatch: func(cmds []command.Command) {
			if invokes(cmds, proposerInv) && proposerPanics.Add(1) == 1 {
				panic("test: proposer fails")
			}
		},
		entryApplied: func(cmds []command.Command) {
			if invokes(cmds, completerInv) && completerPanics.Add(1) == 1 {
				panic("test: completer fails")
			}
		},
		beforeFire: func(tm storage.Timer) {
			if tm.ID == timerInv.ID && timerPanics.Add(1) == 1 {
				panic("test: timer service fails")
			}
		},
	}
	for _, inv := range []command.Invocation{proposerInv, completerInv, timerInv} {
		r.For(inv.ID.PartitionKey).hooks.Store(hooks)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.Call(ctx, proposerInv); !errors.Is(err, errPartFailed) {
		t.Fatalf("call whose batch the proposer failed on: %v, want errPartFailed (nothing written)", err)
	}
	if got := callInt(t, r, proposerInv); got != 1 {
		t.Fatalf("the retried call returned %d, want 1 (the failed batch wrote nothing)", got)
	}
	if got := callInt(t, r, completerInv); got != 1 {
		t.Fatalf("the call whose outcome the completer lost returned %d, want 1", got)
	}
	timerInv.ExecutionTime = time.Now().Add(100 * time.Millisecond).UnixMilli()
	if got := callInt(t, r, timerInv); got != 1 {
		t.Fatalf("the delayed call returned %d, want 1", got)
	}
	if proposerPanics.Load() < 1 || completerPanics.Load() < 1 || timerPanics.Load() < 1 {
		t.Fatalf("panics: proposer %d, completer %d, timers %d; each part should have failed once", proposerPanics.Load(), completerPanics.Load(), timerPanics.Load())
	}
	if got := runs.Load(); got != 3 {
		t.Fatalf("%d Run bodies ran for three adds, want 3", got)
	}
	if got := callInt(t, r, objectInvocation("parts-proposer", 10)); got != 11 {
		t.Fatalf("a call after the restarts returned %d, want 11", got)
	}
}
