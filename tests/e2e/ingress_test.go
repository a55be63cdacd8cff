//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIngressTest ports two scenarios of restatedev/e2e e2e-tests tests/IngressTest.kt (class
// IngressTest), the ones on sends and attach. Upstream binds Kotlin services defined in the test
// itself; here their counterparts of the TypeScript contract stand in: Counter.add answers
// {oldValue, newValue} as upstream's Counter does, and VirtualObjectCommandInterpreter plays
// upstream's AwakeableHolder (run = interpretCommands awaiting one awakeable that it keeps in
// state, getAwakeable = hasAwakeable, resolveAwakeable = resolveAwakeable).
func TestIngressTest(t *testing.T) {
	runClass(t, class{
		services: []string{counter, interpreter},
		scenarios: []scenario{
			{name: "idempotentInvokeSend", run: idempotentInvokeSend},
			{name: "idempotentSendThenAttachWIthIdempotencyKey", run: idempotentSendThenAttachWithIdempotencyKey},
		},
	})
}

const counter = "Counter"

// counterUpdate is Counter.add's answer.
type counterUpdate struct {
	OldValue int `json:"oldValue"`
	NewValue int `json:"newValue"`
}

// withKey sets the idempotency key key.
func withKey(key string) option {
	return func(r *http.Request) { r.Header.Set("idempotency-key", key) }
}

// "Idempotent invocation to a virtual object using send"
func idempotentInvokeSend(t *testing.T, d *deployment) {
	path := "/" + counter + "/" + newUUID() + "/add"
	key := newUUID()

	// Send request twice with same idempotency key.
	first := d.send(t, path, 2, withKey(key))
	if first.Status != "Accepted" {
		t.Fatalf("first send: status %q, want Accepted", first.Status)
	}
	second := d.send(t, path, 2, withKey(key))
	if second.Status != "PreviouslyAccepted" {
		t.Fatalf("second send: status %q, want PreviouslyAccepted", second.Status)
	}
	// IDs should be the same.
	if !strings.HasPrefix(first.InvocationID, "inv") || second.InvocationID != first.InvocationID {
		t.Fatalf("invocation ids %q and %q, want one inv_… id", first.InvocationID, second.InvocationID)
	}

	getPath := strings.TrimSuffix(path, "/add") + "/get"
	eventually(t, "get returns 2", func() error {
		r := d.call(getPath, nil)
		if r.err != nil || r.status != 200 || string(r.body) != "2" {
			return fmt.Errorf("get: %v", r)
		}
		return nil
	})

	// Changing idempotency key should be executed immediately and return 4.
	var u counterUpdate
	d.call(path, 2, idempotent()).value(t, &u)
	if u != (counterUpdate{OldValue: 2, NewValue: 4}) {
		t.Fatalf("add with a new key: %+v, want old 2, new 4", u)
	}
}

// "Idempotent send then attach/getOutput with idempotency key"
func idempotentSendThenAttachWithIdempotencyKey(t *testing.T, d *deployment) {
	key := newUUID()
	object := newUUID()
	const response = "response"

	// Send request.
	run := interpreterPath(object, "interpretCommands")
	if s := d.send(t, run, interpretRequest(awaitOne(createAwakeable("awk"))), withKey(key)); s.Status != "Accepted" {
		t.Fatalf("send: status %q, want Accepted", s.Status)
	}
	handle := d.ingress + "/restate/invocation/" + interpreter + "/" + object + "/interpretCommands/" + key

	// Attach to request.
	attached := make(chan reply, 1)
	go func() { attached <- d.get(handle + "/attach") }()

	// Output is not ready yet: Restate answers 470.
	if r := d.get(handle + "/output"); r.err != nil || r.status != 470 {
		t.Fatalf("output before completion: %v, want status 470 (not ready)", r)
	}
	// The attach should still be blocked.
	select {
	case r := <-attached:
		t.Fatalf("attach answered before the awakeable was resolved: %v", r)
	default:
	}

	// Unblock.
	eventually(t, "sync point", func() error {
		r := d.call(interpreterPath(object, "hasAwakeable"), "awk")
		if r.err != nil || r.status != 200 || string(r.body) != "true" {
			return fmt.Errorf("hasAwakeable: %v", r)
		}
		return nil
	})
	d.call(interpreterPath(object, "resolveAwakeable"), command{"awakeableKey": "awk", "value": response}, idempotent()).ok(t)

	// Attach should be completed.
	if got := (<-attached).str(t); got != response {
		t.Fatalf("attach: got %q, want %q", got, response)
	}
	// Invoke get output.
	if got := d.get(handle + "/output").str(t); got != response {
		t.Fatalf("output: got %q, want %q", got, response)
	}
}
