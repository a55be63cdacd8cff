//go:build linux

package e2e

import (
	"testing"
)

// TestRunFlush ports restatedev/e2e sdk-tests tests/RunFlush.kt (class RunFlush), which upstream
// runs in the alwaysSuspending suite only.
func TestRunFlush(t *testing.T) {
	runClass(t, class{
		services: []string{testUtils},
		suites:   []suite{alwaysSuspending},
		scenarios: []scenario{
			{name: "flush", run: runFlush},
		},
	})
}

// "Run should wait on acknowledgements": each ctx.run waits for the runtime's acknowledgement,
// so the always suspending handler suspends after each and the attempt that completes replays
// the three runs without executing them: the attempt's count of executed effects is 0.
func runFlush(t *testing.T, d *deployment) {
	var n int
	d.call("/"+testUtils+"/countExecutedSideEffects", 3, idempotent()).value(t, &n)
	if n != 0 {
		t.Fatalf("countExecutedSideEffects(3) = %d, want 0", n)
	}
}

// TestRunRetry ports restatedev/e2e sdk-tests tests/RunRetry.kt (class RunRetry).
func TestRunRetry(t *testing.T) {
	runClass(t, class{
		services: []string{failing},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "withSuccess", run: runAttempts("sideEffectSucceedsAfterGivenAttempts", 3)},
			{name: "executedOnlyOnce", run: runAttempts("sideEffectFailsAfterGivenAttempts", 1)},
			{name: "withExhaustedAttempts", run: runAttempts("sideEffectFailsAfterGivenAttempts", 3)},
		},
	})
}

// runAttempts calls Failing's handler with attempts and expects it to answer at least attempts:
// "Run is retried until it succeeds" (sideEffectSucceedsAfterGivenAttempts), "Run is executed
// only once" and "Run is retried until it exhausts the retry attempts"
// (sideEffectFailsAfterGivenAttempts, whose run fails every time and which answers the count of
// executions once the run's retries are exhausted).
func runAttempts(handler string, attempts int) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		var n int
		d.call(failingPath(newUUID(), handler), attempts, idempotent()).value(t, &n)
		if n < attempts {
			t.Fatalf("%s(%d) = %d, want at least %d", handler, attempts, n, attempts)
		}
	}
}
