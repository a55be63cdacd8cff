//go:build linux

package compat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/tests/testenv"
)

// awakeTimeout bounds the wait for an awakeable id to be published and for a suspension.
const awakeTimeout = 30 * time.Second

// pending is an ingress call of steps.awake that runs while the test resolves its awakeable.
type pending struct {
	reply chan testenv.Reply
	err   chan error
}

// startAwake calls s.steps/awake({tag, sleepMs}) without waiting for the answer.
func startAwake(env *scenarioEnv, s *side, tag string, sleepMs int64) pending {
	p := pending{reply: make(chan testenv.Reply, 1), err: make(chan error, 1)}
	body := fmt.Sprintf(`{"tag":%q,"sleepMs":%d}`, tag, sleepMs)
	go func() {
		r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.steps+"/awake", body, nil)
		p.reply <- r
		p.err <- err
	}()
	return p
}

// wait returns the call's answer, failing unless its status is want.
func (p pending) wait(t *testing.T, want int) testenv.Reply {
	t.Helper()
	r, err := <-p.reply, <-p.err
	if err != nil {
		t.Fatalf("awake: %v", err)
	}
	if r.Status != want {
		t.Fatalf("awake: %v, want %d", r, want)
	}
	return r
}

// awakeableID waits for the effect line in which steps.awake published its awakeable's id, and
// checks that it was published once (through a journaled run).
func awakeableID(t *testing.T, env *scenarioEnv, s *side, tag string) string {
	t.Helper()
	prefix := s.name + " " + tag + " awakeable "
	testenv.WaitReady(t, "awakeable id of "+tag, awakeTimeout, func() error {
		if len(effectLines(t, env.effects, prefix)) == 0 {
			return fmt.Errorf("no effect line %q yet", prefix)
		}
		return nil
	}, env.srv.proc)
	lines := effectLines(t, env.effects, prefix)
	if len(lines) != 1 {
		t.Fatalf("awakeable id published %d times, want once: %q", len(lines), lines)
	}
	id := strings.TrimPrefix(lines[0], prefix)
	if !strings.HasPrefix(id, "sign_1") {
		t.Fatalf("awakeable id %q, want sign_1…", id)
	}
	return id
}

// resolveHTTP POSTs op (resolve or reject) for awakeable id and checks the status.
func resolveHTTP(t *testing.T, env *scenarioEnv, id, op, body string, want int) testenv.Reply {
	t.Helper()
	return mustInvoke(t, env.srv, "/restate/awakeables/"+id+"/"+op, body, nil, want)
}

// waitSuspension waits until an attempt of the awakeable's invocation has ended in a
// Suspension, so that the resolution must wake it.
func waitSuspension(t *testing.T, env *scenarioEnv, s *side, awakeable string) {
	t.Helper()
	aw, err := promises.Parse(awakeable)
	if err != nil {
		t.Fatal(err)
	}
	inv := aw.Invocation.String()
	testenv.WaitReady(t, "suspension of "+inv, awakeTimeout, func() error {
		for _, a := range s.tap.Attempts(inv) {
			if a.Has(testenv.FrameSuspension) {
				return nil
			}
		}
		return fmt.Errorf("no suspended attempt of %s yet", inv)
	}, env.srv.proc)
}

// awakeableSuspendedScenario: steps.awake suspends waiting on its awakeable; the awakeable is
// resolved twice over HTTP (both 202) and the handler returns the first value; resolving it
// once more after the invocation ended is accepted (202) and changes nothing.
func awakeableSuspendedScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-awake-suspended"
	call := startAwake(env, s, tag, 0)
	id := awakeableID(t, env, s, tag)
	waitSuspension(t, env, s, id)
	resolveHTTP(t, env, id, "resolve", `"first"`, 202)
	resolveHTTP(t, env, id, "resolve", `"second"`, 202)
	r := call.wait(t, 200)
	assertJSON(t, r.Body, "first")
	resolveHTTP(t, env, id, "resolve", `"after the end"`, 202)
	resolveHTTP(t, env, id, "reject", "after the end", 202)
	checkSuspended(t, s.tap, r.Header.Get("x-restate-id"), testenv.FrameRun, "publishing RunCommand")
}

// awakeableEarlyScenario: the awakeable is resolved while steps.awake sleeps, before it awaits.
func awakeableEarlyScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-awake-early"
	call := startAwake(env, s, tag, sleepFor.Milliseconds())
	id := awakeableID(t, env, s, tag)
	resolveHTTP(t, env, id, "resolve", `"early"`, 202)
	assertJSON(t, call.wait(t, 200).Body, "early")
}

// awakeableRejectScenario: a rejection over HTTP reaches the caller as the handler's terminal
// error (code 500, the request body as its message); a later resolution changes nothing.
func awakeableRejectScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-awake-reject"
	call := startAwake(env, s, tag, 0)
	id := awakeableID(t, env, s, tag)
	msg := "nope, rejected " + tag
	resolveHTTP(t, env, id, "reject", msg, 202)
	resolveHTTP(t, env, id, "resolve", `"too late"`, 202)
	r := call.wait(t, 500)
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Code != 500 || !strings.Contains(e.Message, msg) {
		t.Fatalf("answer %s, want code 500 with message %q", r.Body, msg)
	}
}

// awakeableFromHandlerScenario: the other SDK's steps.resolve resolves this side's awakeable
// from a handler (CompleteAwakeableCommand, delivered to the awakeable's partition).
func awakeableFromHandlerScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-awake-handler"
	call := startAwake(env, s, tag, 0)
	id := awakeableID(t, env, s, tag)
	value := "from " + s.other.name + " " + tag
	r := mustInvoke(t, env.srv, "/"+s.other.steps+"/resolve", fmt.Sprintf(`{"id":%q,"value":%q}`, id, value), nil, 200)
	assertJSON(t, r.Body, "resolved")
	assertJSON(t, call.wait(t, 200).Body, value)
}

// awakeableRejectFromHandlerScenario: the other SDK's steps.reject rejects this side's awakeable
// from a handler; the caller gets the handler's terminal error with the reason.
func awakeableRejectFromHandlerScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-awake-handler-reject"
	call := startAwake(env, s, tag, 0)
	id := awakeableID(t, env, s, tag)
	reason := "rejected by " + s.other.name + " " + tag
	r := mustInvoke(t, env.srv, "/"+s.other.steps+"/reject", fmt.Sprintf(`{"id":%q,"reason":%q}`, id, reason), nil, 200)
	assertJSON(t, r.Body, "rejected")
	r = call.wait(t, 500)
	if !strings.Contains(string(r.Body), reason) {
		t.Fatalf("answer %s, want the reason %q", r.Body, reason)
	}
}

// awakeableBadIDScenario: malformed ids are a 400 from the ingress, never a 5xx; a well-formed
// id of an invocation that does not exist is accepted and dropped (202), as restate-server does.
func awakeableBadIDScenario(t *testing.T, env *scenarioEnv, s *side) {
	for _, id := range []string{"sign_1bogus", "prom_1bogus", "inv_1x", "nope"} {
		r := resolveHTTP(t, env, id, "resolve", `"x"`, 400)
		if !strings.Contains(string(r.Body), "bad awakeable id '"+id+"'") {
			t.Errorf("POST resolve %s: body %s, want the bad-id message", id, r.Body)
		}
	}
	unknown := "sign_1kkR97i6AYm7JBi95f9pa5tNJjqSKaEKkAAAAEQ" // observed from restate-server
	resolveHTTP(t, env, unknown, "resolve", `"x"`, 202)
	resolveHTTP(t, env, unknown, "reject", "x", 202)
}

// namedSignalScenario: steps.waitSignal awaits the signal named "go" and suspends; the other
// SDK's steps.signal sends it a signal named "other" (which must not be taken for it), then "go"
// twice: the handler returns the first "go" value.
func namedSignalScenario(t *testing.T, env *scenarioEnv, s *side) {
	tag := env.tag + "-signal"
	reply, errc := make(chan testenv.Reply, 1), make(chan error, 1)
	go func() {
		r, err := testenv.Post(testenv.HTTPClient, env.srv.ingress+"/"+s.steps+"/waitSignal", fmt.Sprintf(`{"tag":%q,"name":"go"}`, tag), nil)
		reply <- r
		errc <- err
	}()
	prefix := s.name + " " + tag + " invocation "
	testenv.WaitReady(t, "invocation id of "+tag, awakeTimeout, func() error {
		if len(effectLines(t, env.effects, prefix)) == 0 {
			return fmt.Errorf("no effect line %q yet", prefix)
		}
		return nil
	}, env.srv.proc)
	inv := strings.TrimPrefix(effectLines(t, env.effects, prefix)[0], prefix)
	testenv.WaitReady(t, "suspension of "+inv, awakeTimeout, func() error {
		for _, a := range s.tap.Attempts(inv) {
			if a.Has(testenv.FrameSuspension) {
				return nil
			}
		}
		return fmt.Errorf("no suspended attempt of %s yet", inv)
	}, env.srv.proc)
	for _, sig := range []struct{ name, value string }{{"other", "wrong"}, {"go", "right"}, {"go", "twice"}} {
		r := mustInvoke(t, env.srv, "/"+s.other.steps+"/signal", fmt.Sprintf(`{"id":%q,"name":%q,"value":%q}`, inv, sig.name, sig.value), nil, 200)
		assertJSON(t, r.Body, "signalled")
	}
	r, err := <-reply, <-errc
	if err != nil || r.Status != 200 {
		t.Fatalf("waitSignal: %v %v", r, err)
	}
	assertJSON(t, r.Body, "right")
}
