package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

// napLog is what the Nap service did, seen from inside its handlers, per invocation id: when
// each attempt entered the handler, how often the Run step before the sleep executed, and when
// the handler came back from its sleep.
type napLog struct {
	mu struct {
		sync.Mutex
		entered map[string][]time.Time
		before  map[string]int
		woke    map[string][]time.Time
	}
}

func newNapLog() *napLog {
	l := &napLog{}
	l.mu.entered = map[string][]time.Time{}
	l.mu.before = map[string]int{}
	l.mu.woke = map[string][]time.Time{}
	return l
}

func (l *napLog) enter(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.entered[id] = append(l.mu.entered[id], time.Now())
}

func (l *napLog) runBefore(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.before[id]++
}

func (l *napLog) wake(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.woke[id] = append(l.mu.woke[id], time.Now())
}

// get returns copies of what was recorded for id.
func (l *napLog) get(id string) (entered []time.Time, before int, woke []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.mu.entered[id]...), l.mu.before[id], append([]time.Time(nil), l.mu.woke[id]...)
}

// endpoint serves Nap: sleep runs a Run step, sleeps ms and records the wake-up; later sends
// Nap/sleep(0) with a delay of ms and returns the callee's invocation id.
func (l *napLog) endpoint() *sdk.Endpoint {
	nap := sdk.NewService("Nap").
		Handler("sleep", sdk.ServiceHandler(func(ctx sdk.Context, ms int) (string, error) {
			l.enter(ctx.InvocationID())
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (int, error) {
				l.runBefore(ctx.InvocationID())
				return 0, nil
			}, sdk.WithName("before")); err != nil {
				return "", err
			}
			if err := sdk.Sleep(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return "", err
			}
			l.wake(ctx.InvocationID())
			return "rested", nil
		})).
		Handler("later", sdk.ServiceHandler(func(ctx sdk.Context, ms int) (string, error) {
			return sdk.Send(ctx, sdk.ToService("Nap", "sleep"), 0, sdk.WithDelay(time.Duration(ms)*time.Millisecond)).InvocationID()
		}))
	return sdk.NewEndpoint().Bind(nap)
}

// TestDurableSleep: a sleep and a delayed send take effect no earlier than their wake-up time.
// The lower bound is measured from before the request that starts the timer (the handler reads
// its clock after that), so a slow response or a slow machine can only make the measured time
// longer; a timer that fires early makes it shorter.
func TestDurableSleep(t *testing.T) {
	const d = 300 * time.Millisecond
	naps := newNapLog()
	s := startWith(t, t.TempDir(), naps.endpoint())

	sent := time.Now()
	code, hdr, body := do(t, s.IngressURL(), exchange{"POST", "/Nap/sleep", "application/json", "300"})
	if code != 200 || body != `"rested"` {
		t.Fatalf("sleep: %d %s", code, body)
	}
	_, _, woke := naps.get(hdr.Get("x-restate-id"))
	if len(woke) != 1 {
		t.Fatalf("sleep %s woke %d times, want once", hdr.Get("x-restate-id"), len(woke))
	}
	// The wake-up time is stored in whole milliseconds, rounded down: the timer may fire up to
	// 1 ms before now+d.
	if got := woke[0].Sub(sent); got < d-time.Millisecond {
		t.Errorf("sleep woke %v after the request was sent, before its %v timer", got, d)
	}

	// A delayed send: accepted at once, the callee starts after the delay.
	sent = time.Now()
	code, _, body = do(t, s.IngressURL(), exchange{"POST", "/Nap/later", "application/json", "300"})
	var calleeID string
	if code != 200 || json.Unmarshal([]byte(body), &calleeID) != nil {
		t.Fatalf("later: %d %s", code, body)
	}
	waitFor(t, "the delayed send to run", 30*time.Second, func() bool {
		_, _, woke := naps.get(calleeID)
		return len(woke) > 0
	})
	entered, _, _ := naps.get(calleeID)
	if got := entered[0].Sub(sent); got < d-time.Millisecond {
		t.Errorf("delayed send started %v after the request was sent, before its %v delay", got, d)
	}
}

// TestSleepSurvivesRestart: a sleep whose timer is journaled when the server stops fires after
// the server starts again on the same data directory, once, and not before its journaled wake-up
// time; the handler is replayed (the Run step before the sleep is not executed again).
//
// The in-process server can only stop gracefully (Close); tests/crash kills a server process
// with SIGKILL while sleeps and delayed sends are pending.
func TestSleepSurvivesRestart(t *testing.T) {
	// The timer must still be pending when the first server has stopped; if the machine is so
	// slow that it is not, the run proved nothing and is repeated with a longer sleep.
	for d := time.Second; d <= 8*time.Second; d *= 2 {
		if sleepAcrossRestart(t, d) {
			return
		}
	}
	t.Fatal("the first server never stopped before the sleep's wake-up time")
}

// sleepAcrossRestart runs the test with a sleep of d; it returns false when the first server
// took so long to stop that the timer was due before it had stopped.
func sleepAcrossRestart(t *testing.T, d time.Duration) bool {
	t.Helper()
	dir := t.TempDir()
	first := newNapLog()
	s := startWith(t, dir, first.endpoint())
	code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Nap/sleep/send", "application/json", fmt.Sprint(d.Milliseconds())})
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	var sent struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal([]byte(body), &sent); err != nil {
		t.Fatalf("send: %s: %v", body, err)
	}
	id, err := ids.ParseInvocationID(sent.InvocationID)
	if err != nil {
		t.Fatalf("send answered %s: %v", body, err)
	}
	// The sleep is in the journal, with no completion yet, before the server stops.
	var wake uint64
	waitFor(t, "the Sleep command in the journal", 30*time.Second, func() bool {
		var ok bool
		wake, ok = journaledSleep(t, s, id)
		return ok
	})
	s.Close()
	stopped := time.Now()
	if _, _, woke := first.get(sent.InvocationID); len(woke) != 0 || stopped.UnixMilli() >= int64(wake) {
		t.Logf("sleep of %v: the first server stopped %v after the wake-up time (woke %d times); retrying with a longer sleep",
			d, stopped.Sub(time.UnixMilli(int64(wake))), len(woke))
		return false
	}

	second := newNapLog()
	s = startWith(t, dir, second.endpoint())
	waitFor(t, "the sleep armed before the restart to fire", d+30*time.Second, func() bool {
		_, _, woke := second.get(sent.InvocationID)
		return len(woke) > 0
	})
	waitFor(t, "the invocation to complete", 30*time.Second, func() bool {
		st, found, err := partitionOf(s, id).Status(id)
		return err == nil && found && st.Phase == storage.Completed
	})
	entered, before1, _ := first.get(sent.InvocationID)
	replays, before2, woke := second.get(sent.InvocationID)
	switch {
	case len(entered) != 1 || len(replays) == 0:
		t.Errorf("handler entered %d times before the restart and %d after, want 1 and at least 1", len(entered), len(replays))
	case before1 != 1 || before2 != 0:
		t.Errorf("Run step before the sleep executed %d times before the restart and %d after, want 1 and 0 (replayed from the journal)", before1, before2)
	case len(woke) != 1:
		t.Errorf("woke %d times after the restart, want once", len(woke))
	case woke[0].UnixMilli() < int64(wake):
		t.Errorf("woke at %v, before the journaled wake-up time %v", woke[0], time.UnixMilli(int64(wake)))
	}
	return true
}

// journaledSleep returns the wake-up time of the Sleep command in id's journal, if it is there
// and its completion is not.
func journaledSleep(t *testing.T, s *server.Server, id ids.InvocationID) (uint64, bool) {
	t.Helper()
	snap, err := partitionOf(s, id).Snapshot(id)
	if err != nil {
		return 0, false // not started yet
	}
	for _, e := range snap.Journal {
		if protocol.MessageType(e.Type) != protocol.SleepCommandType {
			continue
		}
		m, err := protocol.Decode(protocol.SleepCommandType, e.Payload)
		if err != nil {
			t.Fatalf("journal of %s: decode the Sleep command: %v", id, err)
		}
		sleep := m.(*pb.SleepCommandMessage)
		if snap.Status.HasCompletion(sleep.GetResultCompletionId()) {
			t.Fatalf("journal of %s: the sleep completed before the server stopped", id)
		}
		return sleep.GetWakeUpTime(), true
	}
	return 0, false
}

func partitionOf(s *server.Server, id ids.InvocationID) *partition.Partition {
	return s.Node().Router().For(id.PartitionKey)
}

// waitFor polls cond every 10 ms until it holds, failing the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startWith(t *testing.T, dir string, ep *sdk.Endpoint) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "nap", ep); err != nil {
		t.Fatal(err)
	}
	return s
}
