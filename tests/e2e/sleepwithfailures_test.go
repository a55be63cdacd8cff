//go:build linux

package e2e

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestSleepWithFailures ports restatedev/e2e sdk-tests tests/SleepWithFailures.kt (class
// SleepWithFailures): while an invocation sleeps 2 s (upstream: 4 s), the services process is
// killed (SIGKILL) or terminated (SIGTERM) and started again on its port; the invocation still
// completes, not before its sleep ends. Upstream's scenarios run one after the other (they restart the
// services every scenario uses), and so do these.
//
// Upstream launches the call inside coroutineScope { launch { … } }, which returns only once
// the call has completed, so its restart in fact comes after the sleep; this port restarts the
// services while the invocation sleeps, as the class's comment ("Sleep tests with
// terminations/killings of service endpoint") and its random delay within the sleep mean.
func TestSleepWithFailures(t *testing.T) {
	runClass(t, class{
		services:   []string{interpreter},
		suites:     []suite{defaultSuite, alwaysSuspending},
		sequential: true,
		scenarios: []scenario{
			{name: "sleepAndKillServiceEndpoint", run: sleepWhileRestarting(true)},
			{name: "sleepAndTerminateServiceEndpoint", run: sleepWhileRestarting(false)},
		},
	})
}

// sleepWithFailuresDuration is upstream's DEFAULT_SLEEP_DURATION halved (4 s): the restart comes
// 0.5 to 1 s into the sleep and takes less than a second, and the class runs its scenarios one
// after the other.
const sleepWithFailuresDuration = 2 * time.Second

// sleepWhileRestarting calls interpretCommands(awaitOne(sleep)), restarts the services between a
// quarter and half of the sleep later, and wants the call to succeed no sooner than the sleep
// after it was made.
func sleepWhileRestarting(kill bool) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		start := time.Now()
		result := make(chan reply, 1)
		go func() {
			result <- d.call(interpreterPath(newUUID(), "interpretCommands"),
				interpretRequest(awaitOne(sleepCmd(sleepWithFailuresDuration.Milliseconds()))), idempotent())
		}()
		quarter := sleepWithFailuresDuration / 4
		time.Sleep(quarter + rand.N(quarter+1))

		select {
		case r := <-result:
			// Only a machine too slow to make the call within a quarter of the sleep gets
			// here: the restart would test nothing.
			t.Fatalf("the call answered (%v) before the services were restarted", r)
		default:
		}
		restartServices(t, d, kill)

		(<-result).ok(t)
		if elapsed := time.Since(start); elapsed < sleepWithFailuresDuration {
			t.Fatalf("the call answered after %v, before its %v sleep ended", elapsed, sleepWithFailuresDuration)
		}
	}
}
