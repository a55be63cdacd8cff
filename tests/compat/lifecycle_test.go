//go:build linux

package compat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// The lifecycle run drives the official SDKs' lifecycle services (compat/ts/service.mjs,
// compat/gosdk/lifecycle.go) through the admin API of a server of its own: cancel with
// compensations and propagation to the child call, kill, pause after the retry policy's last
// attempt and resume once the deployment is fixed, restart as new (from the input and from a
// journal prefix), purge and purge-journal, and the expiry of idempotency entries and journals
// after their retention. Each {Ts,Go}{LifeParent,LifeChild,Fragile,Rerun,Fleeting} service is
// used by one scenario of one side only, so the scenarios run in parallel and PATCHing a service
// changes nothing for the others.

// lcTimeout bounds each wait of the lifecycle run (an effect line, a suspension, an answer).
const lcTimeout = 30 * time.Second

// lcPortsNeeded is how many ports runLifecycle takes: ingress, admin and node of its server.
const lcPortsNeeded = 3

// runLifecycle starts a server of its own at the launcher's first protocol version, registers
// both running SDK services through fresh wiretaps and runs the lifecycle scenarios for both
// SDKs in parallel.
func runLifecycle(t *testing.T, l serverLauncher, logDir string, ports []int, tsPort, goPort int, effects string) {
	v := l.versions[0]
	srv := startServer(t, l, logDir, ports[0], ports[1], ports[2], v)
	sides := tapSDKs(t, tsPort, goPort)
	registerSides(t, srv, sides)
	env := &scenarioEnv{srv: srv, effects: effects, tag: "lc"}
	scenarios := []struct {
		name string
		run  func(t *testing.T, env *scenarioEnv, s *side)
	}{
		{"cancel compensates and reaches the child", func(t *testing.T, env *scenarioEnv, s *side) { lcCancelScenario(t, env, s, false) }},
		{"cancel from the other SDK's handler", func(t *testing.T, env *scenarioEnv, s *side) { lcCancelScenario(t, env, s, true) }},
		{"kill ends parent and child without compensation", lcKillScenario},
		{"paused after max attempts, resumed once fixed", lcPauseScenario},
		{"restart as new, from the input and from a prefix", lcRestartScenario},
		{"purge and purge-journal", lcPurgeScenario},
		{"cancelled or killed before it started is forgotten", lcForgottenScenario},
		{"retention from discovery expires", func(t *testing.T, env *scenarioEnv, s *side) { lcRetentionScenario(t, env, s, "Fleeting", false) }},
		{"retention PATCHed expires", func(t *testing.T, env *scenarioEnv, s *side) { lcRetentionScenario(t, env, s, "Kept", true) }},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			for _, s := range sides {
				t.Run(sc.name+"/"+s.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t, env, s)
				})
			}
		}
	})
	t.Run("again after all scenarios", func(t *testing.T) {
		for _, l := range env.late {
			t.Run(l.name, l.check)
		}
	})
	// Last, as registering the SDKs again sends every new invocation of their services to the
	// new deployments.
	var fresh []*side
	t.Run("resumed on the deployment registered after the pause", func(t *testing.T) {
		fresh = lcRedeploy(t, env, sides, tsPort, goPort)
	})
	for _, s := range append(sides, fresh...) {
		if err := s.tap.CheckProtocol(v); err != nil {
			t.Errorf("%s deployment: %v", s.name, err)
		}
	}
}

// lcRedeploy: two Fragile invocations per SDK are paused on the deployment they started on (the
// one behind sides' taps). The same SDK is registered again behind new wiretaps (a new
// deployment, "the fix"), and the marker removed. One invocation is resumed with
// ?deployment=<the new one>: its next attempt goes to the new deployment; the other is resumed
// without it and stays on the deployment it is pinned to. Both complete. It returns the new
// sides (their taps), or none when the invocations did not pause.
func lcRedeploy(t *testing.T, env *scenarioEnv, sides []*side, tsPort, goPort int) []*side {
	type paused struct {
		moved, kept, marker string
		want                int
	}
	ps := make([]paused, len(sides))
	dir := t.TempDir() // the markers outlive the subtests
	t.Run("paused", func(t *testing.T) {
		for i, s := range sides {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				p := paused{marker: filepath.Join(dir, s.name+"-broken"), want: lcMaxAttempts(t, env.srv, lcService(s, "Fragile"))}
				if err := os.WriteFile(p.marker, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				begin := time.Now()
				p.moved = lcSendFragile(t, env, s, env.tag+"-moved-"+s.name, p.marker)
				p.kept = lcSendFragile(t, env, s, env.tag+"-kept-"+s.name, p.marker)
				lcWaitPaused(t, env, begin, p.want, s.tap, p.moved, p.kept)
				ps[i] = p
			})
		}
	})
	if t.Failed() {
		return nil
	}
	fresh := tapSDKs(t, tsPort, goPort)
	deployments := make([]string, len(fresh))
	for i, f := range fresh {
		reg, err := testenv.Register(env.srv.admin, f.tap.URL)
		if err != nil || !strings.HasPrefix(reg.ID, "dp_") {
			t.Fatalf("register %s again: %+v, %v", f.name, reg, err)
		}
		deployments[i] = reg.ID
	}
	for i, s := range sides {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			p, srv, fix := ps[i], env.srv, fresh[i]
			if err := os.Remove(p.marker); err != nil {
				t.Fatal(err)
			}
			lcExpect(t, "resume on the new deployment", lcDo(t, "PATCH", srv.admin+"/invocations/"+p.moved+"/resume?deployment="+deployments[i], ""), "", 200)
			lcExpect(t, "resume on the pinned deployment", lcDo(t, "PATCH", srv.admin+"/invocations/"+p.kept+"/resume", ""), "", 200)
			for _, c := range []struct {
				id, tag        string
				before, after  *testenv.Wiretap // where the failed attempts and the last one went
				beforeAttempts int
			}{
				{p.moved, env.tag + "-moved-" + s.name, s.tap, fix.tap, p.want},
				{p.kept, env.tag + "-kept-" + s.name, s.tap, s.tap, p.want + 1},
			} {
				r := lcDo(t, "GET", srv.ingress+"/restate/invocation/"+c.id+"/attach", "")
				lcExpect(t, "attach to the resumed "+c.tag, r, "", 200)
				assertJSON(t, r.Body, "fixed "+c.tag)
				if atts := c.before.Attempts(c.id); len(atts) != c.beforeAttempts {
					t.Errorf("%s: %d attempts on the first deployment, want %d: %v", c.tag, len(atts), c.beforeAttempts, atts)
				}
				last := c.after.Attempts(c.id)
				if len(last) == 0 || !last[len(last)-1].Has(testenv.FrameOutput) {
					t.Errorf("%s: the attempt with the output did not go to the deployment wanted: %v", c.tag, last)
				}
				if c.after == fix.tap && len(last) != 1 {
					t.Errorf("%s: %d attempts on the new deployment, want 1: %v", c.tag, len(last), last)
				}
			}
			if atts := fix.tap.Attempts(p.kept); len(atts) != 0 {
				t.Errorf("the invocation resumed without a deployment went to the new one: %v", atts)
			}
		})
	}
	return fresh
}

// lcService names a side's lifecycle service: "Ts"+suffix or "Go"+suffix.
func lcService(s *side, suffix string) string {
	return strings.ToUpper(s.name[:1]) + s.name[1:] + suffix
}

// lcDo sends an HTTP request with a JSON body (empty: none) and reads the answer.
func lcDo(t *testing.T, method, url, body string) testenv.Reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return testenv.Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// lcGet GETs url (for use off the test goroutine).
func lcGet(url string) (testenv.Reply, error) {
	resp, err := testenv.HTTPClient.Get(url)
	if err != nil {
		return testenv.Reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return testenv.Reply{}, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return testenv.Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// lcExpect fails unless r's status is one of want and its body contains text.
func lcExpect(t *testing.T, what string, r testenv.Reply, text string, want ...int) {
	t.Helper()
	if !slices.Contains(want, r.Status) || !strings.Contains(string(r.Body), text) {
		t.Fatalf("%s: %v, want status %v with %q in the body", what, r, want, text)
	}
}

// lcStart POSTs to the ingress without waiting for the answer.
func lcStart(env *scenarioEnv, path, body string, hdr http.Header) pending {
	p := pending{reply: make(chan testenv.Reply, 1), err: make(chan error, 1)}
	go func() {
		r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+path, body, hdr)
		p.reply <- r
		p.err <- err
	}()
	return p
}

// lcPublished waits for the one effect line that starts with prefix and returns its remainder
// (an invocation id).
func lcPublished(t *testing.T, env *scenarioEnv, prefix string) string {
	t.Helper()
	testenv.WaitReady(t, "effect "+prefix, lcTimeout, func() error {
		if len(effectLines(t, env.effects, prefix)) == 0 {
			return fmt.Errorf("no effect line %q yet", prefix)
		}
		return nil
	}, env.srv.proc)
	lines := effectLines(t, env.effects, prefix)
	if len(lines) != 1 {
		t.Fatalf("effect %q recorded %d times, want once: %q", prefix, len(lines), lines)
	}
	return strings.TrimPrefix(lines[0], prefix)
}

// lcSuspended waits until an attempt of invocation id has ended in a Suspension.
func lcSuspended(t *testing.T, env *scenarioEnv, s *side, id string) {
	t.Helper()
	testenv.WaitReady(t, "suspension of "+id, lcTimeout, func() error {
		for _, a := range s.tap.Attempts(id) {
			if a.Has(testenv.FrameSuspension) {
				return nil
			}
		}
		return fmt.Errorf("no suspended attempt of %s yet", id)
	}, env.srv.proc)
}

// lcParentAndChild starts parent/{key}/run(tag) and returns the ids of the parent and of the
// child it calls once both have suspended (the parent waiting on the call, the child on its
// awakeable).
func lcParentAndChild(t *testing.T, env *scenarioEnv, s *side, key, tag string) (call pending, parent, child string) {
	t.Helper()
	call = lcStart(env, "/"+lcService(s, "LifeParent")+"/"+key+"/run", fmt.Sprintf("%q", tag), nil)
	parent = lcPublished(t, env, s.name+" "+tag+" parent ")
	child = lcPublished(t, env, s.name+" "+tag+" child ")
	lcSuspended(t, env, s, parent)
	lcSuspended(t, env, s, child)
	return call, parent, child
}

// lcCancelScenario: the parent waits on a call to the child, which waits on an awakeable; both
// are suspended. PATCH /invocations/{parent}/cancel: the parent sees its call fail with a terminal
// 409, compensates (an effect and state) and fails; the cancellation reaches the child too, which
// compensates and ends with 409; the caller gets 409; the key's lock passes on to the next call,
// which sees the compensation's state; a second cancel finds the parent completed. byHandler:
// the parent is cancelled instead by the other SDK's LifeChild/cancel handler (CancelInvocation
// from a handler, a SendSignalCommand to the parent).
func lcCancelScenario(t *testing.T, env *scenarioEnv, s *side, byHandler bool) {
	srv, key, tag := env.srv, env.tag+"-cancel", env.tag+"-cancel-"+s.name
	if byHandler {
		key, tag = key+"-h", tag+"-h"
	}
	call, parent, child := lcParentAndChild(t, env, s, key, tag)
	if byHandler {
		r := mustInvoke(t, srv, "/"+lcService(s.other, "LifeChild")+"/cancel", fmt.Sprintf("%q", parent), nil, 200)
		assertJSON(t, r.Body, "cancelled")
	} else {
		// Two more runs on the key wait in its inbox behind the parent: cancelled (with PATCH
		// …/cancel, 200, and with the older DELETE /invocations/{id}, 202), they end at once and
		// never run.
		for _, c := range []struct{ method, path string }{{"PATCH", "/cancel"}, {"DELETE", ""}} {
			inboxed := lcSend(t, env, "/"+lcService(s, "LifeParent")+"/"+key+"/run/send", tag+"-inboxed-"+c.method)
			want := map[string]int{"PATCH": 200, "DELETE": 202}[c.method]
			lcExpect(t, c.method+" the inboxed", lcDo(t, c.method, srv.admin+"/invocations/"+inboxed+c.path, ""), "", want)
			lcNeverRan(t, env, inboxed)
		}
		lcExpect(t, "cancel the parent", lcDo(t, "PATCH", srv.admin+"/invocations/"+parent+"/cancel", ""), "", 200, 202)
	}
	lcExpect(t, "the caller's answer", lcAnswer(t, "the parent's caller", call), `"code":409`, 409)
	compensated := func(t *testing.T) {
		for _, who := range []string{"parent", "child"} {
			if code := lcPublished(t, env, fmt.Sprintf("%s %s %s compensated ", s.name, tag, who)); code != "409" {
				t.Errorf("the %s compensated after a terminal error of code %s, want 409 (a cancellation)", who, code)
			}
		}
	}
	compensated(t)
	lcEnded(t, env, child, "Cancelled")
	r := mustInvoke(t, srv, "/"+lcService(s, "LifeParent")+"/"+key+"/compensated", "", nil, 200)
	assertJSON(t, r.Body, tag)
	lcExpect(t, "cancel the ended parent", lcDo(t, "PATCH", srv.admin+"/invocations/"+parent+"/cancel", ""), "was already completed", 409)
	env.again(t, compensated)
	if !byHandler {
		env.again(t, func(t *testing.T) {
			if got := effectLines(t, env.effects, s.name+" "+tag+"-inboxed-"); len(got) != 0 {
				t.Errorf("the cancelled inboxed invocations ran: %q", got)
			}
		})
	}
}

// lcNeverRan checks the output of an invocation cancelled or killed before it started: gone
// (404, as restate-server 1.7.12 answers: it forgets one that never started, idempotency key or
// not); never 470 (still there) nor an output.
func lcNeverRan(t *testing.T, env *scenarioEnv, id string) {
	t.Helper()
	if r := lcDo(t, "GET", env.srv.ingress+"/restate/invocation/"+id+"/output", ""); r.Status != 404 {
		t.Fatalf("output of %s, ended before it started: %v, want 404", id, r)
	}
}

// lcForgottenScenario: an idempotent invocation cancelled or killed before it started is
// forgotten, as restate-server does: its output is 404 and its idempotency key is free again (a
// new send is "Accepted", not "PreviouslyAccepted").
func lcForgottenScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv := env.srv
	for _, op := range []string{"cancel", "kill"} {
		tag := env.tag + "-forgotten-" + op + "-" + s.name
		path := "/" + lcService(s, "LifeParent") + "/" + tag + "/run/send?delay=1h"
		id := lcSend(t, env, path, tag)
		lcExpect(t, op+" the scheduled", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/"+op, ""), "", 200)
		lcExpect(t, "output of the "+op+"ed scheduled", lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/output", ""), "", 404)
		r := mustInvoke(t, srv, path, fmt.Sprintf("%q", tag), http.Header{"Idempotency-Key": {tag}}, 202)
		lcExpect(t, "the same send again", r, `"status":"Accepted"`, 202)
		lcExpect(t, "kill the second", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/kill", ""), "", 200)
	}
}

// lcAnswer waits for the answer of a call started with lcStart or lcAttach.
func lcAnswer(t *testing.T, who string, p pending) testenv.Reply {
	t.Helper()
	r, err := <-p.reply, <-p.err
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	return r
}

// lcAttach attaches to invocation id (GET /restate/invocation/{id}/attach) without waiting for the
// answer.
func lcAttach(srv *server, id string) pending {
	p := pending{reply: make(chan testenv.Reply, 1), err: make(chan error, 1)}
	go func() {
		r, err := lcGet(srv.ingress + "/restate/invocation/" + id + "/attach")
		p.reply <- r
		p.err <- err
	}()
	return p
}

// lcSend sends a call one way with a JSON string input, with the input as its idempotency key (so
// that callers can attach to it), and returns the accepted invocation's id.
func lcSend(t *testing.T, env *scenarioEnv, path, input string) string {
	t.Helper()
	r := mustInvoke(t, env.srv, path, fmt.Sprintf("%q", input), http.Header{"Idempotency-Key": {input}}, 202)
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &acc); err != nil || !strings.HasPrefix(acc.InvocationID, "inv_") {
		t.Fatalf("POST %s: %v, want an accepted invocation id", path, r)
	}
	return acc.InvocationID
}

// lcEnded waits until the output of invocation id is a 409 failure whose message contains msg
// (an invocation ended by a cancellation or a kill); 470 (not completed yet) is waited out.
func lcEnded(t *testing.T, env *scenarioEnv, id, msg string) {
	t.Helper()
	testenv.WaitReady(t, "the end of "+id, lcTimeout, func() error {
		r := lcDo(t, "GET", env.srv.ingress+"/restate/invocation/"+id+"/output", "")
		switch {
		case r.Status == 470:
			return fmt.Errorf("output of %s: %v", id, r)
		case r.Status != 409 || !strings.Contains(string(r.Body), msg):
			t.Fatalf("output of %s: %v, want 409 with %q", id, r, msg)
		}
		return nil
	}, env.srv.proc)
}

// lcKillScenario: as lcCancelScenario, but PATCH /invocations/{parent}/kill: the attached caller
// gets the terminal 409 "killed", the child is killed too, neither compensates (then and after
// all scenarios), and the key's lock passes on.
func lcKillScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, key, tag := env.srv, env.tag+"-kill", env.tag+"-kill-"+s.name
	call, parent, child := lcParentAndChild(t, env, s, key, tag)
	// Runs sent with a delay of an hour are scheduled: killed (with PATCH …/kill, 200, and with the
	// older DELETE /invocations/{id}?mode=kill, 202), they end at once and never run.
	for _, c := range []struct{ method, path string }{{"PATCH", "/kill"}, {"DELETE", "?mode=kill"}} {
		scheduled := lcSend(t, env, "/"+lcService(s, "LifeParent")+"/"+key+"-later/run/send?delay=1h", tag+"-scheduled-"+c.method)
		want := map[string]int{"PATCH": 200, "DELETE": 202}[c.method]
		lcExpect(t, c.method+" the scheduled", lcDo(t, c.method, srv.admin+"/invocations/"+scheduled+c.path, ""), "", want)
		lcNeverRan(t, env, scheduled)
	}
	// A second caller attaches to the parent by id before the kill.
	attached := lcAttach(srv, parent)
	lcExpect(t, "kill the parent", lcDo(t, "PATCH", srv.admin+"/invocations/"+parent+"/kill", ""), "", 200)
	lcExpect(t, "the caller's answer", lcAnswer(t, "the parent's caller", call), `"message":"killed"`, 409)
	lcExpect(t, "the attached caller's answer", lcAnswer(t, "the caller attached to the parent", attached), `"message":"killed"`, 409)
	lcEnded(t, env, child, "killed")
	r := mustInvoke(t, srv, "/"+lcService(s, "LifeParent")+"/"+key+"/compensated", "", nil, 200)
	assertJSON(t, r.Body, "none")
	lcExpect(t, "kill the ended parent", lcDo(t, "PATCH", srv.admin+"/invocations/"+parent+"/kill", ""), "was already completed", 409)
	env.again(t, func(t *testing.T) {
		want := []string{fmt.Sprintf("%s %s parent %s", s.name, tag, parent), fmt.Sprintf("%s %s child %s", s.name, tag, child)}
		if got := effectLines(t, env.effects, s.name+" "+tag+" "); !slices.Equal(got, want) {
			t.Errorf("effects of the killed invocations: %q, want only their publishing %q", got, want)
		}
		if got := effectLines(t, env.effects, s.name+" "+tag+"-scheduled-"); len(got) != 0 {
			t.Errorf("the killed scheduled invocations ran: %q", got)
		}
	})
}

// lcPauseScenario: Fragile fails while its marker file exists. Its retry policy (3 attempts, then
// pause, from discovery) is PATCHed to 2 attempts (restate-server 1.7 ignores the field and keeps
// 3). An invocation makes exactly that many attempts, all failed, and is paused: no further
// attempt comes within twice the time those took, and pausing it again answers 200 ("already
// paused"). With the marker removed, PATCH …/resume starts one more attempt, which succeeds.
func lcPauseScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, svc, tag := env.srv, lcService(s, "Fragile"), env.tag+"-pause-"+s.name
	marker := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := lcDo(t, "PATCH", srv.admin+"/services/"+svc, `{"retry_policy":{"max_attempts":2,"on_max_attempts":"pause","initial_interval":"10ms","max_interval":"10ms"}}`)
	lcExpect(t, "PATCH the retry policy", r, "", 200)
	want := lcMaxAttempts(t, srv, svc)
	begin := time.Now()
	id := lcSendFragile(t, env, s, tag, marker)
	lcWaitPaused(t, env, begin, want, s.tap, id)
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	lcExpect(t, "resume", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/resume", ""), "", 200)
	r = lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/attach", "")
	lcExpect(t, "attach to the resumed invocation", r, "", 200)
	assertJSON(t, r.Body, "fixed "+tag)
	atts := s.tap.Attempts(id)
	if len(atts) != want+1 || !atts[want].Has(testenv.FrameOutput) {
		t.Errorf("attempts: %v, want %d failed ones and then one with the output", atts, want)
	}
	if got := effectLines(t, env.effects, s.name+" "+tag+" "); len(got) != want+1 {
		t.Errorf("the service saw %d attempts, want %d: %q", len(got), want+1, got)
	}
	lcExpect(t, "resume the completed invocation", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/resume", ""), "is completed, cannot be resumed", 409)
}

// lcMaxAttempts reads the retry policy of Fragile (svc) and returns its max attempts: 2 as the
// pause scenario PATCHed it (restate-server 1.7.12 ignores that PATCH: 3, from discovery).
func lcMaxAttempts(t *testing.T, srv *server, svc string) int {
	t.Helper()
	r := lcDo(t, "GET", srv.admin+"/services/"+svc, "")
	var desc struct {
		RetryPolicy struct {
			MaxAttempts   int    `json:"max_attempts"`
			OnMaxAttempts string `json:"on_max_attempts"`
		} `json:"retry_policy"`
	}
	if err := json.Unmarshal(r.Body, &desc); err != nil {
		t.Fatalf("GET /services/%s: %v: %v", svc, r, err)
	}
	want := desc.RetryPolicy.MaxAttempts
	if srv.kind == "resolute" && want != 2 || want < 2 || desc.RetryPolicy.OnMaxAttempts != "Pause" {
		t.Fatalf("GET /services/%s: retry policy %+v after the PATCH, want 2 attempts (3 on restate-server 1.7, from discovery), then Pause", svc, desc.RetryPolicy)
	}
	return want
}

// lcSendFragile sends Fragile/run({tag, marker}) one way and returns the invocation's id.
func lcSendFragile(t *testing.T, env *scenarioEnv, s *side, tag, marker string) string {
	t.Helper()
	r := mustInvoke(t, env.srv, "/"+lcService(s, "Fragile")+"/run/send", fmt.Sprintf(`{"tag":%q,"marker":%q}`, tag, marker), nil, 202)
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &acc); err != nil || acc.InvocationID == "" {
		t.Fatalf("send: %v", r)
	}
	return acc.InvocationID
}

// lcWaitPaused waits until each invocation has made want attempts through tap, all failed, sent
// since begin, and checks that it is paused: no further attempt comes within twice the time they
// took, pausing it again answers 200 ("already paused"), and its status says paused.
func lcWaitPaused(t *testing.T, env *scenarioEnv, begin time.Time, want int, tap *testenv.Wiretap, invocations ...string) {
	t.Helper()
	srv := env.srv
	failed := func(id string) (n int) {
		for _, a := range tap.Attempts(id) {
			if a.Has(testenv.FrameError) && a.RuntimeDone {
				n++
			}
		}
		return n
	}
	for _, id := range invocations {
		testenv.WaitReady(t, fmt.Sprintf("%d failed attempts of %s", want, id), lcTimeout, func() error {
			if n := failed(id); n < want {
				return fmt.Errorf("%d failed attempts of %s", n, id)
			}
			return nil
		}, srv.proc)
	}
	// The attempts came 10 ms apart: one more would come well within twice the time they took.
	// (The floor gives the pause, proposed after the last failure, time to be applied.)
	time.Sleep(max(2*time.Since(begin), 500*time.Millisecond))
	for _, id := range invocations {
		if atts := tap.Attempts(id); len(atts) != want || failed(id) != want {
			t.Fatalf("%d attempts, want %d, all failed, then a pause: %v", len(atts), want, atts)
		}
		lcExpect(t, "pause the paused invocation", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/pause", ""), "", 200)
		// (restate-server 1.7.12 shows no retry count nor last failure for a paused invocation.)
		if st, ok := lcStatus(t, srv, id); ok && st.Status != "paused" {
			t.Errorf("status of %s: %+v, want paused", id, st)
		}
	}
}

// lcInvocation is what lcStatus reads of an invocation (sys_invocation's columns).
type lcInvocation struct {
	Status string `json:"status"`
}

// lcStatus reads invocation id's status: from restate-server with SQL (POST /query on
// sys_invocation), from ours with GET /invocations/{id}. ok is false (and the caller checks
// nothing) while our admin API has no such route (405).
func lcStatus(t *testing.T, srv *server, id string) (st lcInvocation, ok bool) {
	t.Helper()
	if srv.kind == "restate" {
		req, err := http.NewRequest("POST", srv.admin+"/query", strings.NewReader(fmt.Sprintf(
			`{"query":"SELECT status FROM sys_invocation WHERE id = '%s'"}`, id)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		req.Header.Set("accept", "application/json")
		resp, err := testenv.HTTPClient.Do(req)
		if err != nil {
			t.Fatalf("query the status of %s: %v", id, err)
		}
		defer resp.Body.Close()
		var rows struct{ Rows []lcInvocation }
		if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil || len(rows.Rows) != 1 {
			t.Fatalf("query the status of %s: %d rows, %v", id, len(rows.Rows), err)
		}
		return rows.Rows[0], true
	}
	r := lcDo(t, "GET", srv.admin+"/invocations/"+id, "")
	if r.Status == http.StatusMethodNotAllowed {
		t.Logf("GET /invocations/{id}: %v: not checked", r)
		return st, false
	}
	if r.Status != 200 {
		t.Fatalf("GET /invocations/%s: %v", id, r)
	}
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatalf("GET /invocations/%s: %v: %v", id, r, err)
	}
	return st, true
}

// lcRestartScenario: a completed Rerun/stamp restarted as new runs again under a new id with the
// same input (both steps run again, the answer names the new id). Restarted from a journal
// prefix that holds the first step's command (from=1: its completion comes along) or also its
// completion (from=2), the new invocation runs only the second step and answers with the first
// step's result, the old id. An index past the journal is refused with 400.
func lcRestartScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, svc, tag := env.srv, lcService(s, "Rerun"), env.tag+"-restart-"+s.name
	r := mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), nil, 200)
	id := r.Header.Get("x-restate-id")
	assertJSON(t, r.Body, tag+" first run by "+id)
	want := []string{fmt.Sprintf("%s %s first %s", s.name, tag, id), fmt.Sprintf("%s %s second %s", s.name, tag, id)}
	for _, tc := range []struct {
		query    string
		firstRun bool // the new invocation runs the first step again
	}{{"", true}, {"?from=1", false}, {"?from=2", false}} {
		r = lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/restart-as-new"+tc.query, "")
		lcExpect(t, "restart as new"+tc.query, r, "new_invocation_id", 200)
		var nw struct {
			ID string `json:"new_invocation_id"`
		}
		if err := json.Unmarshal(r.Body, &nw); err != nil || !strings.HasPrefix(nw.ID, "inv_") || nw.ID == id {
			t.Fatalf("restart as new%s: %v, want a new invocation id", tc.query, r)
		}
		r = lcDo(t, "GET", srv.ingress+"/restate/invocation/"+nw.ID+"/attach", "")
		lcExpect(t, "attach to the restarted invocation"+tc.query, r, "", 200)
		ranFirst := id
		if tc.firstRun {
			ranFirst = nw.ID
			want = append(want, fmt.Sprintf("%s %s first %s", s.name, tag, nw.ID))
		}
		assertJSON(t, r.Body, tag+" first run by "+ranFirst)
		want = append(want, fmt.Sprintf("%s %s second %s", s.name, tag, nw.ID))
	}
	if got := effectLines(t, env.effects, s.name+" "+tag+" "); !slices.Equal(got, want) {
		t.Errorf("steps run: %q, want %q", got, want)
	}
	lcExpect(t, "restart from past the journal", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/restart-as-new?from=99", ""), "", 400)
}

// lcPurgeScenario: a purged invocation is gone (output and attach by id 404, a second purge 404)
// and its idempotency key is free again (the same call runs again); purge-journal keeps the
// output but not the input (restart as new answers 410), and a purge after it removes the rest.
func lcPurgeScenario(t *testing.T, env *scenarioEnv, s *side) {
	srv, svc, tag := env.srv, lcService(s, "Rerun"), env.tag+"-purge-"+s.name
	hdr := http.Header{"Idempotency-Key": {tag}}
	r := mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), hdr, 200)
	id := r.Header.Get("x-restate-id")
	lcExpect(t, "purge", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/purge", ""), "", 200)
	lcExpect(t, "output of the purged", lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/output", ""), "", 404)
	lcExpect(t, "attach to the purged", lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/attach", ""), "", 404)
	lcExpect(t, "purge again", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/purge", ""), "does not exist", 404)
	firsts := func() int { return len(effectLines(t, env.effects, fmt.Sprintf("%s %s first ", s.name, tag))) }
	if n := firsts(); n != 1 {
		t.Fatalf("the first call ran %d times, want once", n)
	}
	r = mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), hdr, 200)
	if n := firsts(); n != 2 {
		t.Fatalf("after the purge the same idempotency key ran %d times in all, want twice (it ran again): %v", n, r)
	}

	tag = tag + "-journal"
	r = mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), nil, 200)
	id = r.Header.Get("x-restate-id")
	lcExpect(t, "purge-journal", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/purge-journal", ""), "", 200)
	r = lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/output", "")
	lcExpect(t, "output after purge-journal", r, "", 200)
	assertJSON(t, r.Body, tag+" first run by "+id)
	lcExpect(t, "restart as new without a journal", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/restart-as-new", ""), "input is not available", 410)
	lcExpect(t, "purge", lcDo(t, "PATCH", srv.admin+"/invocations/"+id+"/purge", ""), "", 200)
	lcExpect(t, "output after purge", lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/output", ""), "", 404)
}

// lcRetentionScenario: the service (suffix) keeps idempotency entries and journals for 1 s:
// Fleeting by its options from discovery, Kept (the defaults from discovery, a day) once patch has
// PATCHed both retentions. Once that has passed the invocation's output by id is gone (404,
// waited for: the removal goes through the log), and the same idempotency key runs the handler
// again.
func lcRetentionScenario(t *testing.T, env *scenarioEnv, s *side, suffix string, patch bool) {
	srv, svc, tag := env.srv, lcService(s, suffix), env.tag+"-retain-"+strings.ToLower(suffix)+"-"+s.name
	hdr := http.Header{"Idempotency-Key": {tag}}
	if patch {
		r := lcDo(t, "PATCH", srv.admin+"/services/"+svc, `{"idempotency_retention":"1s","journal_retention":"1s"}`)
		lcExpect(t, "PATCH the retention", r, `"idempotency_retention":"1s"`, 200)
		lcExpect(t, "the retention PATCHed", r, `"journal_retention":"1s"`, 200)
	}
	r := mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), hdr, 200)
	id := r.Header.Get("x-restate-id")
	assertJSON(t, r.Body, tag+" first run by "+id)
	testenv.WaitReady(t, "the output of "+id+" expired", lcTimeout, func() error {
		r := lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/output", "")
		switch r.Status {
		case 404:
			return nil
		case 200:
			return fmt.Errorf("output of %s still there: %v", id, r)
		}
		t.Fatalf("output of %s: %v, want 200 until it expires, then 404", id, r)
		return nil
	}, srv.proc)
	lcExpect(t, "attach to the expired", lcDo(t, "GET", srv.ingress+"/restate/invocation/"+id+"/attach", ""), "", 404)
	r = mustInvoke(t, srv, "/"+svc+"/stamp", fmt.Sprintf("%q", tag), hdr, 200)
	if got := effectLines(t, env.effects, fmt.Sprintf("%s %s first ", s.name, tag)); len(got) != 2 {
		t.Errorf("the idempotent call ran %d times, want twice (again after its retention): %q", len(got), got)
	}
}
