//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestCombinators ports restatedev/e2e sdk-tests tests/Combinators.kt (class Combinators).
func TestCombinators(t *testing.T) {
	runClass(t, class{
		services: []string{interpreter, testUtils},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "awakeableOrTimeoutUsingAwaitAny", run: awakeableOrTimeoutUsingAwaitAny},
			{name: "awakeableOrTimeoutUsingAwakeableTimeoutCommand", run: awakeableOrTimeoutUsingAwakeableTimeoutCommand},
			{name: "firstSuccessfulCompletedAwakeable", run: firstSuccessfulCompletedAwakeable},
			{name: "signalFirstSuccessfulOrAllFailed", run: signalCombinator(
				awaitAnySuccessful, []signalStep{{"sig0", "", "fail0"}, {"sig2", "", "fail2"}, {"sig1", "success1", ""}},
				"success1")},
			{name: "signalAllSuccessfulOrFirstFailed", run: signalCombinator(
				awaitAllSucceededOrFirstFailed, []signalStep{{"sig0", "val0", ""}, {"sig1", "val1", ""}, {"sig2", "val2", ""}},
				"val0|val1|val2")},
			{name: "signalAllCompleted", run: signalCombinator(
				awaitAllCompleted, []signalStep{{"sig0", "val0", ""}, {"sig1", "", "err1"}, {"sig2", "val2", ""}},
				"ok:val0|err:err1|ok:val2")},
			{name: "signalFirstCompleted", run: signalCombinator(
				awaitAny, []signalStep{{"sig1", "first", ""}},
				"first")},
			{name: "mixedRunWinsRaceAgainstSignal", run: mixedRunWinsRaceAgainstSignal},
			{name: "mixedSignalWinsAfterRunFails", run: mixedWithSignal(
				awaitFirstSucceededOrAllFailed(runThrowTerminalException("fail"), createSignal("sig")), "sigval")},
			{name: "mixedAllSucceededRunAndSignal", run: mixedWithSignal(
				awaitAllSucceededOrFirstFailed(runReturns("runval"), createSignal("sig")), "runval|sigval")},
			{name: "mixedAllCompletedRunSignalAndFailedRun", run: mixedWithSignal(
				awaitAllCompleted(runReturns("runval"), createSignal("sig"), runThrowTerminalException("fail")),
				"ok:runval|ok:sigval|err:fail")},
		},
	})
}

// "Test awakeable or timeout using Await any"
func awakeableOrTimeoutUsingAwaitAny(t *testing.T, d *deployment) {
	got := d.call(interpreterPath(newUUID(), "interpretCommands"),
		interpretRequest(awaitAny(createAwakeable("awk1"), sleepCmd(100))), idempotent()).str(t)
	if got != "sleep" {
		t.Fatalf("got %q, want %q", got, "sleep")
	}
}

// "Test awakeable or timeout using AwaitAwakeableOrTimeout"
func awakeableOrTimeoutUsingAwakeableTimeoutCommand(t *testing.T, d *deployment) {
	msg := d.call(interpreterPath(newUUID(), "interpretCommands"),
		interpretRequest(awaitAwakeableOrTimeout("should-timeout-awk", 100)), idempotent()).failure(t)
	if !strings.Contains(msg, "await-timeout") {
		t.Fatalf("error %q does not contain %q", msg, "await-timeout")
	}
}

// "Test the first successful awakeable should be returned"
func firstSuccessfulCompletedAwakeable(t *testing.T, d *deployment) {
	key := newUUID()
	result := make(chan reply, 1)
	go func() {
		result <- d.call(interpreterPath(key, "interpretCommands"), interpretRequest(awaitAnySuccessful(
			createAwakeable("awk0"), runThrowTerminalException("run0"),
			createAwakeable("awk1"), runThrowTerminalException("run1"),
			createAwakeable("awk2"), runThrowTerminalException("run2"),
		)), idempotent())
	}()
	hasAwakeable := func(awk string, opts ...option) (bool, error) {
		r := d.call(interpreterPath(key, "hasAwakeable"), awk, opts...)
		if r.err != nil || r.status != 200 {
			return false, fmt.Errorf("hasAwakeable(%s): %v", awk, r)
		}
		return string(r.body) == "true", nil
	}
	eventually(t, "awakeable awk2 created", func() error {
		ok, err := hasAwakeable("awk2")
		if err == nil && !ok {
			err = fmt.Errorf("hasAwakeable(awk2) is false")
		}
		return err
	})
	for _, awk := range []string{"awk0", "awk1"} {
		if ok, err := hasAwakeable(awk, idempotent()); err != nil || !ok {
			t.Fatalf("hasAwakeable(%s) = %v, %v; want true", awk, ok, err)
		}
	}
	// Rejecting awakeable 2 completes nothing; resolving awakeable 1 completes the any.
	d.call(interpreterPath(key, "rejectAwakeable"), command{"awakeableKey": "awk2", "reason": "fail"}, idempotent()).ok(t)
	d.call(interpreterPath(key, "resolveAwakeable"), command{"awakeableKey": "awk1", "value": "awk1-result"}, idempotent()).ok(t)
	if got := (<-result).str(t); got != "awk1-result" {
		t.Fatalf("got %q, want %q", got, "awk1-result")
	}
}

// signalStep resolves (value) or rejects (reason) one named signal.
type signalStep struct{ name, value, reason string }

// signalCombinator is the shape of the four "Signals: await …" scenarios: send the combinator
// over three signals, complete them in order through TestUtilsService, attach to the result.
func signalCombinator(combine func(...command) command, steps []signalStep, want string) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		inv := d.send(t, interpreterPath(newUUID(), "interpretCommands"), interpretRequest(combine(
			createSignal("sig0"), createSignal("sig1"), createSignal("sig2"))), idempotent())
		for _, s := range steps {
			if s.reason != "" {
				d.rejectSignal(inv.InvocationID, s.name, s.reason).ok(t)
			} else {
				d.resolveSignal(inv.InvocationID, s.name, s.value).ok(t)
			}
		}
		if got := d.result(inv).str(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// "Mixed: run wins the race against an unresolved signal"
func mixedRunWinsRaceAgainstSignal(t *testing.T, d *deployment) {
	got := d.call(interpreterPath(newUUID(), "interpretCommands"),
		interpretRequest(awaitFirstCompleted(createSignal("sig"), runReturns("runval"))), idempotent()).str(t)
	if got != "runval" {
		t.Fatalf("got %q, want %q", got, "runval")
	}
}

// mixedWithSignal is the shape of the "Mixed: …" scenarios that resolve signal "sig" with
// "sigval" and attach to the result.
func mixedWithSignal(cmd command, want string) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		inv := d.send(t, interpreterPath(newUUID(), "interpretCommands"), interpretRequest(cmd), idempotent())
		d.resolveSignal(inv.InvocationID, "sig", "sigval").ok(t)
		if got := d.result(inv).str(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
