package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
)

// Attach and Output of the fake used by the other tests: no invocation exists.
func (f *fakeDispatcher) Attach(context.Context, ids.InvocationID) (ingress.Attachment, bool, error) {
	return ingress.Attachment{}, false, nil
}

func (f *fakeDispatcher) Output(context.Context, ids.InvocationID) (ingress.Attachment, bool, error) {
	return ingress.Attachment{}, false, nil
}

// attachDispatcher knows some invocations: now is what their status says now, and ends is the
// result that Attach gets by waiting for one that has not ended. It records the ids asked for.
// How the partition waits (and that an end cannot be missed) is tested through the real server
// (runtime/server/attach_test.go); here, what the ingress answers.
type attachDispatcher struct {
	fakeDispatcher
	now  map[ids.InvocationID]ingress.Attachment
	ends map[ids.InvocationID]command.Result
	fail error

	mu    sync.Mutex
	asked []string // "attach <id>" or "output <id>"
}

func (d *attachDispatcher) ask(op string, id ids.InvocationID) (ingress.Attachment, bool, error) {
	d.mu.Lock()
	d.asked = append(d.asked, op+" "+id.String())
	d.mu.Unlock()
	if d.fail != nil {
		return ingress.Attachment{}, false, d.fail
	}
	a, ok := d.now[id]
	return a, ok, nil
}

func (d *attachDispatcher) Attach(_ context.Context, id ids.InvocationID) (ingress.Attachment, bool, error) {
	a, ok, err := d.ask("attach", id)
	if ok && a.Result == nil {
		r := d.ends[id]
		a.Result = &r
	}
	return a, ok, err
}

func (d *attachDispatcher) Output(_ context.Context, id ids.InvocationID) (ingress.Attachment, bool, error) {
	return d.ask("output", id)
}

func (d *attachDispatcher) lastAsked() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.asked) == 0 {
		return ""
	}
	return d.asked[len(d.asked)-1]
}

// TestAttachAndOutput checks the answers of attach and output against what restate-server
// 1.7.12 answered in the same situations (noted per case; its bodies and headers are quoted as
// they came, the date of idempotency-expires aside).
func TestAttachAndOutput(t *testing.T) {
	mk := func(b byte) ids.InvocationID { return ids.NewInvocationID(ids.PartitionKey(b), [16]byte{b, 1, 2, 3}) }
	greet := command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
	running, done, failed, empty, blob, gone, wf := mk(1), mk(2), mk(3), mk(4), mk(5), mk(6), mk(7)
	unknown := mk(9)
	ended := time.Date(2026, 11, 27, 15, 42, 14, 265e6, time.UTC)
	value := func(v string) *command.Result { return &command.Result{Value: []byte(v)} }
	d := &attachDispatcher{
		now: map[ids.InvocationID]ingress.Attachment{
			running: {Target: greet},
			done:    {Target: greet, Result: value(`"got hi"`), EndedAt: ended.UnixMilli()},
			failed:  {Target: greet, Result: &command.Result{Failure: &command.Failure{Code: 418, Message: "short and stout"}}, EndedAt: ended.UnixMilli()},
			empty:   {Target: command.Target{Service: "Greeter", Handler: "noop"}, Result: value(""), EndedAt: ended.UnixMilli()},
			blob:    {Target: command.Target{Service: "Blob", Handler: "put"}, Result: value(""), EndedAt: ended.UnixMilli()},
			gone:    {Target: command.Target{Service: "Greeter", Handler: "removed"}, Result: value("1"), EndedAt: ended.UnixMilli()},
			wf: {Target: command.Target{Service: "Signup", Key: "k", Handler: "run", ServiceType: command.Workflow, HandlerType: command.WorkflowHandler},
				Result: value(`"ok"`), EndedAt: ended.UnixMilli(), Retention: &command.Retention{Completion: (10 * time.Minute).Milliseconds()}},
		},
		ends: map[ids.InvocationID]command.Result{running: *value(`"got later"`)},
	}
	h := ingress.New(ingress.Config{}, newRegistry(t), d)
	const expires = "2026-11-28T15:42:14.265+00:00" // ended + 24h, the default retention
	tests := []struct {
		name     string
		method   string
		path     string
		status   int
		body     string // exact
		header   map[string]string
		asked    string // the dispatcher's last call; "" for none
		noHeader []string
	}{
		// Output of a running invocation: 470 {"code":470,"message":"the invocation exists but
		// has not completed yet","source":"ingress"}, without x-restate-id.
		{"output not ready", "GET", "/restate/invocation/" + running.String() + "/output", 470,
			`{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`,
			map[string]string{"x-restate-error-source": "ingress"}, "output " + running.String(), []string{"x-restate-id"}},
		// Attach to it waits, then 200 "got hi", content-type application/json, x-restate-id and
		// no idempotency-expires.
		{"attach waits", "GET", "/restate/invocation/" + running.String() + "/attach", 200, `"got later"`,
			map[string]string{"content-type": "application/json", "x-restate-id": running.String()}, "attach " + running.String(), []string{"idempotency-expires"}},
		// Ended: output and attach both 200 with x-restate-id and idempotency-expires
		// (2026-11-28T15:42:14.265+00:00 for an end at 15:42:14.265 the day before).
		{"output ended", "GET", "/restate/invocation/" + done.String() + "/output", 200, `"got hi"`,
			map[string]string{"content-type": "application/json", "x-restate-id": done.String(), "idempotency-expires": expires}, "output " + done.String(), nil},
		{"attach ended", "GET", "/restate/invocation/" + done.String() + "/attach", 200, `"got hi"`,
			map[string]string{"content-type": "application/json", "x-restate-id": done.String(), "idempotency-expires": expires}, "attach " + done.String(), nil},
		// Failed: 418 {"code":418,"message":"short and stout","source":"invocation"} with
		// x-restate-error-source invocation, x-restate-id and idempotency-expires, to both.
		{"attach failed", "GET", "/restate/invocation/" + failed.String() + "/attach", 418, `{"code":418,"message":"short and stout","source":"invocation"}`,
			map[string]string{"x-restate-error-source": "invocation", "x-restate-id": failed.String(), "idempotency-expires": expires}, "attach " + failed.String(), nil},
		{"output failed", "GET", "/restate/invocation/" + failed.String() + "/output", 418, `{"code":418,"message":"short and stout","source":"invocation"}`,
			map[string]string{"x-restate-error-source": "invocation", "x-restate-id": failed.String()}, "output " + failed.String(), nil},
		// A void handler's empty result: 200, content-length 0, no content type; with
		// setContentTypeIfEmpty the output content type is set all the same.
		{"empty result", "GET", "/restate/invocation/" + empty.String() + "/output", 200, "",
			map[string]string{"content-length": "0"}, "output " + empty.String(), []string{"content-type"}},
		{"empty result with content type", "GET", "/restate/invocation/" + blob.String() + "/output", 200, "",
			map[string]string{"content-type": "application/octet-stream"}, "output " + blob.String(), nil},
		// The handler is no longer registered: the official ingress cannot tell the content type
		// and answers 404 "not found" (HandlerError::NotFound).
		{"handler gone", "GET", "/restate/invocation/" + gone.String() + "/output", 404, `{"code":404,"message":"not found","source":"ingress"}`,
			nil, "output " + gone.String(), []string{"x-restate-id"}},
		// Unknown well-formed id: output 404 {"code":404,"message":"invocation not found",
		// "source":"ingress"} without x-restate-id; attach 404 {"code":404,"message":"not
		// found","source":"invocation"} with x-restate-id.
		{"output unknown", "GET", "/restate/invocation/" + unknown.String() + "/output", 404, `{"code":404,"message":"invocation not found","source":"ingress"}`,
			map[string]string{"x-restate-error-source": "ingress"}, "output " + unknown.String(), []string{"x-restate-id"}},
		{"attach unknown", "GET", "/restate/invocation/" + unknown.String() + "/attach", 404, `{"code":404,"message":"not found","source":"invocation"}`,
			map[string]string{"x-restate-error-source": "invocation", "x-restate-id": unknown.String()}, "attach " + unknown.String(), nil},
		// Malformed ids: 400 from the ingress, before the method is checked (PUT on a bad id: 400).
		{"malformed id", "GET", "/restate/invocation/garbage/attach", 400, `{"code":400,"message":"bad invocation id 'garbage': bad format","source":"ingress"}`, nil, "", nil},
		{"empty id", "GET", "/restate/invocation//attach", 400, `{"code":400,"message":"bad invocation id '': bad length","source":"ingress"}`, nil, "", nil},
		{"wrong resource type", "GET", "/restate/invocation/inc_1cIqL3zLDN0c5HnuF7X0EtQ2oQFXRuT9Nl/output", 400,
			`{"code":400,"message":"bad invocation id 'inc_1cIqL3zLDN0c5HnuF7X0EtQ2oQFXRuT9Nl': unrecognized resource type: inc","source":"ingress"}`, nil, "", nil},
		{"malformed id, PUT", "PUT", "/restate/invocation/garbage/attach", 400, `{"code":400,"message":"bad invocation id 'garbage': bad format","source":"ingress"}`, nil, "", nil},
		// Other methods: 405 {"code":405,"message":"method not allowed","source":"ingress"}, with
		// no Allow header, for POST, DELETE and HEAD alike.
		{"post", "POST", "/restate/invocation/" + done.String() + "/output", 405, `{"code":405,"message":"method not allowed","source":"ingress"}`, nil, "", []string{"allow"}},
		{"delete", "DELETE", "/restate/invocation/" + done.String() + "/attach", 405, `{"code":405,"message":"method not allowed","source":"ingress"}`, nil, "", nil},
		{"post workflow", "POST", "/restate/workflow/Signup/k/attach", 405, `{"code":405,"message":"method not allowed","source":"ingress"}`, nil, "", nil},
		{"post by key", "POST", "/restate/invocation/Greeter/greet/k1/output", 405, `{"code":405,"message":"method not allowed","source":"ingress"}`, nil, "", nil},
		// A workflow not submitted yet (Order/w1 before its run was sent) is an unknown
		// invocation: output 404 "invocation not found" from the ingress, attach 404 "not found"
		// from the invocation with x-restate-id (the run's id).
		{"workflow not submitted, output", "GET", "/restate/workflow/Signup/k/output", 404, `{"code":404,"message":"invocation not found","source":"ingress"}`,
			nil, "output " + ids.Workflow("Signup", "k").String(), []string{"x-restate-id"}},
		{"workflow not submitted, attach", "GET", "/restate/workflow/Signup/k/attach", 404, `{"code":404,"message":"not found","source":"invocation"}`,
			map[string]string{"x-restate-id": ids.Workflow("Signup", "k").String()}, "attach " + ids.Workflow("Signup", "k").String(), nil},
		// A workflow run's result expires after the run's retention, not the default one.
		{"workflow run by id", "GET", "/restate/invocation/" + wf.String() + "/output", 200, `"ok"`,
			map[string]string{"idempotency-expires": ended.Add(10 * time.Minute).Format("2006-01-02T15:04:05.000+00:00")}, "output " + wf.String(), nil},
		// By idempotency key and by workflow, the id asked for is the one a request with that key
		// (or to that workflow's run) gets; see TestAttachIDsMatchRequests.
		{"unknown service by key", "GET", "/restate/invocation/Nope/h/k/attach", 404,
			`{"code":404,"message":"service 'Nope' not found, make sure to register the service before calling it.","source":"ingress"}`, nil, "", nil},
		{"query ignored", "GET", "/restate/invocation/" + done.String() + "/output?x=1", 200, `"got hi"`, nil, "output " + done.String(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.mu.Lock()
			d.asked = nil
			d.mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("answered %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s: %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.noHeader {
				if got, ok := rec.Header()[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("header %s: %q, want none", k, got)
				}
			}
			if got := d.lastAsked(); got != tt.asked {
				t.Errorf("dispatcher asked %q, want %q", got, tt.asked)
			}
		})
	}
}

// TestAttachIDsMatchRequests: attach and output by idempotency key ask for the invocation that a
// request with that key created, and by workflow for the run that a request to the workflow's
// run handler created: the ids come from the same derivation (invocationID).
func TestAttachIDsMatchRequests(t *testing.T) {
	d := &attachDispatcher{}
	h := ingress.New(ingress.Config{}, newRegistry(t), d)
	for _, tt := range []struct {
		name, send, idem, attach string
	}{
		{"service", "/Greeter/greet/send", "order-1", "/restate/invocation/Greeter/greet/order-1/attach"},
		{"object", "/Counter/a%2Fb/add/send", "order-1", "/restate/invocation/Counter/a%2Fb/add/order-1/output"},
		{"workflow shared handler", "/Signup/k/click/send", "i", "/restate/invocation/Signup/k/click/i/attach"},
		{"workflow run", "/Signup/k%20l/run/send", "", "/restate/workflow/Signup/k%20l/attach"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tt.send, bytes.NewReader([]byte(`1`)))
			req.Header.Set("Content-Type", "application/json")
			if tt.idem != "" {
				req.Header.Set("Idempotency-Key", tt.idem)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			inv, ok := d.last()
			if rec.Code != 202 || !ok {
				t.Fatalf("send: %d %s", rec.Code, rec.Body)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.attach, nil))
			op := "attach "
			if strings.HasSuffix(tt.attach, "/output") {
				op = "output "
			}
			if got := d.lastAsked(); got != op+inv.ID.String() {
				t.Fatalf("%s asked %q, the request got id %s", tt.attach, got, inv.ID)
			}
			// Another key, or another target with this key, names another invocation.
			other := strings.Replace(tt.attach, "/k", "/x", 1)
			if tt.idem != "" {
				other = strings.Replace(tt.attach, "/"+tt.idem+"/", "/"+tt.idem+"x/", 1)
			}
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", other, nil))
			if got := d.lastAsked(); got == "" || got == op+inv.ID.String() {
				t.Fatalf("%s asked %q, the same as %s", other, got, tt.attach)
			}
		})
	}
}

// TestAttachDispatchError: a failed read is a 503 that says a retry is safe.
func TestAttachDispatchError(t *testing.T) {
	h := ingress.New(ingress.Config{}, newRegistry(t), &attachDispatcher{fail: errors.New("no leader")})
	for _, op := range []string{"attach", "output"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/restate/workflow/Signup/k/"+op, nil))
		var e errBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 503 || e.Message != "internal routing error: no leader. You may safely retry the request." {
			t.Errorf("%s: %d %s", op, rec.Code, rec.Body)
		}
	}
}
