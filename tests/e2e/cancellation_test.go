//go:build linux

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// The contracts of KillTest.kt, CancelTest.kt, AwakeableHolder.kt and Proxy.kt (restatedev/e2e
// sdk-tests contracts).
const (
	killRunner      = "KillTestRunner"
	killSingleton   = "KillTestSingleton"
	cancelRunner    = "CancelTestRunner"
	blockingService = "CancelTestBlockingService"
	awakeableHolder = "AwakeableHolder"
	proxy           = "Proxy"
)

// TestKillInvocation ports restatedev/e2e sdk-tests tests/KillInvocation.kt (class
// KillInvocation).
func TestKillInvocation(t *testing.T) {
	runClass(t, class{
		services: []string{killRunner, killSingleton, awakeableHolder},
		scenarios: []scenario{
			{name: "kill", run: kill},
		},
	})
}

// TestCancellation ports restatedev/e2e sdk-tests tests/Cancellation.kt (class Cancellation):
// its two parameterized tests, once per CancelTest.BlockingOperation.
func TestCancellation(t *testing.T) {
	var scenarios []scenario
	for _, op := range []string{"CALL", "SLEEP", "AWAKEABLE"} {
		scenarios = append(scenarios,
			scenario{name: "cancelFromAdminAPI/" + op, run: func(t *testing.T, d *deployment) {
				cancelBlocked(t, d, op, func(key string) string {
					return d.send(t, "/"+cancelRunner+"/"+key+"/startTest", op, idempotent()).InvocationID
				}, func(id string) error {
					r := d.adminPatch("/invocations/" + id + "/cancel")
					if r.err != nil || (r.status/100 != 2 && r.status != 404 && r.status != 409) {
						return fmt.Errorf("cancel %s: %v", id, r) // 404, 409: already completed or cancelled
					}
					return nil
				})
			}},
			scenario{name: "cancelFromContext/" + op, run: func(t *testing.T, d *deployment) {
				cancelBlocked(t, d, op, func(key string) string {
					req := proxyRequest{ServiceName: cancelRunner, VirtualObjectKey: key, HandlerName: "startTest", Message: byteArray(`"` + op + `"`)}
					return d.call("/"+proxy+"/oneWayCall", req, idempotent()).str(t)
				}, func(id string) error {
					if r := d.call("/"+testUtils+"/cancelInvocation", id, idempotent()); r.err != nil || r.status != 200 {
						return fmt.Errorf("TestUtilsService/cancelInvocation(%s): %v", id, r)
					}
					return nil
				})
			}})
	}
	runClass(t, class{
		services:  []string{cancelRunner, blockingService, awakeableHolder, proxy, testUtils},
		suites:    []suite{defaultSuite, alwaysSuspending},
		scenarios: scenarios,
	})
}

// proxyRequest is Proxy.ProxyRequest; Message is the raw input, a JSON array of bytes.
type proxyRequest struct {
	ServiceName      string `json:"serviceName"`
	VirtualObjectKey string `json:"virtualObjectKey,omitempty"`
	HandlerName      string `json:"handlerName"`
	Message          []int  `json:"message"`
}

// byteArray is s as upstream serializes a ByteArray in JSON: an array of numbers.
func byteArray(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

// verifyTimeout is upstream's withTimeout(1.seconds) around verifyTest: a verifyTest still
// queued behind startTest gives up, and the loop cancels again.
const verifyTimeout = time.Second

// cancelBlocked is the body of both Cancellation tests: start CancelTestRunner.startTest(op),
// which blocks on an awakeable held by AwakeableHolder and then on op; unlock the awakeable;
// cancel the invocation until verifyTest answers (the runner's key is free again), and see the
// blocking service's key unlocked.
func cancelBlocked(t *testing.T, d *deployment, op string, start func(key string) string, cancel func(id string) error) {
	key := newUUID()
	id := start(key)
	awaitAwakeableHeld(t, d, key)
	d.call("/"+awakeableHolder+"/"+key+"/unlock", "cancel", idempotent()).ok(t)

	// The cancellation might arrive before the blocking call was made, so retry.
	eventually(t, "verify test", func() error {
		if err := cancel(id); err != nil {
			return err
		}
		r := d.callWithin(verifyTimeout, "/"+cancelRunner+"/"+key+"/verifyTest", nil, idempotent())
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("verifyTest: %v", r)
		}
		// Upstream only needs verifyTest to answer; it also answers whether startTest saw
		// the cancellation (a TerminalError with code 409), which must be true here.
		if string(r.body) != "true" {
			return fmt.Errorf("verifyTest answered %s, want true", r.body)
		}
		return nil
	})
	awaitUnlocked(t, d, blockingService, key)
}

// "kill"
func kill(t *testing.T, d *deployment) {
	key := newUUID()
	id := d.send(t, "/"+killRunner+"/"+key+"/startCallTree", nil, idempotent()).InvocationID
	// With this synchronization point the call tree has been built before killing it.
	awaitAwakeableHeld(t, d, key)
	d.call("/"+awakeableHolder+"/"+key+"/unlock", "cancel", idempotent()).ok(t)

	eventually(t, "verify test", func() error {
		if r := d.adminPatch("/invocations/" + id + "/kill"); r.err != nil || r.status/100 != 2 {
			return fmt.Errorf("kill %s: %v", id, r)
		}
		return nil
	})
	awaitUnlocked(t, d, killSingleton, key)
}

// awaitAwakeableHeld waits until AwakeableHolder/key holds an awakeable.
func awaitAwakeableHeld(t *testing.T, d *deployment, key string) {
	t.Helper()
	eventually(t, "awakeable is registered", func() error {
		r := d.call("/"+awakeableHolder+"/"+key+"/hasAwakeable", nil)
		if r.err != nil || r.status != 200 || string(r.body) != "true" {
			return fmt.Errorf("hasAwakeable: %v", r)
		}
		return nil
	})
}

// unlockedTimeout bounds one isUnlocked call: on a key still locked it waits in the inbox, and
// the poll tries again.
const unlockedTimeout = 5 * time.Second

// awaitUnlocked waits until the exclusive handler isUnlocked of object/key answers, which it
// does only once nothing holds the key.
func awaitUnlocked(t *testing.T, d *deployment, object, key string) {
	t.Helper()
	eventually(t, object+" is unlocked", func() error {
		r := d.callWithin(unlockedTimeout, "/"+object+"/"+key+"/isUnlocked", nil)
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("isUnlocked: %v", r)
		}
		return nil
	})
}
