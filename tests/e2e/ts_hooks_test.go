//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestTSHooks ports one scenario of sdk-typescript's test/hooks.test.ts (Custom's vitest), the
// one about the server rather than the TypeScript SDK's hooks API: describe "transient error
// command metadata". KitchenSink_TransientErrors fails its attempts one way after another (the
// handler, a run, a run interceptor, a serde, the handler interceptor, then a journal mismatch)
// until its ninth attempt, and the server's sys_journal_events must have recorded each
// attempt's TransientError with the command it names. The rest of hooks.test.ts (the hooks and
// interceptors of the TypeScript SDK) is not ported.
func TestTSHooks(t *testing.T) {
	runClass(t, class{
		services: []string{"KitchenSink_TransientErrors"},
		tsOnly:   "sdk-typescript's own vitest services (hooks.ts: the TypeScript SDK's hooks and interceptors), not part of the shared test-services contract",
		scenarios: []scenario{
			{name: "transient error command metadata/transient errors carry correct command metadata per failure type", run: transientErrorMetadata,
				needs: "the introspection table sys_journal_events (a TransientError event per failed attempt, event_json with error_code, error_message and related_command_type/name/index); ours answers 'Table with name sys_journal_events does not exist'"},
		},
	})
}

// transientError is hooks_utils.ts' TransientError: what the test reads of a TransientError
// event's event_json.
type transientError struct {
	Code         int    `json:"error_code"`
	Message      string `json:"error_message"`
	CommandType  string `json:"related_command_type,omitempty"`
	CommandName  string `json:"related_command_name,omitempty"`
	CommandIndex *int   `json:"related_command_index,omitempty"`
}

func transientErrorMetadata(t *testing.T, d *deployment) {
	inv := d.send(t, "/KitchenSink_TransientErrors/invoke", "")

	// waitForInvocationOutcome: the invocation completed, successfully or not (its last
	// attempt still mismatches, and the ninth is the last).
	eventually(t, "invocation completed", func() error {
		var rows []struct {
			Status string `json:"status"`
		}
		if err := d.sql(fmt.Sprintf(`
        SELECT
          i.status,
          i.completion_result,
          i.completion_failure,
          j.entry_json
        FROM sys_invocation i
        LEFT JOIN sys_journal j ON i.id = j.id AND j.entry_type = 'Command: Output'
        WHERE i.id = '%s'
      `, inv.InvocationID), &rows); err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].Status != "completed" {
			return fmt.Errorf("invocation %s: %+v", inv.InvocationID, rows)
		}
		return nil
	})

	var rows []struct {
		EventJSON string `json:"event_json"`
	}
	if err := d.sql(fmt.Sprintf(`SELECT event_json FROM sys_journal_events WHERE id = '%s' AND event_type = 'TransientError' ORDER BY appended_at`, inv.InvocationID), &rows); err != nil {
		t.Fatal(err)
	}
	got := make([]transientError, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal([]byte(r.EventJSON), &got[i]); err != nil {
			t.Fatalf("event_json %s: %v", r.EventJSON, err)
		}
	}
	index := func(i int) *int { return &i }
	want := []transientError{
		{Code: 500, Message: "handler boom"},
		{Code: 500, Message: "step-1 boom", CommandType: "Run", CommandName: "step-1", CommandIndex: index(1)},
		{Code: 500, Message: "run-interceptor boom", CommandType: "Run", CommandName: "step-3", CommandIndex: index(3)},
		{Code: 500, Message: "serde boom"},
		{Code: 500, Message: "handler-interceptor boom"},
		{Code: 500, Message: "pre-mismatch"},
		{Code: 570, Message: "Found a mismatch between the code paths taken during the previous exe", CommandType: "Run", CommandName: "MISMATCH", CommandIndex: index(5)},
	}
	// The mismatch's message is only wanted to contain its start (expect.stringContaining).
	if len(got) == len(want) && strings.Contains(got[6].Message, want[6].Message) {
		want[6].Message = got[6].Message
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("transient errors:\n%s\nwant:\n%s", g, w)
	}
}

// sql runs query through the admin API's POST /query (JSON rows) and decodes the rows into
// rows.
func (d *deployment) sql(query string, rows any) error {
	r := d.do(context.Background(), http.MethodPost, d.admin+"/query", map[string]string{"query": query},
		func(r *http.Request) { r.Header.Set("accept", "application/json") })
	if r.err != nil || r.status != 200 {
		return fmt.Errorf("query %q: %v", query, r)
	}
	var out struct {
		Rows json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		return fmt.Errorf("query answer %s: %w", r.body, err)
	}
	return json.Unmarshal(out.Rows, rows)
}
