//go:build linux

package e2e

import (
	"fmt"
	"testing"
)

// TestStatePatchingTest ports restatedev/e2e e2e-tests tests/StatePatchingTest.kt (class
// StatePatchingTest): a Virtual Object key's state replaced through the admin API's
// POST /services/{name}/state (upstream's ServiceApi.modifyServiceState), then read by a handler.
// Upstream binds an in-test StateObject (setState/getState of a string under "state"); the
// TypeScript contract's Counter stands in (add/get of a number under "counter").
func TestStatePatchingTest(t *testing.T) {
	runClass(t, class{
		services: []string{counter},
		scenarios: []scenario{
			{name: "shouldPatchState", run: shouldPatchState},
		},
	})
}

// modifyServiceStateRequest is the admin API's ModifyServiceStateRequest: the new state
// replaces the key's whole state, each value a JSON array of bytes.
type modifyServiceStateRequest struct {
	Version   *string          `json:"version,omitempty"`
	ObjectKey string           `json:"object_key"`
	NewState  map[string][]int `json:"new_state"`
}

func shouldPatchState(t *testing.T, d *deployment) {
	const key = "test-key"
	path := "/" + counter + "/" + key

	// Set initial state.
	const initialState = 1
	d.call(path+"/add", initialState, idempotent()).ok(t)

	// Verify initial state.
	var n int
	d.call(path+"/get", nil, idempotent()).value(t, &n)
	if n != initialState {
		t.Fatalf("get after add(%d) = %d", initialState, n)
	}

	// Patch the state.
	const newState = 42
	req := modifyServiceStateRequest{ObjectKey: key, NewState: map[string][]int{"counter": byteArray(fmt.Sprint(newState))}}
	eventually(t, "modify service state", func() error {
		if r := d.adminPost("/services/"+counter+"/state", req); r.err != nil || r.status/100 != 2 {
			return fmt.Errorf("POST /services/%s/state: %v", counter, r)
		}
		return nil
	})

	// Verify patched state.
	eventually(t, "state is patched", func() error {
		r := d.call(path+"/get", nil)
		if r.err != nil || r.status != 200 || string(r.body) != fmt.Sprint(newState) {
			return fmt.Errorf("get: %v, want %d", r, newState)
		}
		return nil
	})
}
