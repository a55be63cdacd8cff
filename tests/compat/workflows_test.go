//go:build linux

package compat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// Workflows of the official SDKs (TsOrder, GoOrder: run waits for the durable promise
// "approval", completed by the shared handler approve or reject; TsBrief, GoBrief: the same with
// a workflow retention of 1 s).

// startRun calls wf/key/run(item) without waiting for the answer.
func startRun(env *scenarioEnv, wf, key, item string) pending {
	p := pending{reply: make(chan testenv.Reply, 1), err: make(chan error, 1)}
	go func() {
		r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+wf+"/"+key+"/run", fmt.Sprintf("%q", item), nil)
		p.reply <- r
		p.err <- err
	}()
	return p
}

// waitStatus waits until the workflow's shared handler status answers want.
func waitStatus(t *testing.T, env *scenarioEnv, wf, key, want string) {
	t.Helper()
	testenv.WaitReady(t, wf+"/"+key+" status "+want, awakeTimeout, func() error {
		r, err := testenv.Invoke(env.srv.ingress, "/"+wf+"/"+key+"/status", "")
		if err != nil {
			return err
		}
		if string(r.Body) != fmt.Sprintf("%q", want) {
			return fmt.Errorf("status %v", r)
		}
		return nil
	}, env.srv.proc)
}

// expectBody fails unless r's status is want and its body contains text.
func expectBody(t *testing.T, what string, r testenv.Reply, want int, text string) {
	t.Helper()
	if r.Status != want || !strings.Contains(string(r.Body), text) {
		t.Fatalf("%s: %v, want %d containing %s", what, r, want, text)
	}
}

// runsOf counts the effect lines of wf's run for key (one per execution of its first step).
func runsOf(t *testing.T, env *scenarioEnv, s *side, wf, key string) int {
	return len(effectLines(t, env.effects, fmt.Sprintf("%s %s %s run", s.name, strings.ToLower(wf), key)))
}

// workflowScenario: the run waits on its promise; a second run (call or send) is refused while
// it waits and after it ended; the promise resolved by a shared handler wakes it; a second
// completion fails with 409; peek and the run's state are visible to shared handlers.
func workflowScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-o1"
	run := startRun(env, s.order, key, "pizza")
	waitStatus(t, env, s.order, key, "waiting")
	expectBody(t, "peek before", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/peek", "", nil, 200), 200, `"unset"`)
	r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.order+"/"+key+"/run", `"again"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectBody(t, "second run while the first waits", r, 409, "the workflow method was already invoked")
	expectBody(t, "second run sent", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/run/send", `"again"`, nil, 202), 202, `"status":"PreviouslyAccepted"`)
	expectBody(t, "approve", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/approve", `"alice"`, nil, 200), 200, `"ok"`)
	expectBody(t, "run", run.wait(t, 200), 200, `"pizza approved by alice"`)
	expectBody(t, "peek after", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/peek", "", nil, 200), 200, `"set alice"`)
	expectBody(t, "status after", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/status", "", nil, 200), 200, `"approved"`)
	r, err = testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.order+"/"+key+"/approve", `"bob"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectBody(t, "second approve", r, 409, "promise was already completed")
	r, err = testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.order+"/"+key+"/run", `"again"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectBody(t, "run after it ended", r, 409, "the workflow method was already invoked")
	env.again(t, func(t *testing.T) {
		if n := runsOf(t, env, s, s.order, key); n != 1 {
			t.Errorf("run of %s/%s executed %d times, want once", s.order, key, n)
		}
	})
}

// workflowEarlyPromiseScenario: a promise completed before the run starts is there when it
// awaits it.
func workflowEarlyPromiseScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-o2"
	expectBody(t, "approve first", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/approve", `"carol"`, nil, 200), 200, `"ok"`)
	expectBody(t, "run", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/run", `"tea"`, nil, 200), 200, `"tea approved by carol"`)
}

// workflowRejectScenario: a rejected promise fails the run that waits on it with the rejection.
func workflowRejectScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-o3"
	run := startRun(env, s.order, key, "cake")
	waitStatus(t, env, s.order, key, "waiting")
	expectBody(t, "reject", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/reject", `"out of stock"`, nil, 200), 200, `"ok"`)
	expectBody(t, "run", run.wait(t, 500), 500, "out of stock")
}

// workflowAttachScenario: the other SDK's handler sends the run and attaches to it by invocation
// id (AttachInvocationCommand), and gets its result once the promise is resolved.
func workflowAttachScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-o4"
	attached := pending{reply: make(chan testenv.Reply, 1), err: make(chan error, 1)}
	go func() {
		body := fmt.Sprintf(`{"workflow":%q,"key":%q,"item":"soup"}`, s.order, key)
		r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.other.steps+"/attachOrder", body, nil)
		attached.reply <- r
		attached.err <- err
	}()
	waitStatus(t, env, s.order, key, "waiting")
	expectBody(t, "approve", mustInvoke(t, env.srv, "/"+s.order+"/"+key+"/approve", `"dave"`, nil, 200), 200, `"ok"`)
	expectBody(t, "attachOrder", attached.wait(t, 200), 200, `"soup approved by dave"`)
}

// workflowRetentionScenario: with a retention of 1 s the workflow is removed after its run ended
// (state, promises and the run), so the same key runs again, waiting on a fresh promise.
func workflowRetentionScenario(t *testing.T, env *scenarioEnv, s *side) {
	key := env.tag + "-b1"
	expectBody(t, "approve", mustInvoke(t, env.srv, "/"+s.brief+"/"+key+"/approve", `"first"`, nil, 200), 200, `"ok"`)
	expectBody(t, "first run", mustInvoke(t, env.srv, "/"+s.brief+"/"+key+"/run", `"one"`, nil, 200), 200, `"one approved by first"`)
	// The removal happens through the log after the run ended: wait for it.
	testenv.WaitReady(t, s.brief+"/"+key+" removed", awakeTimeout, func() error {
		r, err := testenv.Invoke(env.srv.ingress, "/"+s.brief+"/"+key+"/peek", "")
		if err != nil {
			return err
		}
		if string(r.Body) != `"unset"` {
			return fmt.Errorf("peek %v", r)
		}
		return nil
	}, env.srv.proc)
	expectBody(t, "status after removal", mustInvoke(t, env.srv, "/"+s.brief+"/"+key+"/status", "", nil, 200), 200, `"none"`)
	expectBody(t, "approve again", mustInvoke(t, env.srv, "/"+s.brief+"/"+key+"/approve", `"second"`, nil, 200), 200, `"ok"`)
	expectBody(t, "second run", mustInvoke(t, env.srv, "/"+s.brief+"/"+key+"/run", `"two"`, nil, 200), 200, `"two approved by second"`)
	if n := runsOf(t, env, s, s.brief, key); n != 2 {
		t.Errorf("run of %s/%s executed %d times, want twice", s.brief, key, n)
	}
}
