//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestWorkflowAPI ports restatedev/e2e sdk-tests tests/WorkflowAPI.kt (class WorkflowAPI).
func TestWorkflowAPI(t *testing.T) {
	runClass(t, class{
		services: []string{blockAndWait},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "setAndResolve", run: setAndResolve},
		},
	})
}

const blockAndWait = "BlockAndWaitWorkflow"

// "Set and resolve durable promise leads to completion"
func setAndResolve(t *testing.T, d *deployment) {
	id := newUUID()
	wf := "/" + blockAndWait + "/" + id

	first := d.send(t, wf+"/run", "Francesco")
	if first.Status != "Accepted" {
		t.Fatalf("first submission: status %q, want Accepted", first.Status)
	}

	eventually(t, "state is not blank", func() error {
		r := d.call(wf+"/getState", nil)
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("getState: %v", r)
		}
		var s string
		if err := json.Unmarshal(r.body, &s); err != nil || strings.TrimSpace(s) == "" {
			return fmt.Errorf("getState answered %s", r.body)
		}
		return nil
	})

	d.call(wf+"/unblock", "Till", idempotent()).ok(t)

	if got := d.workflowAttach(blockAndWait, id).str(t); got != "Till" {
		t.Fatalf("attach: got %q, want %q", got, "Till")
	}
	// Can call get output again.
	if got := d.workflowOutput(blockAndWait, id).str(t); got != "Till" {
		t.Fatalf("output: got %q, want %q", got, "Till")
	}

	// Re-submit should have no effect.
	second := d.send(t, wf+"/run", "Francesco")
	if second.Status != "PreviouslyAccepted" || second.InvocationID != first.InvocationID {
		t.Fatalf("second submission: %+v, want status PreviouslyAccepted and invocation %s", second, first.InvocationID)
	}
	if got := d.workflowOutput(blockAndWait, id).str(t); got != "Till" {
		t.Fatalf("output after the second submission: got %q, want %q", got, "Till")
	}
}
