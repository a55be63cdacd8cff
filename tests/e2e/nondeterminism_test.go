//go:build linux

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// nonDeterministic is NonDeterministic of the sdk-tests contracts (NonDeterministic.kt).
const nonDeterministic = "NonDeterministic"

// TestNonDeterminismErrors ports restatedev/e2e sdk-tests tests/NonDeterminismErrors.kt (class
// NonDeterminismErrors), which upstream runs in the alwaysSuspending suite only, with one
// attempt and then kill (RESTATE_DEFAULT_RETRY_POLICY__MAX_ATTEMPTS=1, ON_MAX_ATTEMPTS=kill,
// INITIAL_INTERVAL=1ms; ours: the --retry-* flags).
//
// Each handler does one thing on an invocation's first attempt and another on its replay (the
// service counts attempts per key in memory), after which it would increment Counter/key. The
// always suspending suite makes every handler suspend before that, so the attempt after the
// suspension replays a journal that no longer matches: the SDK fails the attempt, the runtime
// kills the invocation, and the counter keeps the 1 the scenario set first.
//
// The TypeScript services name upstream's eitherSleepOrCall leftSleepRightCall: upstream's
// eitherSleepOrCall passes against them because calling a handler that does not exist fails
// too. The port keeps it, and adds method/leftSleepRightCall (ours) for the real handler.
func TestNonDeterminismErrors(t *testing.T) {
	retries := []string{"--retry-max-attempts", "1", "--retry-on-max-attempts", "kill", "--retry-initial-interval", "1ms"}
	var scenarios []scenario
	for _, h := range []string{"eitherSleepOrCall", "callDifferentMethod", "backgroundInvokeWithDifferentTargets", "setDifferentKey", "leftSleepRightCall"} {
		scenarios = append(scenarios, scenario{name: "method/" + h, run: nonDeterministicMethod(h)})
	}
	runClass(t, class{
		services: []string{nonDeterministic, counter},
		suites: []suite{{
			name: alwaysSuspending.name,
			ours: append(slices.Clone(alwaysSuspending.ours), retries...),
			official: append(slices.Clone(alwaysSuspending.official),
				"RESTATE_DEFAULT_RETRY_POLICY__MAX_ATTEMPTS=1",
				"RESTATE_DEFAULT_RETRY_POLICY__ON_MAX_ATTEMPTS=kill",
				"RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL=1ms"),
			suspends: true,
		}},
		scenarios: scenarios,
	})
}

// journalMismatch is the code of the SDKs' journal mismatch error.
const journalMismatch = 570

// "method": the call of NonDeterministic/handler/handler fails, and Counter/handler stays 1.
func nonDeterministicMethod(handler string) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		// Increment the count first, this makes sure that the counter service is there.
		d.call("/"+counter+"/"+handler+"/add", 1, idempotent()).ok(t)

		r := d.call("/"+nonDeterministic+"/"+handler+"/"+handler, nil, idempotent())
		if r.err != nil || r.status < 400 {
			t.Fatalf("%s: want the call to fail, got %v", handler, r)
		}
		// Ours, not upstream's: the handlers that exist fail with the SDK's journal mismatch
		// error (code 570), which the killed invocation keeps as restate-server does. Our Go
		// services have eitherSleepOrCall too.
		if handler != "eitherSleepOrCall" || d.services == goServices {
			if msg := r.failure(t); r.status != journalMismatch || !strings.Contains(msg, "mismatch") {
				t.Fatalf("%s: failed with %v, want status %d and the SDK's journal mismatch", handler, r, journalMismatch)
			}
		}

		eventually(t, "counter was not incremented", func() error { return counterIs(d, handler, 1) })
	}
}
