//go:build linux

package e2e

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestSleep ports restatedev/e2e sdk-tests tests/Sleep.kt (class Sleep), in the default and
// alwaysSuspending suites (upstream's persistedTimers suite is not ported).
func TestSleep(t *testing.T) {
	runClass(t, class{
		services: []string{interpreter},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "sleep", run: sleepOnce},
			{name: "manySleeps", run: manySleeps},
		},
	})
}

// "sleep": a 10 ms sleep answers no sooner than 10 ms after the call. Ours, not upstream's: the
// same with a 1 s sleep, as a call's own overhead can exceed 10 ms, and a server that woke the
// sleep at once would pass that.
func sleepOnce(t *testing.T, d *deployment) {
	for _, sleep := range []time.Duration{10 * time.Millisecond, time.Second} {
		start := time.Now()
		d.call(interpreterPath(newUUID(), "interpretCommands"),
			interpretRequest(awaitOne(sleepCmd(sleep.Milliseconds()))), idempotent()).ok(t)
		if elapsed := time.Since(start); elapsed < sleep {
			t.Fatalf("the call answered after %v, before its %v sleep ended", elapsed, sleep)
		}
	}
}

// "manySleeps": 50 concurrent invocations, each awaiting 20 sleeps of 10 to 50 ms.
func manySleeps(t *testing.T, d *deployment) {
	const (
		minSleep, maxSleep   = 10, 50 // ms
		sleepsPerInvocation  = 20
		concurrentInvocation = 50
	)
	var wg sync.WaitGroup
	failures := make(chan string, concurrentInvocation)
	for range concurrentInvocation {
		sleeps := make([]command, sleepsPerInvocation)
		for i := range sleeps {
			sleeps[i] = sleepCmd(minSleep + rand.Int64N(maxSleep-minSleep+1))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.call(interpreterPath(newUUID(), "interpretCommands"),
				interpretRequest(awaitAllCompleted(sleeps...)), idempotent())
			if r.err != nil || r.status != 200 {
				failures <- r.String()
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("an invocation of 20 sleeps failed: %s", f)
	}
}
