package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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
// time; the handler is replayed (the Run step before the sleep is not executed again). The first
// server stops gracefully (Close); TestSleepSurvivesKill kills it.
func TestSleepSurvivesRestart(t *testing.T) {
	sleepAcrossStop(t, closeFirst)
}

// firstRun is what the first server did before it stopped.
type firstRun struct {
	id      ids.InvocationID
	wake    uint64    // journaled wake-up time, Unix ms
	stopped time.Time // when the first server was gone
	before  int       // executions of the Run step before the sleep
	woke    int       // wake-ups seen before the stop
}

// sleepAcrossStop runs a sleep across a stop of the server done by first. The timer must still
// be pending when the first server is gone; if the machine is so slow that it is not, the run
// proved nothing and is repeated with a longer sleep.
func sleepAcrossStop(t *testing.T, first func(t *testing.T, dir string, d time.Duration) firstRun) {
	for d := time.Second; d <= 8*time.Second; d *= 2 {
		dir := t.TempDir()
		f := first(t, dir, d)
		if f.woke != 0 || f.stopped.UnixMilli() >= int64(f.wake) {
			t.Logf("sleep of %v: the first server was gone %v after the wake-up time (woke %d times); retrying with a longer sleep",
				d, f.stopped.Sub(time.UnixMilli(int64(f.wake))), f.woke)
			continue
		}
		checkAfterRestart(t, dir, d, f)
		return
	}
	t.Fatal("the first server was never gone before the sleep's wake-up time")
}

// closeFirst starts a server in this process, sends a sleep of d, waits until the Sleep command
// is journaled and closes the server.
func closeFirst(t *testing.T, dir string, d time.Duration) firstRun {
	t.Helper()
	naps := newNapLog()
	s := startWith(t, dir, naps.endpoint())
	id, wake, err := sleepJournaled(s, d)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, before, woke := naps.get(id.String())
	return firstRun{id: id, wake: wake, stopped: time.Now(), before: before, woke: len(woke)}
}

// checkAfterRestart starts a server on dir and checks the sleep of f fires there, once, not
// before its wake-up time, and that the handler was replayed, not executed from scratch.
func checkAfterRestart(t *testing.T, dir string, d time.Duration, f firstRun) {
	t.Helper()
	naps := newNapLog()
	s := startWith(t, dir, naps.endpoint())
	waitFor(t, "the sleep armed before the stop to fire", d+30*time.Second, func() bool {
		_, _, woke := naps.get(f.id.String())
		return len(woke) > 0
	})
	waitFor(t, "the invocation to complete", 30*time.Second, func() bool {
		st, found, err := partitionOf(s, f.id).Status(f.id)
		return err == nil && found && st.Phase == storage.Completed
	})
	replays, before, woke := naps.get(f.id.String())
	switch {
	case len(replays) == 0:
		t.Errorf("handler not entered after the restart")
	case f.before != 1 || before != 0:
		t.Errorf("Run step before the sleep executed %d times before the stop and %d after, want 1 and 0 (replayed from the journal)", f.before, before)
	case len(woke) != 1:
		t.Errorf("woke %d times after the restart, want once", len(woke))
	case woke[0].UnixMilli() < int64(f.wake):
		t.Errorf("woke at %v, before the journaled wake-up time %v", woke[0], time.UnixMilli(int64(f.wake)))
	}
}

// sleepJournaled sends Nap/sleep(d) one-way and waits until its Sleep command is journaled.
func sleepJournaled(s *server.Server, d time.Duration) (ids.InvocationID, uint64, error) {
	resp, err := http.Post(s.IngressURL()+"/Nap/sleep/send", "application/json", strings.NewReader(fmt.Sprint(d.Milliseconds())))
	if err != nil {
		return ids.InvocationID{}, 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sent struct {
		InvocationID string `json:"invocationId"`
	}
	if resp.StatusCode != 202 || json.Unmarshal(body, &sent) != nil {
		return ids.InvocationID{}, 0, fmt.Errorf("send: %d %s", resp.StatusCode, body)
	}
	id, err := ids.ParseInvocationID(sent.InvocationID)
	if err != nil {
		return id, 0, fmt.Errorf("send answered %s: %w", body, err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		wake, ok, err := journaledSleep(s, id)
		if err != nil || ok {
			return id, wake, err
		}
	}
	return id, 0, fmt.Errorf("the Sleep command of %s not in the journal after 30s", id)
}

// journaledSleep returns the wake-up time of the Sleep command in id's journal, if it is there
// and its completion is not.
func journaledSleep(s *server.Server, id ids.InvocationID) (uint64, bool, error) {
	snap, err := partitionOf(s, id).Snapshot(id)
	if err != nil {
		return 0, false, nil // not started yet
	}
	for _, e := range snap.Journal {
		if protocol.MessageType(e.Type) != protocol.SleepCommandType {
			continue
		}
		m, err := protocol.Decode(protocol.SleepCommandType, e.Payload)
		if err != nil {
			return 0, false, fmt.Errorf("journal of %s: decode the Sleep command: %w", id, err)
		}
		sleep := m.(*pb.SleepCommandMessage)
		if snap.Status.HasCompletion(sleep.GetResultCompletionId()) {
			return 0, false, fmt.Errorf("journal of %s: the sleep completed before the server stopped", id)
		}
		return sleep.GetWakeUpTime(), true, nil
	}
	return 0, false, nil
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
