//go:build linux

package e2e

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The vitest scenarios of restatedev/sdk-typescript packages/tests/restate-e2e-services/test,
// which upstream runs against a server through sdk-tests' Custom class (custom_tests.yaml).

const signalTest = "SignalTest"

// TestTSSignalTest ports test/signals.test.ts (describe "SignalTest"), with the TypeScript
// services and with ours (cmd/resolute-test-services signals.go).
func TestTSSignalTest(t *testing.T) {
	runClass(t, class{
		services: []string{signalTest},
		scenarios: []scenario{
			{name: "resolve: signal value is returned to the waiting handler", run: waitThenSignal(`"mySignal"`,
				func(t *testing.T, d *deployment, id string) { d.resolveTS(t, id, "mySignal", "hello") },
				`"hello"`)},
			{name: "reject: signal rejection propagates as terminal error", run: func(t *testing.T, d *deployment) {
				inv := d.send(t, "/"+signalTest+"/waitForSignal", "mySignal", idempotent())
				d.call("/"+signalTest+"/rejectSignal", map[string]any{"invocationId": inv.InvocationID, "name": "mySignal", "reason": "boom"}).ok(t)
				if msg := d.result(inv).failure(t); !strings.Contains(msg, "boom") {
					t.Fatalf("error %q does not contain %q", msg, "boom")
				}
			}},
			{name: "structured payload: signal carries complex value", run: waitThenSignal(`"typedSignal"`,
				func(t *testing.T, d *deployment, id string) {
					d.resolveTS(t, id, "typedSignal", map[string]any{"key": "test-key", "count": 42})
				},
				`{"key":"test-key","count":42}`)},
			{name: "multiple named signals resolved independently", run: func(t *testing.T, d *deployment) {
				inv := d.send(t, "/"+signalTest+"/waitForTwoSignals", nil, idempotent())
				// Resolve in reverse order to verify names are independent.
				d.resolveTS(t, inv.InvocationID, "signalB", "b-value")
				d.resolveTS(t, inv.InvocationID, "signalA", "a-value")
				sameJSON(t, d.result(inv).ok(t), `{"a":"a-value","b":"b-value"}`)
			}},
			{name: "race vs timeout: timeout wins when no signal arrives", run: func(t *testing.T, d *deployment) {
				if got := d.call("/"+signalTest+"/raceSignalVsTimeout", 1).str(t); got != "timeout" {
					t.Fatalf("got %q, want %q", got, "timeout")
				}
			}},
			{name: "race vs timeout: signal wins when resolved before timeout", run: func(t *testing.T, d *deployment) {
				inv := d.send(t, "/"+signalTest+"/raceSignalVsTimeout", 60_000, idempotent())
				d.resolveTS(t, inv.InvocationID, "mySignal", "fast")
				if got := d.result(inv).str(t); got != "fast" {
					t.Fatalf("got %q, want %q", got, "fast")
				}
			}},
			{name: "signal stream: collect values until end-of-stream", run: readStream([][]string{{"alpha", "beta", "gamma"}}, `["alpha","beta","gamma"]`)},
			{name: "signal stream: multiple batches then end", run: readStream([][]string{{"a", "b"}, {"c"}}, `["a","b","c"]`)},
			{name: "signal stream: empty stream returns empty array", run: readStream(nil, `[]`)},
		},
	})
}

// resolveTS calls SignalTest/resolveSignal (its request names the signal "name").
func (d *deployment) resolveTS(t *testing.T, id, name string, value any) {
	t.Helper()
	d.call("/"+signalTest+"/resolveSignal", map[string]any{"invocationId": id, "name": name, "value": value}).ok(t)
}

// waitThenSignal sends waitForSignal(name), completes the signal with complete and expects
// the result want (JSON).
func waitThenSignal(name string, complete func(*testing.T, *deployment, string), want string) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		inv := d.send(t, "/"+signalTest+"/waitForSignal", json.RawMessage(name), idempotent())
		complete(t, d, inv.InvocationID)
		sameJSON(t, d.result(inv).ok(t), want)
	}
}

// readStream sends readStream, appends each batch with appendToStream, ends the stream and
// expects the collected values want (JSON).
func readStream(batches [][]string, want string) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		inv := d.send(t, "/"+signalTest+"/readStream", nil, idempotent())
		for _, b := range batches {
			d.call("/"+signalTest+"/appendToStream", map[string]any{"invocationId": inv.InvocationID, "values": b}).ok(t)
		}
		d.call("/"+signalTest+"/endStream", map[string]any{"invocationId": inv.InvocationID}).ok(t)
		sameJSON(t, d.result(inv).ok(t), want)
	}
}

// sameJSON fails unless got and want are equal JSON values (vitest's toEqual).
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, want)
	}
}
