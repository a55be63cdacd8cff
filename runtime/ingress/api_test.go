package ingress_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
)

// TestNewerAPICallAndSend: /restate/call|send/… make the same invocations as the older paths
// (same target, id, input, headers but the ingress path), and a send's ?delay= (ISO 8601 or
// friendly) sets its execution time, a delay of zero too, as restate-server does.
func TestNewerAPICallAndSend(t *testing.T) {
	tests := []struct {
		name, newer, older string
		idemKey            string
		execution          time.Duration // after fixedNow; -1 for none
		status             int
		body               string
	}{
		{"call", "/restate/call/Greeter/greet", "/Greeter/greet", "", -1, 200, `"hello"`},
		{"object call, idempotent", "/restate/call/Counter/a%2Fb/add", "/Counter/a%2Fb/add", "k1", -1, 200, `"hello"`},
		{"send", "/restate/send/Greeter/greet", "/Greeter/greet/send", "", -1, 202, ""},
		{"delayed send, ISO 8601", "/restate/send/Counter/k/add?delay=PT1M30S", "/Counter/k/add/send?delay=1m30s", "s1", 90 * time.Second, 202, ""},
		{"delayed send, friendly", "/restate/send/Greeter/greet?delay=1+day%2C+2+hours", "/Greeter/greet/send?delay=P1DT2H", "", 26 * time.Hour, 202, ""},
		{"delay of zero", "/restate/send/Greeter/greet?delay=0", "/Greeter/greet/send?delay=0s", "", 0, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var invs []command.Invocation
			for _, path := range []string{tt.newer, tt.older} {
				d := &fakeDispatcher{}
				req := httptest.NewRequest("POST", path, strings.NewReader(`1`))
				req.Header.Set("Content-Type", "application/json")
				if tt.idemKey != "" {
					req.Header.Set("Idempotency-Key", tt.idemKey)
				}
				rec := httptest.NewRecorder()
				newHandler(t, d).ServeHTTP(rec, req)
				if rec.Code != tt.status {
					t.Fatalf("%s: %d %s, want %d", path, rec.Code, rec.Body, tt.status)
				}
				inv, ok := d.last()
				if !ok {
					t.Fatalf("%s: nothing dispatched", path)
				}
				if tt.body != "" && rec.Body.String() != tt.body {
					t.Fatalf("%s: body %s, want %s", path, rec.Body, tt.body)
				}
				if tt.status == 202 {
					var resp struct{ InvocationID, ExecutionTime, Status string }
					if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
						t.Fatal(err)
					}
					want := ""
					if tt.execution >= 0 {
						want = fixedNow.Add(tt.execution).Format("2006-01-02T15:04:05.000000000Z")
					}
					if resp.InvocationID != inv.ID.String() || resp.ExecutionTime != want || resp.Status != "Accepted" {
						t.Fatalf("%s: answered %s, want id %s, executionTime %q", path, rec.Body, inv.ID, want)
					}
				}
				invs = append(invs, inv)
			}
			newer, older := invs[0], invs[1]
			if tt.execution >= 0 && newer.ExecutionTime != fixedNow.Add(tt.execution).UnixMilli() {
				t.Fatalf("execution time %d, want %d", newer.ExecutionTime, fixedNow.Add(tt.execution).UnixMilli())
			}
			if tt.execution < 0 && newer.ExecutionTime != 0 {
				t.Fatalf("execution time %d without a delay", newer.ExecutionTime)
			}
			if tt.idemKey != "" && newer.ID != older.ID {
				t.Fatalf("ids %s and %s for the same idempotency key", newer.ID, older.ID)
			}
			if newer.Headers[0].Value != tt.newer {
				t.Fatalf("ingress path header %q, want %q", newer.Headers[0].Value, tt.newer)
			}
			newer.ID, older.ID = ids.InvocationID{}, ids.InvocationID{}
			newer.Headers, older.Headers = nil, nil
			nb, _ := json.Marshal(newer)
			ob, _ := json.Marshal(older)
			if string(nb) != string(ob) {
				t.Fatalf("%s made\n%s\n%s made\n%s", tt.newer, nb, tt.older, ob)
			}
		})
	}
}

// TestAttachOutputLookup: GET /restate/attach|output/{id}, POST /restate/attach|output with the
// target in the body, and POST /restate/lookup, as restate-server 1.7.12 answers them (its
// answers to the same requests are compared with ours in tests/ingressapi): the body names the
// invocation by id, by idempotency key or as a workflow's run, and gets the ids the older paths
// use; lookup answers the id whether or not it exists; methods and bodies are checked first.
func TestAttachOutputLookup(t *testing.T) {
	greet := command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
	byKey := ids.Idempotent(ids.Target{Service: "Greeter", Handler: "greet"}, false, "k1")
	byObjectKey := ids.Idempotent(ids.Target{Service: "Counter", Key: "c", Handler: "add"}, true, "k2")
	run := ids.Workflow("Signup", "w1")
	value := &command.Result{Value: []byte(`"v"`)}
	d := &attachDispatcher{now: map[ids.InvocationID]ingress.Attachment{
		byKey:       {Target: greet, Result: value},
		byObjectKey: {Target: command.Target{Service: "Counter", Key: "c", Handler: "add"}, Result: value},
		run:         {Target: command.Target{Service: "Signup", Key: "w1", Handler: "run"}, Result: value},
	}}
	h := ingress.New(ingress.Config{}, newRegistry(t), d)
	const badAPIPath = "bad path, expected /restate/call/:service/:handler, /restate/send/:service/:handler, /restate/scope/:scope/call/:service/:handler, /restate/attach/:invocation_id, /restate/output/:invocation_id, or /restate/lookup"
	idemBody := `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`
	objBody := `{"target":"idempotentInvocation","service":"Counter","key":"c","handler":"add","idempotencyKey":"k2"}`
	wfBody := `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"}`
	errJSON := func(code int, msg string) string {
		b, _ := json.Marshal(errBody{Code: code, Message: msg, Source: "ingress"})
		return string(b)
	}
	lookupOf := func(id ids.InvocationID) string { return `{"invocationId":"` + id.String() + `"}` }
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string // the body answered
		asked                    string // the dispatcher's last call ("" for none)
	}{
		{"attach by id", "GET", "/restate/attach/" + byKey.String(), "", 200, `"v"`, "attach " + byKey.String()},
		{"output by id", "GET", "/restate/output/" + run.String(), "", 200, `"v"`, "output " + run.String()},
		{"attach by id, POST", "POST", "/restate/attach/" + byKey.String(), "", 405, errJSON(405, "method not allowed"), ""},
		{"bad id before the method", "POST", "/restate/attach/inv_bad", "", 400, errJSON(400, "bad invocation id 'inv_bad': unrecognized codec version"), ""},
		{"attach by idempotency key", "POST", "/restate/attach", idemBody, 200, `"v"`, "attach " + byKey.String()},
		{"output by object idempotency key", "POST", "/restate/output", objBody, 200, `"v"`, "output " + byObjectKey.String()},
		{"output by workflow key", "POST", "/restate/output", wfBody, 200, `"v"`, "output " + run.String()},
		{"attach by id in the body", "POST", "/restate/attach", `{"target":"invocation","invocationId":"` + run.String() + `"}`, 200, `"v"`, "attach " + run.String()},
		{"output of nothing", "POST", "/restate/output", `{"target":"workflow","workflowName":"Signup","workflowKey":"nope"}`, 404, errJSON(404, "invocation not found"), "output " + ids.Workflow("Signup", "nope").String()},
		{"attach by target, GET", "GET", "/restate/attach", "", 405, errJSON(405, "method not allowed"), ""},
		{"attach, bad body", "POST", "/restate/attach", `{"target":"nope"}`, 500, errJSON(500, "cannot read body: invalid request body: unknown variant `nope`, expected one of `workflow`, `idempotentInvocation`, `invocation` at line 1 column 16"), ""},
		{"attach, bad scope", "POST", "/restate/attach", `{"target":"workflow","scope":"a b","workflowName":"Signup","workflowKey":"w1"}`, 400, errJSON(400, "bad scope value: value contains characters outside the allowed set [a-zA-Z0-9_.-]"), ""},
		{"attach, bad id in the body", "POST", "/restate/attach", `{"target":"invocation","invocationId":"x"}`, 400, errJSON(400, "bad invocation id 'x': bad format"), ""},
		{"lookup by idempotency key", "POST", "/restate/lookup", idemBody, 200, lookupOf(byKey), ""},
		{"lookup by object idempotency key", "POST", "/restate/lookup", objBody, 200, lookupOf(byObjectKey), ""},
		{"lookup by workflow key", "POST", "/restate/lookup", wfBody, 200, lookupOf(run), ""},
		{"lookup of nothing", "POST", "/restate/lookup", `{"target":"workflow","workflowName":"Nope","workflowKey":"x"}`, 200, lookupOf(ids.Workflow("Nope", "x")), ""},
		{"lookup, GET", "GET", "/restate/lookup", "", 405, errJSON(405, "method not allowed"), ""},
		{"lookup, bad body", "POST", "/restate/lookup", `{"target":"invocation"}`, 500, errJSON(500, "cannot read body: invalid lookup body: missing field `invocationId`"), ""},
		{"lookup, extra segment", "POST", "/restate/lookup/x", idemBody, 400, errJSON(400, badAPIPath), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.mu.Lock()
			d.asked = nil
			d.mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status || rec.Body.String() != tt.want {
				t.Fatalf("%d %s\nwant %d %s", rec.Code, rec.Body, tt.status, tt.want)
			}
			if got := d.lastAsked(); got != tt.asked {
				t.Fatalf("dispatcher asked %q, want %q", got, tt.asked)
			}
		})
	}

	// A scoped target has an id of its own, which no invocation has (scopes need vqueues).
	lookup := func(body string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/restate/lookup", strings.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("lookup %s: %d %s", body, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	scoped := lookup(`{"target":"idempotentInvocation","scope":"s1","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`)
	other := lookup(`{"target":"idempotentInvocation","scope":"s2","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`)
	scopedRun := lookup(`{"target":"workflow","scope":"s1","workflowName":"Signup","workflowKey":"w1"}`)
	for _, s := range []string{scoped, other, scopedRun} {
		if s == lookupOf(byKey) || s == lookupOf(run) {
			t.Fatalf("a scoped lookup answered the unscoped id: %s", s)
		}
	}
	if scoped == other || scoped != lookup(`{"target":"idempotentInvocation","scope":"s1","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`) {
		t.Fatalf("scoped lookups: %s, %s", scoped, other)
	}
}
