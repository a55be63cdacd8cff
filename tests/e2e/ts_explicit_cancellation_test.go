//go:build linux

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const explicitCancellation = "ExplicitCancellation"

// TestTSExplicitCancellation ports sdk-typescript's test/explicit_cancellation.test.ts (describe
// "ExplicitCancellation"), one of the vitest files upstream runs through sdk-tests' Custom class:
// a service with the explicitCancellation option sees a cancellation as a promise it can race,
// and cancels the calls it made (cancelPreviousCalls). BlockForever is the target of its calls.
func TestTSExplicitCancellation(t *testing.T) {
	runClass(t, class{
		services: []string{explicitCancellation, "BlockForever"},
		tsOnly:   "sdk-typescript's own vitest services (ExplicitCancellation, BlockForever: the TypeScript SDK's explicitCancellation option and cancelPreviousCalls), not part of the shared test-services contract",
		scenarios: []scenario{
			{name: "raceAgainstCancellation: cancellation wins the race", run: func(t *testing.T, d *deployment) {
				inv := d.sendAndCancel(t, "raceAgainstCancellation", nil)
				if msg := d.result(inv).failure(t); !strings.Contains(msg, "Cancelled") {
					t.Fatalf("error %q does not contain %q", msg, "Cancelled")
				}
			}},
			{name: "doubleCancellation: catches cancellation, does cleanup, returns normally", run: func(t *testing.T, d *deployment) {
				inv := d.sendAndCancel(t, "doubleCancellation", nil)
				if got := d.result(inv).str(t); got != "cleanup-done" {
					t.Fatalf("got %q, want %q", got, "cleanup-done")
				}
			}},
			{name: "abortControllerInRun: cancellation aborts multiple ctx.run via AbortController", run: func(t *testing.T, d *deployment) {
				const count = 5
				inv := d.sendAndCancel(t, "abortControllerInRun", count)
				want := "controller-abort-" + strings.Repeat("run-cancelled,", count-1) + "run-cancelled"
				if got := d.result(inv).str(t); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}},
			{name: "cancelCalls: cancels all previous calls", run: func(t *testing.T, d *deployment) {
				var ids []string
				d.call("/"+explicitCancellation+"/cancelCalls", 3).value(t, &ids)
				if len(ids) != 3 {
					t.Fatalf("cancelCalls(3) = %q, want 3 invocation ids", ids)
				}
				for _, id := range ids {
					if id == "" {
						t.Fatalf("cancelCalls(3) = %q: an empty invocation id", ids)
					}
					// Ours, not upstream's: the server did cancel each call (BlockForever
					// would sleep a day, and attach would wait for it): 409 while the
					// cancelled call is still known, 404 once it is gone (it had no
					// idempotency key, so nothing keeps its result).
					if r := d.attach(id); r.status != 409 && r.status != 404 {
						t.Errorf("attach to cancelled call %s: %v, want 409 (cancelled) or 404 (completed, not retained)", id, r)
					}
				}
			}},
			{name: "cancelCalls: zero calls returns empty list", run: func(t *testing.T, d *deployment) {
				sameJSON(t, d.call("/"+explicitCancellation+"/cancelCalls", 0).ok(t), `[]`)
			}},
			{name: "cancelCallsTwoBatches: each batch cancels only its own calls", run: func(t *testing.T, d *deployment) {
				var batches [][]string
				d.call("/"+explicitCancellation+"/cancelCallsTwoBatches", map[string]int{"first": 2, "second": 3}).value(t, &batches)
				if len(batches) != 2 || len(batches[0]) != 2 || len(batches[1]) != 3 {
					t.Fatalf("cancelCallsTwoBatches(2, 3) = %q, want batches of 2 and 3 ids", batches)
				}
				all := slices.Concat(batches[0], batches[1])
				slices.Sort(all)
				if len(slices.Compact(all)) != 5 {
					t.Fatalf("cancelCallsTwoBatches(2, 3) = %q, want 5 distinct ids", batches)
				}
			}},
		},
	})
}

// sendAndCancel sends ExplicitCancellation's handler with in (idempotently, as upstream's
// idempotentSend) and cancels the invocation through the admin API.
func (d *deployment) sendAndCancel(t *testing.T, handler string, in any) sent {
	t.Helper()
	inv := d.send(t, "/"+explicitCancellation+"/"+handler, in, idempotent())
	if r := d.adminPatch("/invocations/" + inv.InvocationID + "/cancel"); r.err != nil || r.status/100 != 2 {
		t.Fatal(fmt.Errorf("cancel %s: %v", inv.InvocationID, r))
	}
	return inv
}
