package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/resolute-run/resolute/sdk"
)

// queryJSON posts q to POST /query asking for JSON and decodes the rows.
func queryJSON(t *testing.T, admin, q string) []map[string]any {
	t.Helper()
	status, ct, body := postQuery(t, admin, q, "application/json")
	if status != 200 || ct != "application/json" {
		t.Fatalf("%s: %d %s %s", q, status, ct, body)
	}
	var res struct{ Rows []map[string]any }
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("%s: %v in %s", q, err, body)
	}
	return res.Rows
}

func postQuery(t *testing.T, admin, q, accept string) (int, string, []byte) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"query": q})
	req, err := http.NewRequest("POST", admin+"/v4/query", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestQuery: POST /query answers SQL over a real server's tables after a known workload: a
// completed add, a key held by a suspended invocation with another add queued behind it.
func TestQuery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startWith(t, t.TempDir(), counters())
	in, admin := s.IngressURL(), s.AdminURL()
	hold, added, awakeable := counterWorkload(t, ctx, in)
	lcWait(t, ctx, "the second add of b is inboxed", func() string {
		rows := queryJSON(t, admin, `SELECT COUNT(*) AS n FROM sys_inbox WHERE service_name = 'Counter' AND service_key = 'b'`)
		if len(rows) == 1 && rows[0]["n"] == 1.0 {
			return ""
		}
		b, _ := json.Marshal(rows)
		return "inbox of b: " + string(b)
	})

	rows := queryJSON(t, admin, `SELECT target, target_handler_name, status, target_service_ty FROM sys_invocation WHERE target_service_name = 'Counter' AND target_handler_name IN ('add', 'hold') ORDER BY target`)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v|%v|%v|%v", r["target"], r["target_handler_name"], r["status"], r["target_service_ty"]))
	}
	// The holder waits on its awakeable: running while its attempt stays open, suspended after.
	want := []string{"Counter/a/add|add|completed|virtual_object", "Counter/b/add|add|pending|virtual_object", "Counter/b/hold|hold|running|virtual_object"}
	if len(got) == 3 && got[2] == "Counter/b/hold|hold|suspended|virtual_object" {
		want[2] = got[2]
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("invocations\n got %q\nwant %q", got, want)
	}
	// The lock holder is the hold invocation; the state query is the CLI's kv get (value in hex).
	holder := queryJSON(t, admin, `SELECT k.invocation_id, i.target FROM sys_keyed_service_status k JOIN sys_invocation i ON i.id = k.invocation_id WHERE k.service_key = 'b'`)
	if len(holder) != 1 || holder[0]["target"] != "Counter/b/hold" {
		t.Errorf("lock holder of b: %v", holder)
	}
	state := queryJSON(t, admin, `select key, value from state where service_name = 'Counter' and service_key = 'a' ;`)
	if len(state) != 1 || state[0]["key"] != "count" || state[0]["value"] != "35" { // "5"
		t.Errorf("state of a: %v", state)
	}
	// The journal of the completed add: its input, state commands and output.
	journal := queryJSON(t, admin, `SELECT j.index, j.entry_type FROM sys_journal j JOIN sys_invocation i ON i.id = j.id WHERE i.target = 'Counter/a/add' ORDER BY j.index`)
	if len(journal) < 2 || journal[0]["entry_type"] != "Command: Input" || journal[len(journal)-1]["entry_type"] != "Command: Output" {
		t.Errorf("journal of Counter/a/add: %v", journal)
	}

	// Without Accept: application/json the answer is an Arrow stream; COUNT is Int64 (the CLI
	// reads column 0 as Int64).
	status, ct, body := postQuery(t, admin, `SELECT COUNT(*) FROM sys_invocation WHERE status != 'completed'`, "")
	if status != 200 || ct != "application/vnd.apache.arrow.stream" {
		t.Fatalf("arrow: %d %s %s", status, ct, body)
	}
	rd, err := ipc.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatalf("arrow: no batch: %v", rd.Err())
	}
	if n := rd.RecordBatch().Column(0).(*array.Int64).Value(0); n != 2 {
		t.Errorf("arrow count of unfinished invocations %d, want 2", n)
	}

	for _, bad := range []struct{ body, want string }{
		{`{"query":"SELEC 1"}`, "Query error"},
		{`{"query":"SELECT nope FROM sys_invocation"}`, "nope"},
		{`{}`, "missing field `query`"},
		{`not json`, "JSON"},
	} {
		r := lcDo(t, "POST", admin+"/query", bad.body)
		var e struct{ Message string }
		if r.status != 400 || json.Unmarshal([]byte(r.body), &e) != nil || !strings.Contains(e.Message, bad.want) {
			t.Errorf("POST /query %s: %d %s, want 400 with a message naming %q", bad.body, r.status, r.body, bad.want)
		}
	}

	lcExpect(t, "resolve", lcDo(t, "POST", in+"/restate/awakeables/"+awakeable+"/resolve", `"done"`), 202, "")
	lcExpect(t, "hold", <-hold, 200, `"done"`)
	lcExpect(t, "add after the hold", <-added, 200, "1")
}

// TestQueryInvokedBy: an invocation made by another's call or one-way send names its caller
// (invoked_by, invoked_by_id, invoked_by_service_name, invoked_by_target), and the caller's
// journal names the callee (sys_journal.invoked_target, invoked_id).
func TestQueryInvokedBy(t *testing.T) {
	front := sdk.NewService("Front").Handler("go", sdk.ServiceHandler(func(ctx sdk.Context, key string) (int, error) {
		sdk.Send(ctx, sdk.Target{Service: "Counter", Key: key + "-sent", Handler: "add"}, 2)
		return sdk.Call[int](ctx, sdk.Target{Service: "Counter", Key: key, Handler: "add"}, 1)
	}))
	ep := counters()
	ep.Bind(front)
	s := startWith(t, t.TempDir(), ep)
	in, admin := s.IngressURL(), s.AdminURL()
	lcExpect(t, "front", lcDo(t, "POST", in+"/Front/go", `"k"`), 200, "1")
	lcWait(t, t.Context(), "the sent add ran", func() string {
		if r := lcDo(t, "POST", in+"/Counter/k-sent/get", ""); r.body != "2" {
			return r.body
		}
		return ""
	})
	rows := queryJSON(t, admin, `SELECT c.target, c.invoked_by, c.invoked_by_service_name, c.invoked_by_target, c.invoked_by_id = f.id AS by_front
		FROM sys_invocation c JOIN sys_invocation f ON f.target = 'Front/go' WHERE c.target_service_name = 'Counter' AND c.target_handler_name = 'add' ORDER BY c.target`)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v|%v|%v|%v|%v", r["target"], r["invoked_by"], r["invoked_by_service_name"], r["invoked_by_target"], r["by_front"]))
	}
	want := []string{"Counter/k-sent/add|service|Front|Front/go|true", "Counter/k/add|service|Front|Front/go|true"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("callees\n got %q\nwant %q", got, want)
	}
	// A call's callee is in its entry_lite_json (restate-server's journal_v2 EntryLite).
	calls := queryJSON(t, admin, `SELECT j.entry_type, c.target, c.invoked_by_id = f.id AS callee FROM sys_journal j JOIN sys_invocation f ON f.id = j.id
		JOIN sys_invocation c ON c.id = coalesce(json_extract_string(j.entry_lite_json, '$.Command.Call.invocation_id'), json_extract_string(j.entry_lite_json, '$.Command.OneWayCall.invocation_id'))
		WHERE f.target = 'Front/go' ORDER BY j.index`)
	got = nil
	for _, r := range calls {
		got = append(got, fmt.Sprintf("%v|%v|%v", r["entry_type"], r["target"], r["callee"]))
	}
	want = []string{"Command: OneWayCall|Counter/k-sent/add|true", "Command: Call|Counter/k/add|true"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("front's calls\n got %q\nwant %q", got, want)
	}
}

// counterWorkload is TestQuery's and TestPgWire's workload on the counters' deployment: a
// completed add of Counter/a, then Counter/b held by a hold waiting on an awakeable (its id
// returned) and an add of b sent behind it. The hold's and the add's answers arrive on hold
// and added.
func counterWorkload(t *testing.T, ctx context.Context, in string) (hold, added <-chan lcReply, awakeable string) {
	t.Helper()
	lcExpect(t, "add", lcDo(t, "POST", in+"/Counter/a/add", "5"), 200, "5")
	held := make(chan lcReply, 1)
	go func() { held <- lcAsync("POST", in+"/Counter/b/hold", "") }()
	lcWait(t, ctx, "Counter/b holds its key", func() string {
		r := lcDo(t, "POST", in+"/Counter/b/awakeable", "")
		if err := json.Unmarshal([]byte(r.body), &awakeable); err != nil || awakeable == "" {
			return r.body
		}
		return ""
	})
	add := make(chan lcReply, 1)
	go func() { add <- lcAsync("POST", in+"/Counter/b/add", "1") }()
	return held, add, awakeable
}
