package registry

import (
	"testing"

	"github.com/resolute-run/resolute/runtime/command"
)

func ms(v int64) *int64 { return &v }

// TestRetention follows restate-server's compute_retention: a workflow's run keeps its result for
// the workflow retention, an idempotent request for the idempotency retention, each with the
// journal for the journal retention but never longer; anything else for the journal retention.
// Handler settings override the service's, which override the defaults (a day each).
func TestRetention(t *testing.T) {
	const day = 24 * 60 * 60 * 1000
	svc := Service{Name: "S", Type: command.VirtualObject, Handlers: []Handler{
		{Name: "a", Type: command.Exclusive},
		{Name: "b", Type: command.Exclusive, Options: Options{JournalRetention: ms(50), IdempotencyRetention: ms(10)}},
	}}
	configured := svc
	configured.Options = Options{JournalRetention: ms(5000), IdempotencyRetention: ms(7000)}
	wf := Service{Name: "W", Type: command.Workflow, Options: Options{WorkflowCompletionRetention: ms(900)}, Handlers: []Handler{
		{Name: "peek", Type: command.Shared}, // sorted by name, as the registry keeps them
		{Name: "run", Type: command.WorkflowHandler, Options: Options{JournalRetention: ms(2000)}},
	}}
	for _, tc := range []struct {
		name       string
		svc        Service
		handler    string
		idempotent bool
		want       command.Retention
	}{
		{"defaults", svc, "a", false, command.Retention{Completion: day, Journal: day}},
		{"defaults, idempotent", svc, "a", true, command.Retention{Completion: day, Journal: day}},
		{"service settings", configured, "a", false, command.Retention{Completion: 5000, Journal: 5000}},
		{"service settings, idempotent", configured, "a", true, command.Retention{Completion: 7000, Journal: 5000}},
		{"handler over service", configured, "b", false, command.Retention{Completion: 50, Journal: 50}},
		{"journal capped by the idempotency retention", configured, "b", true, command.Retention{Completion: 10, Journal: 10}},
		{"workflow run", wf, "run", false, command.Retention{Completion: 900, Journal: 900}},
		{"workflow shared handler", wf, "peek", false, command.Retention{Completion: day, Journal: day}},
	} {
		if got := tc.svc.Retention(tc.handler, tc.idempotent); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
