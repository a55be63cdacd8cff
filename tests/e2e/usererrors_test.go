//go:build linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// The contract of Failing.kt (restatedev/e2e sdk-tests contracts).
const failing = "Failing"

// failureToPropagate is Failing.FailureToPropagate.
type failureToPropagate struct {
	ErrorMessage string            `json:"errorMessage"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// successAttempt is upstream's SUCCESS_ATTEMPT: the attempt at which
// failingCallWithEventualSuccess succeeds.
const successAttempt = 4

// testMetadata is upstream's TEST_METADATA.
var testMetadata = map[string]string{"key1": "value1", "key2": "value2"}

// TestUserErrors ports restatedev/e2e sdk-tests tests/UserErrors.kt (class UserErrors), in the
// suites of TestSuites.kt it belongs to that the runner has (default, alwaysSuspending).
func TestUserErrors(t *testing.T) {
	runClass(t, class{
		services: []string{failing, counter},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "invokeTerminallyFailingCall", run: invokeTerminallyFailingCall},
			{name: "failSeveralTimes", run: func(t *testing.T, d *deployment) {
				// This test checks the endpoint doesn't become unstable after the first failure.
				for range 3 {
					invokeTerminallyFailingCall(t, d)
				}
			}},
			{name: "internalCallFailurePropagation", run: func(t *testing.T, d *deployment) {
				failsWith(t, d, "callTerminallyFailingCall", failureToPropagate{ErrorMessage: "propagated error"})
			}},
			{name: "sideEffectWithTerminalError", run: func(t *testing.T, d *deployment) {
				failsWith(t, d, "terminallyFailingSideEffect", failureToPropagate{ErrorMessage: "failed side effect"})
			}},
			{name: "invokeTerminallyFailingCallWithMetadata", run: invokeTerminallyFailingCallWithMetadata},
			{name: "failSeveralTimesWithMetadata", run: func(t *testing.T, d *deployment) {
				for range 3 {
					invokeTerminallyFailingCallWithMetadata(t, d)
				}
			}},
			{name: "internalCallFailurePropagationWithMetadata", run: func(t *testing.T, d *deployment) {
				failsWithMetadata(t, d, "callTerminallyFailingCall", "propagated error with metadata")
			}},
			{name: "sideEffectWithTerminalErrorWithMetadata", run: func(t *testing.T, d *deployment) {
				failsWithMetadata(t, d, "terminallyFailingSideEffect", "failed side effect with metadata")
			}},
			{name: "setStateThenFailShouldPersistState", run: setStateThenFailShouldPersistState},
			{name: "invocationWithEventualSuccess", run: func(t *testing.T, d *deployment) {
				var n int
				d.call(failingPath(newUUID(), "failingCallWithEventualSuccess"), nil, idempotent()).value(t, &n)
				if n != successAttempt {
					t.Fatalf("failingCallWithEventualSuccess answered %d, want %d", n, successAttempt)
				}
			}},
		},
	})
}

func failingPath(key, handler string) string { return "/" + failing + "/" + key + "/" + handler }

// "Test calling method that fails terminally"
func invokeTerminallyFailingCall(t *testing.T, d *deployment) {
	failsWith(t, d, "terminallyFailingCall", failureToPropagate{ErrorMessage: "my error"})
}

// failsWith calls handler of a fresh Failing key with in (idempotently, as upstream) and fails
// the test unless the call fails with an error whose message contains in's message.
func failsWith(t *testing.T, d *deployment, handler string, in failureToPropagate) restateError {
	t.Helper()
	r := d.call(failingPath(newUUID(), handler), in, idempotent())
	msg := r.failure(t)
	if !strings.Contains(msg, in.ErrorMessage) {
		t.Fatalf("%s: error %q does not contain %q", handler, msg, in.ErrorMessage)
	}
	var e restateError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("%s: error body %s is not Restate's error object: %v", handler, r.body, err)
	}
	return e
}

// restateError is upstream's RestateError: the ingress's JSON error body.
type restateError struct {
	Code     *int              `json:"code"`
	Message  string            `json:"message"`
	Metadata map[string]string `json:"metadata"`
}

// "Test calling method that fails terminally with metadata"
func invokeTerminallyFailingCallWithMetadata(t *testing.T, d *deployment) {
	failsWithMetadata(t, d, "terminallyFailingCall", "my error with metadata")
}

// failsWithMetadata is upstream's callIngressRawAndExpectError with TEST_METADATA: the error body
// must carry the message and every entry of the metadata.
func failsWithMetadata(t *testing.T, d *deployment, handler, message string) {
	t.Helper()
	e := failsWith(t, d, handler, failureToPropagate{ErrorMessage: message, Metadata: testMetadata})
	if !strings.Contains(e.Message, message) {
		t.Fatalf("%s: error message %q does not contain %q", handler, e.Message, message)
	}
	for k, v := range testMetadata {
		if got, ok := e.Metadata[k]; !ok || got != v {
			t.Fatalf("%s: error metadata %v, want it to contain %s=%s", handler, e.Metadata, k, v)
		}
	}
}

// "Test set then fail should persist the set"
func setStateThenFailShouldPersistState(t *testing.T, d *deployment) {
	const counterName = "my-failure-counter"
	path := "/" + counter + "/" + counterName
	if msg := d.call(path+"/addThenFail", 1, idempotent()).failure(t); !strings.Contains(msg, counterName) {
		t.Fatalf("addThenFail: error %q does not contain %q", msg, counterName)
	}
	var n int
	d.call(path+"/get", nil, idempotent()).value(t, &n)
	if n != 1 {
		t.Fatalf("get after addThenFail(1) = %d, want 1", n)
	}
}
