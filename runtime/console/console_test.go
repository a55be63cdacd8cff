package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// adminToken guards the test server's admin API: the console must work through the guard.
const adminToken = "console-test-token"

// xssKey and xssNote are user data that would be markup, script or broken SQL if the console
// handled them as anything but text.
const (
	xssKey   = `o'k<b id="xss-key">bold</b>`
	xssNote  = `<img src=x id='xss-note' onerror='document.body.dataset.pwned=1'>`
	failMsg  = `<i id="xss-failure">bad</i> & "broken"`
	flakyMsg = `flaky: <u id="xss-flaky">down</u>`
)

// workload is the test services: a counter object (state), a service whose handler journals a
// named Run, a Sleep and a call, one that waits on an awakeable until it is cancelled, one that fails,
// one that fails every attempt with a retryable error.
func workload() *sdk.Endpoint {
	counter := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			c, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return c + n, sdk.Set(ctx, "count", c+n)
		})).
		Handler("hold", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			return sdk.Awakeable[string](ctx).Result() // holds the key until the test ends
		})).
		Handler("note", sdk.ObjectHandler(func(ctx sdk.ObjectContext, s string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Set(ctx, "note", s)
		}, sdk.WithCodec(textCodec{})))
	steps := sdk.NewService("Steps").
		Handler("work", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
			charged, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "charged " + in, nil }, sdk.WithName("charge"))
			if err != nil {
				return "", err
			}
			if err := sdk.Sleep(ctx, time.Millisecond); err != nil {
				return "", err
			}
			if _, err := sdk.Call[int](ctx, sdk.ToObject("Counter", "c", "add"), 2); err != nil {
				return "", err
			}
			return charged, nil
		})).
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Awakeable[string](ctx).Result()
		})).
		Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", sdk.TerminalError(errors.New(failMsg))
		})).
		Handler("flaky", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", sdk.RetryableError(errors.New(flakyMsg))
		}))
	return sdk.NewEndpoint().Bind(counter, steps)
}

// textCodec keeps text as it is (JSON would escape < and >): the note is stored as markup.
type textCodec struct{}

func (textCodec) ContentType() string { return "text/plain" }

func (textCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("textCodec: %T is not a string", v)
	}
	return []byte(s), nil
}

func (textCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("textCodec: %T is not a *string", v)
	}
	*p = string(data)
	return nil
}

type testServer struct {
	ingress, admin string
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		AdminTokens: []string{adminToken},
		// A failed attempt is retried after a minute: Steps/flaky stays backing-off during the test.
		Invoker: invoker.Config{Retry: invoker.RetryPolicy{InitialInterval: time.Minute, MaxInterval: time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "console", workload()); err != nil {
		t.Fatal(err)
	}
	return &testServer{ingress: s.IngressURL(), admin: s.AdminURL()}
}

// call sends an ingress request and returns the status and body.
func (s *testServer) call(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return s.callAs(t, path, "application/json", body)
}

func (s *testServer) callAs(t *testing.T, path, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(s.ingress+path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// send sends a one-way ingress request (path ends in /send) and returns the invocation's id.
func (s *testServer) send(t *testing.T, path string) string {
	t.Helper()
	st, body := s.call(t, path, "1")
	var sent struct{ InvocationID string }
	if err := json.Unmarshal([]byte(body), &sent); st != 202 || err != nil || sent.InvocationID == "" {
		t.Fatalf("send %s: %d %s", path, st, body)
	}
	return sent.InvocationID
}

// adminDo sends an admin request with the token.
func (s *testServer) adminDo(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// query runs SQL through POST /query.
func (s *testServer) query(t *testing.T, q string) []map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	status, b := s.adminDo(t, "POST", "/query", string(body))
	if status != 200 {
		t.Fatalf("%s: %d %s", q, status, b)
	}
	var res struct{ Rows []map[string]any }
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res.Rows
}

// waitStatus waits until id's sys_invocation row satisfies ok.
func (s *testServer) waitStatus(t *testing.T, id, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := s.query(t, `SELECT status, completion_result, completion_failure, last_failure FROM sys_invocation WHERE id = '`+id+`'`)
		if len(rows) == 1 && ok(rows[0]) {
			return rows[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s is %v", what, id, rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invocationID is the id of the only invocation of target.
func (s *testServer) invocationID(t *testing.T, target string) string {
	t.Helper()
	rows := s.query(t, fmt.Sprintf(`SELECT id FROM sys_invocation WHERE target = '%s'`, strings.ReplaceAll(target, "'", "''")))
	if len(rows) != 1 {
		t.Fatalf("invocations of %s: %v", target, rows)
	}
	return rows[0]["id"].(string)
}

// listed is an invocations row as the console shows it.
type listed struct {
	ID, Status, Target string
}

func (b *browser) listedInvocations(t *testing.T) []listed {
	t.Helper()
	return eval[[]listed](t, b, `[...document.querySelectorAll('#invocations tbody tr')].map((tr) => ({ID: tr.dataset.id, Status: tr.dataset.status, Target: tr.dataset.target}))`)
}

func targets(rows []listed) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Target)
	}
	slices.Sort(out)
	return out
}

// TestConsole drives the console in headless Chromium against a real server (admin tokens on)
// after a known workload: the token prompt, the invocations list and its filters, an
// invocation's journal as a timeline, a key's state, services and deployments, cancel and
// purge; data that looks like markup stays text, and the pages write no error to the console.
func TestConsole(t *testing.T) {
	b := startBrowser(t) // skips without chromium before the server starts
	s := startServer(t)

	// The workload.
	if st, body := s.call(t, "/Counter/a/add", "5"); st != 200 || body != "5" {
		t.Fatalf("add a: %d %s", st, body)
	}
	if st, body := s.call(t, "/Counter/b/add", "7"); st != 200 {
		t.Fatalf("add b: %d %s", st, body)
	}
	if st, body := s.callAs(t, "/Counter/"+url.PathEscape(xssKey)+"/note", "text/plain", xssNote); st != 200 {
		t.Fatalf("note: %d %s", st, body)
	}
	if st, body := s.call(t, "/Steps/work", `"order-1"`); st != 200 || body != `"charged order-1"` {
		t.Fatalf("work: %d %s", st, body)
	}
	if st, body := s.call(t, "/Steps/fail", ""); st < 400 {
		t.Fatalf("fail: %d %s", st, body)
	}
	waitID := s.send(t, "/Steps/wait/send")
	flakyID := s.send(t, "/Steps/flaky/send")
	// The waiting invocation has started (its journal will not change until it is cancelled), and
	// the flaky one has failed its first attempt.
	s.waitStatus(t, waitID, "the wait invocation started", func(r map[string]any) bool { return r["status"] == "running" || r["status"] == "suspended" })
	s.waitStatus(t, flakyID, "the flaky invocation backs off", func(r map[string]any) bool { return r["status"] == "backing-off" })

	// Without a token the console asks for one; with it, it shows the invocations.
	b.do(t, "open the console", chromedp.Navigate(s.admin+"/ui"))
	b.waitFor(t, "the token prompt", `document.getElementById('login') !== null`)
	// A wrong token is refused with the guard's words, and the prompt stays.
	b.do(t, "enter a wrong token", chromedp.SendKeys("#token", "not-"+adminToken), chromedp.Click(`#login button[type="submit"]`))
	b.waitFor(t, "the refusal", `document.getElementById('login') !== null && document.getElementById('login').textContent.includes('invalid bearer token')`)
	beforeLogin := len(b.console())
	b.do(t, "enter the token", chromedp.SendKeys("#token", adminToken), chromedp.Click(`#login button[type="submit"]`))
	b.waitFor(t, "the invocations list", `document.getElementById('invocations') !== null`)
	// The 401 answers before the token are the only problems the page may have reported.
	for _, m := range b.console()[:beforeLogin] {
		expected := m.Type == chromedp.ConsoleError && m.Source == "network" && strings.Contains(m.Text, "401")
		if !expected && (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleException) {
			t.Errorf("console before the token: %s", m)
		}
	}
	afterLogin := len(b.console())

	t.Run("invocations", func(t *testing.T) {
		all := s.query(t, `SELECT id, status, target FROM sys_invocation`)
		want := map[string]string{}
		for _, r := range all {
			want[r["id"].(string)] = r["target"].(string) + " " + r["status"].(string)
		}
		got := map[string]string{}
		for _, r := range b.listedInvocations(t) {
			got[r.ID] = r.Target + " " + r.Status
		}
		// The waiting one may go from running to suspended between the two reads.
		for id := range want {
			if id == waitID {
				if g := got[id]; g != "Steps/wait running" && g != "Steps/wait suspended" {
					t.Errorf("wait invocation listed as %q", g)
				}
				delete(got, id)
				delete(want, id)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 7 || want[flakyID] != "Steps/flaky backing-off" {
			t.Errorf("listed\n got %v\nwant %v (POST /query)", got, want)
		}
		screenshot(t, b, "invocations.png")

		// Filters, set through the form, narrow the list; each leaves its values in the URL.
		for _, f := range []struct {
			name       string
			set        map[string]string
			wantTarget []string
		}{
			{"completed", map[string]string{"f-status": "completed"}, []string{"Counter/" + xssKey + "/note", "Counter/a/add", "Counter/b/add", "Counter/c/add", "Steps/fail", "Steps/work"}},
			{"completed Counter", map[string]string{"f-service": "Counter"}, []string{"Counter/" + xssKey + "/note", "Counter/a/add", "Counter/b/add", "Counter/c/add"}},
			{"key a", map[string]string{"f-key": "a"}, []string{"Counter/a/add"}},
			{"older than an hour", map[string]string{"f-age": "old-1h"}, nil},
			{"created in the last hour", map[string]string{"f-age": "new-1h"}, []string{"Counter/a/add"}},
			{"the quoted key", map[string]string{"f-key": xssKey}, []string{"Counter/" + xssKey + "/note"}},
			{"not completed, any service", map[string]string{"f-status": "active", "f-service": "", "f-key": "", "f-age": ""}, []string{"Steps/flaky", "Steps/wait"}},
			{"backing-off", map[string]string{"f-status": "backing-off"}, []string{"Steps/flaky"}},
		} {
			n := b.rendered(t)
			set, _ := json.Marshal(f.set)
			eval[bool](t, b, `Object.entries(`+string(set)+`).every(([id, v]) => { document.getElementById(id).value = v; return document.getElementById(id).value === v; })`)
			b.do(t, "filter "+f.name, chromedp.Click("#f-apply"))
			b.waitRender(t, "filter "+f.name, n)
			slices.Sort(f.wantTarget)
			if got := targets(b.listedInvocations(t)); !slices.Equal(got, f.wantTarget) {
				t.Errorf("filter %s: listed %q, want %q", f.name, got, f.wantTarget)
			}
			hash := eval[string](t, b, `location.hash`)
			for id, v := range f.set {
				if v != "" && !strings.Contains(hash, url.QueryEscape(v)) && !strings.Contains(hash, strings.ReplaceAll(url.QueryEscape(v), "+", "%20")) {
					t.Errorf("filter %s: %s=%q not in the location %s", f.name, id, v, hash)
				}
			}
		}
		if n := eval[int](t, b, `document.querySelectorAll('#xss-key, #xss-flaky').length`); n != 0 {
			t.Errorf("a key or a failure was rendered as markup: %d elements", n)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		id := s.invocationID(t, "Steps/work")
		n := b.rendered(t)
		b.do(t, "list Steps", chromedp.Navigate(s.admin+"/ui/#/invocations?service=Steps"))
		b.waitRender(t, "Steps' invocations", n)
		n = b.rendered(t)
		b.do(t, "open the invocation", chromedp.Click(fmt.Sprintf(`#invocations a[href="#/invocations/%s"]`, id)))
		b.waitRender(t, "the invocation", n)
		type entry struct{ Index, Type, Name string }
		got := eval[[]entry](t, b, `[...document.querySelectorAll('#timeline li')].map((li) => ({Index: li.dataset.index, Type: li.dataset.entryType, Name: li.dataset.name}))`)
		var want []entry
		for _, r := range s.query(t, `SELECT index, entry_type, name FROM sys_journal WHERE id = '`+id+`' ORDER BY index`) {
			name, _ := r["name"].(string)
			want = append(want, entry{fmt.Sprint(r["index"]), r["entry_type"].(string), name})
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("timeline\n got %v\nwant %v (sys_journal)", got, want)
		}
		// The commands in the order the handler ran them.
		var commands []string
		for _, e := range got {
			if strings.HasPrefix(e.Type, "Command: ") {
				commands = append(commands, strings.TrimSpace(strings.TrimPrefix(e.Type, "Command: ")+" "+e.Name))
			}
		}
		if want := []string{"Input", "Run charge", "Sleep", "Call", "Output"}; !slices.Equal(commands, want) {
			t.Errorf("commands on the timeline %q, want %q", commands, want)
		}
		if call := eval[string](t, b, `document.querySelector('#timeline li[data-entry-type="Command: Call"]').textContent`); !strings.Contains(call, "→ Counter/c/add") {
			t.Errorf("the call on the timeline reads %q, want its target Counter/c/add", call)
		}
		if sleep := eval[string](t, b, `document.querySelector('#timeline li[data-entry-type="Command: Sleep"]').textContent`); !strings.Contains(sleep, "wakes up at") {
			t.Errorf("the sleep on the timeline reads %q, want its wake-up time", sleep)
		}
		if st := eval[string](t, b, `document.querySelector('#facts .status').textContent`); st != "completed" {
			t.Errorf("status shown %q", st)
		}
		screenshot(t, b, "timeline.png")

		// The callee's page links back to its caller.
		callee := s.invocationID(t, "Counter/c/add")
		n = b.rendered(t)
		b.do(t, "open the callee", chromedp.Navigate(s.admin+"/ui/#/invocations/"+callee))
		b.waitRender(t, "the callee", n)
		n = b.rendered(t)
		b.do(t, "follow invoked by", chromedp.Click(`#facts a[href="#/invocations/`+id+`"]`))
		b.waitRender(t, "the caller", n)
		if shown := eval[string](t, b, `document.getElementById('invocation-id').textContent`); shown != id {
			t.Errorf("invoked by led to %q, want the caller %s", shown, id)
		}
	})

	t.Run("failure", func(t *testing.T) {
		id := s.invocationID(t, "Steps/fail")
		n := b.rendered(t)
		b.do(t, "open the failed invocation", chromedp.Navigate(s.admin+"/ui/#/invocations/"+url.PathEscape(id)))
		b.waitRender(t, "the failed invocation", n)
		want := s.query(t, `SELECT completion_failure FROM sys_invocation WHERE id = '`+id+`'`)[0]["completion_failure"].(string)
		if !strings.Contains(want, failMsg) {
			t.Fatalf("sys_invocation's failure %q does not hold the handler's message", want)
		}
		if got := eval[string](t, b, `document.getElementById('completion-failure').textContent`); got != want {
			t.Errorf("failure shown %q, want %q", got, want)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#xss-failure').length`); n != 0 {
			t.Errorf("the failure message was rendered as markup")
		}
	})

	t.Run("state", func(t *testing.T) {
		n := b.rendered(t)
		b.do(t, "open the state page", chromedp.Click(`a[data-nav="state"]`))
		b.waitRender(t, "the state page", n)
		n = b.rendered(t)
		b.do(t, "choose Counter", chromedp.SetValue("#s-service", "Counter"), chromedp.Click("#s-show"))
		b.waitRender(t, "Counter's keys", n)
		keys := eval[[]string](t, b, `[...document.querySelectorAll('#state-keys tbody tr')].map((tr) => tr.dataset.key)`)
		if want := []string{"a", "b", "c", xssKey}; !slices.Equal(keys, want) {
			t.Errorf("keys with state %q, want %q", keys, want)
		}
		type value struct{ Name, Value string }
		for _, k := range []struct {
			key  string
			want []value
		}{
			{"a", []value{{"count", "5"}}},
			{xssKey, []value{{"note", xssNote}}},
		} {
			n := b.rendered(t)
			b.do(t, "open key "+k.key, chromedp.Navigate(s.admin+"/ui/#/state?service=Counter&key="+url.QueryEscape(k.key)))
			b.waitRender(t, "key "+k.key, n)
			got := eval[[]value](t, b, `[...document.querySelectorAll('#state tbody tr')].map((tr) => ({Name: tr.dataset.stateKey, Value: tr.querySelector('pre').textContent}))`)
			if fmt.Sprint(got) != fmt.Sprint(k.want) {
				t.Errorf("state of %q: %v, want %v", k.key, got, k.want)
			}
			if shown := eval[string](t, b, `document.getElementById('state-key').textContent`); shown != k.key {
				t.Errorf("key shown as %q, want %q", shown, k.key)
			}
		}
		if n := eval[int](t, b, `document.querySelectorAll('#xss-note, #xss-key').length`); n != 0 || eval[bool](t, b, `document.body.dataset.pwned === '1'`) {
			t.Errorf("state or key rendered as markup")
		}

		// A key held by one invocation with another queued behind it.
		holdID := s.send(t, "/Counter/h/hold/send")
		s.waitStatus(t, holdID, "hold started", func(r map[string]any) bool { return r["status"] == "running" || r["status"] == "suspended" })
		addID := s.send(t, "/Counter/h/add/send")
		s.waitStatus(t, addID, "the add behind the hold is inboxed", func(r map[string]any) bool { return r["status"] == "pending" })
		n = b.rendered(t)
		b.do(t, "open key h", chromedp.Navigate(s.admin+"/ui/#/state?service=Counter&key=h"))
		b.waitRender(t, "key h", n)
		if href := eval[string](t, b, `document.getElementById('state-holder').getAttribute('href')`); href != "#/invocations/"+holdID {
			t.Errorf("holder of h links to %q, want the hold invocation %s", href, holdID)
		}
		if inbox := eval[[]string](t, b, `[...document.querySelectorAll('#state-inbox a')].map((a) => a.textContent)`); !slices.Equal(inbox, []string{addID}) {
			t.Errorf("inbox of h %q, want [%s]", inbox, addID)
		}
		screenshot(t, b, "state.png")
	})

	t.Run("services", func(t *testing.T) {
		n := b.rendered(t)
		b.do(t, "open services", chromedp.Click(`a[data-nav="services"]`))
		b.waitRender(t, "services", n)
		services := eval[[]string](t, b, `[...document.querySelectorAll('#services tbody tr')].map((tr) => tr.dataset.service)`)
		if !slices.Equal(services, []string{"Counter", "Steps"}) {
			t.Errorf("services %q", services)
		}
		_, raw := s.adminDo(t, "GET", "/deployments", "")
		var deps struct{ Deployments []struct{ ID string } }
		if err := json.Unmarshal(raw, &deps); err != nil || len(deps.Deployments) != 1 {
			t.Fatalf("GET /deployments: %s", raw)
		}
		shown := eval[[]string](t, b, `[...document.querySelectorAll('#deployments tbody tr')].map((tr) => tr.dataset.deployment)`)
		if !slices.Equal(shown, []string{deps.Deployments[0].ID}) {
			t.Errorf("deployments %q, want %q", shown, deps.Deployments[0].ID)
		}
		screenshot(t, b, "services.png")
	})

	t.Run("cancel and purge", func(t *testing.T) {
		n := b.rendered(t)
		b.do(t, "open the waiting invocation", chromedp.Navigate(s.admin+"/ui/#/invocations/"+waitID))
		b.waitRender(t, "the waiting invocation", n)
		if eval[int](t, b, `document.querySelectorAll('button[data-op="purge"]').length`) != 0 {
			t.Errorf("purge offered for an invocation that has not completed")
		}
		n = b.rendered(t)
		b.do(t, "cancel", chromedp.Click(`button[data-op="cancel"]`), chromedp.Click(`button[data-confirm="cancel"]`))
		b.waitFor(t, "the cancel's answer", `document.querySelector('[data-op-done="cancel"]') !== null`)
		// The invocation ends: the handler sees the cancellation at its await.
		if r := s.waitStatus(t, waitID, "cancel", func(r map[string]any) bool { return r["status"] == "completed" }); r["completion_result"] != "failure" {
			t.Errorf("cancelled invocation: %v", r)
		}
		// The page reads the outcome again; once completed, purge is the only operation offered.
		b.waitRender(t, "the page after cancel", n)
		for eval[string](t, b, `document.querySelector('#facts .status').textContent`) != "completed" {
			n = b.rendered(t)
			b.do(t, "refresh", chromedp.Click("#refresh"))
			b.waitRender(t, "refresh", n)
		}
		if ops := eval[[]string](t, b, `[...document.querySelectorAll('button[data-op]')].map((b) => b.dataset.op)`); !slices.Equal(ops, []string{"purge"}) {
			t.Errorf("operations offered for a completed invocation: %q", ops)
		}
		n = b.rendered(t)
		b.do(t, "purge", chromedp.Click(`button[data-op="purge"]`), chromedp.Click(`button[data-confirm="purge"]`))
		b.waitRender(t, "the list after purge", n)
		b.waitFor(t, "the list after purge", `location.hash === '#/invocations'`)
		if rows := s.query(t, `SELECT id FROM sys_invocation WHERE id = '`+waitID+`'`); len(rows) != 0 {
			t.Errorf("purged invocation still there: %v", rows)
		}
	})

	t.Run("pause, resume and kill", func(t *testing.T) {
		n := b.rendered(t)
		b.do(t, "open the flaky invocation", chromedp.Navigate(s.admin+"/ui/#/invocations/"+flakyID))
		b.waitRender(t, "the flaky invocation", n)
		want := s.query(t, `SELECT last_failure FROM sys_invocation WHERE id = '`+flakyID+`'`)[0]["last_failure"].(string)
		if got := eval[string](t, b, `document.getElementById('last-failure').textContent`); !strings.Contains(want, flakyMsg) || !strings.HasSuffix(got, want) {
			t.Errorf("last failure shown %q, sys_invocation has %q", got, want)
		}
		for _, step := range []struct {
			op      string
			reached func(map[string]any) bool
			offered []string // the operations offered after it
		}{
			{"pause", func(r map[string]any) bool { return r["status"] == "paused" }, []string{"resume", "cancel", "kill"}},
			{"resume", func(r map[string]any) bool { return r["status"] != "paused" }, nil},
			{"kill", func(r map[string]any) bool { return r["status"] == "completed" }, []string{"purge"}},
		} {
			ops := eval[[]string](t, b, `[...document.querySelectorAll('button[data-op]')].map((b) => b.dataset.op)`)
			if !slices.Contains(ops, step.op) {
				t.Fatalf("%s not offered: %q", step.op, ops)
			}
			n := b.rendered(t)
			b.do(t, step.op, chromedp.Click(`button[data-op="`+step.op+`"]`), chromedp.Click(`button[data-confirm="`+step.op+`"]`))
			b.waitFor(t, "the answer to "+step.op, `document.querySelector('[data-op-done="`+step.op+`"]') !== null`)
			r := s.waitStatus(t, flakyID, step.op, step.reached)
			b.waitRender(t, "the page after "+step.op, n)
			for step.offered != nil && !slices.Equal(eval[[]string](t, b, `[...document.querySelectorAll('button[data-op]')].map((b) => b.dataset.op)`), step.offered) {
				n = b.rendered(t) // the page read the invocation before the log applied the operation
				b.do(t, "refresh", chromedp.Click("#refresh"))
				b.waitRender(t, "refresh", n)
			}
			if step.op == "kill" && r["completion_result"] != "failure" {
				t.Errorf("killed invocation: %v", r)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		// Pages of 3, newest first, from the first to the last by "Older": every invocation once,
		// in the order of the query; "Newest" goes back to the first page.
		var want []string
		for _, r := range s.query(t, `SELECT id FROM sys_invocation ORDER BY created_at DESC, id`) {
			want = append(want, r["id"].(string))
		}
		n := b.rendered(t)
		b.do(t, "list by 3", chromedp.Navigate(s.admin+"/ui/#/invocations?limit=3"))
		b.waitRender(t, "the first page", n)
		var got []string
		for page := 1; ; page++ {
			listed := b.listedInvocations(t)
			if len(listed) > 3 || len(listed) == 0 {
				t.Fatalf("page %d lists %d invocations, want 1 to 3", page, len(listed))
			}
			for _, r := range listed {
				got = append(got, r.ID)
			}
			if !eval[bool](t, b, `document.getElementById('older') !== null`) {
				break
			}
			if page > len(want) {
				t.Fatalf("still an Older link after %d pages", page)
			}
			n := b.rendered(t)
			b.do(t, "older", chromedp.Click("#older"))
			b.waitRender(t, fmt.Sprintf("page %d", page+1), n)
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages listed\n%v\nwant (newest first)\n%v", got, want)
		}
		if len(want) > 3 {
			n := b.rendered(t)
			b.do(t, "newest", chromedp.Click("#newest"))
			b.waitRender(t, "the first page again", n)
			if first := b.listedInvocations(t); len(first) != 3 || first[0].ID != want[0] {
				t.Errorf("Newest shows %v, want the first page (%v first)", first, want[0])
			}
		}
	})

	t.Run("auto-refresh", func(t *testing.T) {
		n := b.rendered(t)
		b.do(t, "list Counter/d", chromedp.Navigate(s.admin+"/ui/#/invocations?service=Counter&key=d"))
		b.waitRender(t, "Counter/d's invocations", n)
		if got := b.listedInvocations(t); len(got) != 0 {
			t.Fatalf("Counter/d has invocations before any call: %v", got)
		}
		b.do(t, "turn auto-refresh on", chromedp.Click("#auto-refresh"))
		if st, body := s.call(t, "/Counter/d/add", "1"); st != 200 {
			t.Fatalf("add d: %d %s", st, body)
		}
		// No click: the page reads the list again by itself.
		b.waitFor(t, "Counter/d/add listed", `document.querySelector('#invocations tr[data-target="Counter/d/add"]') !== null`)
		b.do(t, "turn auto-refresh off", chromedp.Click("#auto-refresh"))
		if eval[bool](t, b, `document.getElementById('auto-refresh').checked`) {
			t.Errorf("auto-refresh still on")
		}
	})

	if p := b.problems(afterLogin); len(p) > 0 {
		t.Errorf("the console reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// screenshot saves a PNG of the page in the test's artifact directory (kept with -artifacts)
// and checks it is a real picture: decodable, window-sized, not one flat colour.
func screenshot(t *testing.T, b *browser, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	r := img.Bounds()
	if r.Dx() < 800 || r.Dy() < 400 {
		t.Errorf("screenshot %v smaller than the window", r)
	}
	colours := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y && len(colours) < 50; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			colours[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	if len(colours) < 10 {
		t.Errorf("screenshot has %d colours: the page looks blank", len(colours))
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
