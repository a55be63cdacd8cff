//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// restartSuites are the suites TestSuites.kt runs KillRuntime and StopRuntime in: default and
// alwaysSuspending. Counter.add, their only handler, never waits (its state comes eagerly), so
// nothing suspends and the always suspending suite does not check that something did.
var restartSuites = []suite{defaultSuite, {name: alwaysSuspending.name, ours: alwaysSuspending.ours, official: alwaysSuspending.official}}

// TestKillRuntime ports restatedev/e2e sdk-tests tests/KillRuntime.kt (class KillRuntime): the
// server is killed (SIGKILL) and started again on its storage, and keeps the state.
func TestKillRuntime(t *testing.T) {
	runClass(t, class{
		services:  []string{counter},
		suites:    restartSuites,
		scenarios: []scenario{{name: "startAndKillRuntimeRetainsTheState", run: restartRetainsState(true)}},
	})
}

// TestStopRuntime ports restatedev/e2e sdk-tests tests/StopRuntime.kt (class StopRuntime): the
// server is stopped (SIGTERM, and a clean exit) and started again on its storage, and keeps the
// state.
func TestStopRuntime(t *testing.T) {
	runClass(t, class{
		services:  []string{counter},
		suites:    restartSuites,
		scenarios: []scenario{{name: "startAndStopRuntimeRetainsTheState", run: restartRetainsState(false)}},
	})
}

// secondAddTimeout is upstream's withTimeout(5.seconds) around each try of the second add.
const secondAddTimeout = 5 * time.Second

// restartRetainsState adds 1 to Counter/my-key, kills (or stops) and restarts the server, and
// adds 2 with an idempotency key until that answers {1, 3}.
func restartRetainsState(kill bool) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		path := "/" + counter + "/my-key/add"
		var res1 counterUpdate
		d.call(path, 1, idempotent()).value(t, &res1)
		if want := (counterUpdate{0, 1}); res1 != want {
			t.Fatalf("first add(1) = %+v, want %+v", res1, want)
		}

		if kill {
			d.server.kill()
		} else {
			d.server.stop(t)
		}
		d.server.restart(t)

		ik := newUUID()
		eventually(t, "second add", func() error {
			r := d.callWithin(secondAddTimeout, path, 2, withKey(ik))
			if r.err != nil || r.status != 200 {
				return fmt.Errorf("add(2): %v", r)
			}
			var res2 counterUpdate
			if err := json.Unmarshal(r.body, &res2); err != nil {
				return err
			}
			if want := (counterUpdate{1, 3}); res2 != want {
				return fmt.Errorf("add(2) after the restart = %+v, want %+v", res2, want)
			}
			return nil
		})
	}
}
