//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestTSHooks ports the scenarios of sdk-typescript's test/hooks.test.ts (Custom's vitest) that
// turn on what the server does, not on the TypeScript SDK's hooks API alone:
//   - describe "transient error command metadata": KitchenSink_TransientErrors fails its
//     attempts one way after another (the handler, a run, a run interceptor, a serde, the
//     handler interceptor, then a journal mismatch) until its ninth attempt, and the server's
//     sys_journal_events must have recorded each attempt's TransientError with the command it
//     names;
//   - of describe "handler-level hooks" and "service-level hooks", the journal mismatch that
//     the retry policy kills, the abort timeout, the cancellation and the pause in the middle
//     of a run, and the suspension after every entry (inactivityTimeout 0): the events the
//     services' hooks record per attempt (HooksTestDriver.getEvents) show each attempt's end.
//
// The rest of hooks.test.ts (the hooks and interceptors of the TypeScript SDK) is not ported.
func TestTSHooks(t *testing.T) {
	services := []string{"KitchenSink_TransientErrors", "HooksTestDriver"}
	var scenarios []scenario
	for _, level := range []string{"handler", "service"} {
		for _, h := range hookScenarios {
			services = append(services, level+"_"+h.service)
			scenarios = append(scenarios, scenario{name: level + "-level hooks/" + h.name, run: h.run(level + "_" + h.service), needs: h.needs})
		}
	}
	runClass(t, class{
		services: services,
		tsOnly:   "sdk-typescript's own vitest services (hooks.ts: the TypeScript SDK's hooks and interceptors), not part of the shared test-services contract",
		scenarios: append(scenarios,
			scenario{name: "transient error command metadata/transient errors carry correct command metadata per failure type", run: transientErrorMetadata},
		),
	})
}

// interruptedRun is a scenario of a service whose handler is in the middle of its slow Run when
// the admin API's op (cancel, pause) reaches it: after the handler's and the Run's start, the
// hooks record the events then, and the invocation ends with status and result.
func interruptedRun(op, status, result string, then ...string) func(service string) func(*testing.T, *deployment) {
	return func(service string) func(*testing.T, *deployment) {
		return func(t *testing.T, d *deployment) {
			inv := d.send(t, "/"+service+"/invoke", "")
			started := []string{"hook:handler:before", "hook:run:slow-step:before"}
			d.wantHookEvents(t, inv.InvocationID, started...)
			d.adminPatch("/invocations/" + inv.InvocationID + "/" + op).ok(t)
			d.wantHookEvents(t, inv.InvocationID, append(started, then...)...)
			d.wantOutcome(t, inv.InvocationID, status, result)
		}
	}
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
	wantJournalEventRows(t, d, inv.InvocationID, got[6].Message)
}

// wantJournalEventRows checks, beyond upstream, the whole rows of sys_journal_events that
// transientErrorMetadata's invocation left, as restate-server 1.7.12 writes them: the journal
// index each event follows, the append times in order, and event_json exactly (its fields in
// serde's order, the unset ones left out, the documentation codes), but for the stack traces,
// which must be there and start with the error.
func wantJournalEventRows(t *testing.T, d *deployment, id, mismatch string) {
	t.Helper()
	var rows []struct {
		PartitionKey uint64 `json:"partition_key"`
		ID           string `json:"id"`
		After        uint32 `json:"after_journal_entry_index"`
		AppendedAt   string `json:"appended_at"`
		EventType    string `json:"event_type"`
		EventJSON    string `json:"event_json"`
	}
	if err := d.sql(fmt.Sprintf(`SELECT * FROM sys_journal_events WHERE id = '%s' ORDER BY appended_at`, id), &rows); err != nil {
		t.Fatal(err)
	}
	var statuses []struct {
		CreatedAt string `json:"created_at"`
	}
	if err := d.sql(fmt.Sprintf(`SELECT created_at FROM sys_invocation WHERE id = '%s'`, id), &statuses); err != nil || len(statuses) != 1 {
		t.Fatalf("created_at of %s: %v %v", id, statuses, err)
	}
	m, _ := json.Marshal(mismatch)
	const te = `{"ty":"TransientError","error_code":500,"error_message":`
	want := []struct {
		after      uint32
		json, head string // head: what error_stacktrace starts with ("": none)
	}{
		{0, te + `"handler boom","restate_doc_error_code":"RT0007"}`, "Error: handler boom"},
		{1, te + `"step-1 boom","restate_doc_error_code":"RT0007","related_command_index":1,"related_command_name":"step-1","related_command_type":"Run"}`, "Error: step-1 boom"},
		{5, te + `"run-interceptor boom","restate_doc_error_code":"RT0007","related_command_index":3,"related_command_name":"step-3","related_command_type":"Run"}`, "Error: run-interceptor boom"},
		{7, te + `"serde boom","restate_doc_error_code":"RT0007"}`, "Error: serde boom"},
		{7, te + `"handler-interceptor boom","restate_doc_error_code":"RT0007"}`, "Error: handler-interceptor boom"},
		{10, te + `"pre-mismatch","restate_doc_error_code":"RT0007"}`, "Error: pre-mismatch"},
		{10, `{"ty":"TransientError","error_code":570,"error_message":` + string(m) + `,"restate_doc_error_code":"RT0016","related_command_index":5,"related_command_name":"MISMATCH","related_command_type":"Run"}`, ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows of sys_journal_events, want %d: %+v", len(rows), len(want), rows)
	}
	last := statuses[0].CreatedAt
	for i, r := range rows {
		js, trace := r.EventJSON, ""
		if loc := stacktraceField.FindStringSubmatchIndex(js); loc != nil {
			if err := json.Unmarshal([]byte(js[loc[2]:loc[3]]), &trace); err != nil {
				t.Fatalf("row %d: stack trace of %s: %v", i, js, err)
			}
			js = js[:loc[0]] + js[loc[1]:]
		}
		w := want[i]
		if r.ID != id || r.After != w.after || r.EventType != "TransientError" || js != w.json ||
			(w.head == "") != (trace == "") || !strings.HasPrefix(trace, w.head) || r.AppendedAt < last || r.PartitionKey == 0 {
			t.Errorf("row %d: %+v\nwant after_journal_entry_index %d, event_json (stack trace aside) %s, a stack trace starting %q, appended at or after %s",
				i, r, w.after, w.json, w.head, last)
		}
		last = r.AppendedAt
	}
}

// stacktraceField is event_json's error_stacktrace field (its JSON string in group 1).
var stacktraceField = regexp.MustCompile(`,"error_stacktrace":("(?:[^"\\]|\\.)*")`)

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

// hookScenario is one scenario of hooks.test.ts' per-level suites, on the service
// <level>_<service>.
type hookScenario struct {
	name, service string
	run           func(service string) func(*testing.T, *deployment)
	needs         string // skipped on ours with this reason
}

var hookScenarios = []hookScenario{
	{"journal mismatch — retries then killed", "JournalMismatch", func(service string) func(*testing.T, *deployment) {
		return func(t *testing.T, d *deployment) {
			// Upstream calls and finds the new invocation among the driver's; sending
			// names it without racing the other scenarios.
			inv := d.send(t, "/"+service+"/invoke", "")
			d.result(inv).failure(t)
			d.wantHookEvents(t, inv.InvocationID,
				// attempt 1: run "step-a" fails — abandoned
				"hook:handler:before",
				"hook:run:step-a:before",
				"hook:run:step-a:error:[rw] transient",
				"hook:handler:error:[hw] (500) [rw] transient",
				// attempt 2: run "step-b" mismatches journal — abandoned
				"hook:handler:before",
				"hook:handler:error:[hw] (570) Found a mismatch between the code paths taken during the previous exe...",
				// attempt 3: same mismatch — abandoned, then killed (maxAttempts: 3)
				"hook:handler:before",
				"hook:handler:error:[hw] (570) Found a mismatch between the code paths taken during the previous exe...",
			)
		}
	}, ""},
	{"abort timeout — slow run aborted then succeeds on retry", "AbortTimeout", func(service string) func(*testing.T, *deployment) {
		return func(t *testing.T, d *deployment) {
			var out struct {
				InvocationID string `json:"invocationId"`
			}
			d.call("/"+service+"/invoke", "").value(t, &out)
			d.wantHookEvents(t, out.InvocationID,
				// attempt 1: run listens to abort signal, aborts immediately — abandoned
				"hook:handler:before",
				"hook:run:slow-step:before",
				"hook:run:slow-step:error:[rw] aborted",
				"hook:handler:error:[hw] (500) [rw] aborted",
				// attempt 2: run completes quickly — success
				"hook:handler:before",
				"hook:run:slow-step:before",
				"hook:run:slow-step:after",
				"hook:handler:after",
			)
		}
	}, ""},
	{"invocation cancelled in the middle of a run", "CancelDuringRun", interruptedRun("cancel", "completed", "failure",
		"hook:handler:error:[hw] Cancelled",
		"hook:run:slow-step:error:[rw] Cancelled",
	), ""},
	{"invocation pause requested in the middle of a run", "PauseDuringRun", interruptedRun("pause", "paused", "",
		"hook:run:slow-step:after",
		"hook:handler:error:[hw] (599) Suspended invocation",
	), ""},
	{"Always replay — suspend and replay after each entry", "SuspendPerEntry", func(service string) func(*testing.T, *deployment) {
		return func(t *testing.T, d *deployment) {
			var out struct {
				InvocationID string `json:"invocationId"`
			}
			d.call("/"+service+"/invoke", "").value(t, &out)
			d.wantHookEvents(t, out.InvocationID,
				"hook:handler:before",
				"hook:run:step-1:before",
				"hook:run:step-1:error:[rw] step-1 transient",
				"hook:handler:error:[hw] (500) [rw] step-1 transient",
				"hook:handler:before",
				"hook:run:step-1:before",
				"hook:run:step-1:after",
				"hook:handler:error:[hw] (599) Suspended invocation",
				"hook:handler:before",
				"hook:run:step-2:before",
				"hook:run:step-2:after",
				"hook:handler:error:[hw] (599) Suspended invocation",
				"hook:handler:before",
				"hook:handler:after",
			)
		}
	}, ""},
}

// wantHookEvents polls HooksTestDriver.getEvents(id) until it answers want (upstream's
// expect.poll), failing with the last answer.
func (d *deployment) wantHookEvents(t *testing.T, id string, want ...string) {
	t.Helper()
	eventually(t, "hook events", func() error {
		var got []string
		r := d.call("/HooksTestDriver/getEvents", id)
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("getEvents: %v", r)
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			return fmt.Errorf("getEvents %s: %w", r.body, err)
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("events %q, want %q", got, want)
		}
		return nil
	})
}

// wantOutcome polls sys_invocation until the invocation's status is status and, when result is
// set, its completion_result is result (upstream's waitForInvocationOutcome).
func (d *deployment) wantOutcome(t *testing.T, id, status, result string) {
	t.Helper()
	eventually(t, "invocation outcome", func() error {
		var rows []struct {
			Status string  `json:"status"`
			Result *string `json:"completion_result"`
		}
		if err := d.sql(fmt.Sprintf("SELECT status, completion_result FROM sys_invocation WHERE id = '%s'", id), &rows); err != nil {
			return err
		}
		if len(rows) != 1 || rows[0].Status != status || (result != "" && (rows[0].Result == nil || *rows[0].Result != result)) {
			return fmt.Errorf("invocation %s: %+v, want status %s result %q", id, rows, status, result)
		}
		return nil
	})
}
