//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// TestSignals ports restatedev/e2e sdk-tests tests/Signals.kt (class Signals).
func TestSignals(t *testing.T) {
	runClass(t, class{
		services: []string{interpreter, testUtils},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "resolve", run: signalsResolve},
			{name: "reject", run: signalsReject},
		},
	})
}

// "Await one signal with successful resolution"
func signalsResolve(t *testing.T, d *deployment) {
	inv := d.send(t, interpreterPath(newUUID(), "interpretCommands"),
		interpretRequest(awaitOne(createSignal("mysignal"))), idempotent())
	d.resolveSignal(inv.InvocationID, "mysignal", "hello").ok(t)
	if got := d.result(inv).str(t); got != "hello" {
		t.Fatalf("got %q, want %q", got, "hello")
	}
}

// "Await one signal with rejection propagates as terminal error"
func signalsReject(t *testing.T, d *deployment) {
	inv := d.send(t, interpreterPath(newUUID(), "interpretCommands"),
		interpretRequest(awaitOne(createSignal("mysignal"))), idempotent())
	d.rejectSignal(inv.InvocationID, "mysignal", "boom").ok(t)
	if msg := d.result(inv).failure(t); !strings.Contains(msg, "boom") {
		t.Fatalf("error %q does not contain %q", msg, "boom")
	}
}
