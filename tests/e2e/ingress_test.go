//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIngressTest ports restatedev/e2e e2e-tests tests/IngressTest.kt (class IngressTest).
// Upstream binds Kotlin services defined in the test itself; here their counterparts of the
// TypeScript contract stand in: Counter.add answers {oldValue, newValue} as upstream's Counter
// does; Proxy.oneWayCall to Counter.add is upstream's CounterProxy.proxyThrough;
// VirtualObjectCommandInterpreter plays upstream's AwakeableHolder (run = interpretCommands
// awaiting one awakeable that it keeps in state, getAwakeable = hasAwakeable, resolveAwakeable =
// resolveAwakeable); ListObject (append, get) plays PrivateGreeter, and Proxy.call ProxyGreeter.
//
// Upstream configures at binding time what the TS contract does not: Counter's idempotency
// retention of 5 s and PrivateGreeter's ingressPrivate. The class's setup sets both through the
// admin API's PATCH /services/{name} (idempotency_retention, public: false) on each fresh
// server. Upstream also gives Counter.get an idempotency and journal retention of 0, which no
// scenario observes (get is never called with an idempotency key), so that is left out.
// RESTATE_WORKER__CLEANUP_INTERVAL=1s is upstream's; ours cleans every second anyway.
func TestIngressTest(t *testing.T) {
	runClass(t, class{
		services: []string{counter, interpreter, proxy, privateStandIn},
		suites: []suite{{
			name:     "default",
			official: []string{"RESTATE_WORKER__CLEANUP_INTERVAL=1s"},
		}},
		setup: func(t *testing.T, d *deployment) {
			d.modifyService(t, counter, modifyServiceRequest{IdempotencyRetention: "5s"})
			private := false
			d.modifyService(t, privateStandIn, modifyServiceRequest{Public: &private})
		},
		scenarios: []scenario{
			{name: "idempotentInvokeVirtualObject", run: idempotentInvokeVirtualObject},
			{name: "idempotentInvokeService", run: idempotentInvokeService},
			{name: "idempotentInvokeSend", run: idempotentInvokeSend},
			{name: "idempotentSendThenAttachWIthIdempotencyKey", run: idempotentSendThenAttachWithIdempotencyKey},
			{name: "privateService", run: privateService},
		},
	})
}

// privateStandIn plays upstream's PrivateGreeter (ingress-private from the start).
const privateStandIn = "ListObject"

// modifyServiceRequest is the admin API's ModifyServiceRequest (the fields the scenarios use).
type modifyServiceRequest struct {
	Public               *bool  `json:"public,omitempty"`
	IdempotencyRetention string `json:"idempotency_retention,omitempty"`
}

// modifyService is PATCH /services/{name} (upstream's ServiceApi.modifyService).
func (d *deployment) modifyService(t *testing.T, name string, req modifyServiceRequest) {
	t.Helper()
	d.adminPatchJSON("/services/"+name, req).ok(t)
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

// "Idempotent invocation to a virtual object"
func idempotentInvokeVirtualObject(t *testing.T, d *deployment) {
	path := "/" + counter + "/" + newUUID()
	key := newUUID()
	add := func() counterUpdate {
		var u counterUpdate
		d.call(path+"/add", 2, withKey(key)).value(t, &u)
		return u
	}

	// First call updates the value.
	if u := add(); u != (counterUpdate{OldValue: 0, NewValue: 2}) {
		t.Fatalf("first add: %+v, want old 0, new 2", u)
	}
	// Next call returns the same value.
	if u := add(); u != (counterUpdate{OldValue: 0, NewValue: 2}) {
		t.Fatalf("second add with the same key: %+v, want old 0, new 2 (the first answer)", u)
	}

	// Await until the idempotency id is cleaned up and the next idempotency call updates the
	// counter again.
	eventually(t, "cleanup of the previous idempotent request", func() error {
		r := d.call(path+"/add", 2, withKey(key))
		var u counterUpdate
		if r.err != nil || r.status != 200 || json.Unmarshal(r.body, &u) != nil || u != (counterUpdate{OldValue: 2, NewValue: 4}) {
			return fmt.Errorf("add with the same key: %v, want old 2, new 4", r)
		}
		return nil
	})

	// State in the counter service is now equal to 4.
	eventually(t, "Get returns 4 now", func() error {
		r := d.call(path+"/get", nil)
		if r.err != nil || r.status != 200 || string(r.body) != "4" {
			return fmt.Errorf("get: %v, want 4", r)
		}
		return nil
	})
}

// "Idempotent invocation to a service"
func idempotentInvokeService(t *testing.T, d *deployment) {
	object := newUUID()
	key := newUUID()
	path := "/" + counter + "/" + object

	// Send request twice with same idempotency key. Should proxy the request only once!
	req := proxyRequest{ServiceName: counter, VirtualObjectKey: object, HandlerName: "add", Message: byteArray("2")}
	d.call("/"+proxy+"/oneWayCall", req, withKey(key)).ok(t)
	d.call("/"+proxy+"/oneWayCall", req, withKey(key)).ok(t)

	// Wait for get.
	eventually(t, "get returns 2", func() error {
		r := d.call(path+"/get", nil)
		if r.err != nil || r.status != 200 || string(r.body) != "2" {
			return fmt.Errorf("get: %v, want 2", r)
		}
		return nil
	})

	// Hitting directly the counter client should be executed immediately and return 4.
	var u counterUpdate
	d.call(path+"/add", 2, idempotent()).value(t, &u)
	if u != (counterUpdate{OldValue: 2, NewValue: 4}) {
		t.Fatalf("add: %+v, want old 2, new 4 (the proxied add ran more than once?)", u)
	}
}

// "Make a handler ingress private and try to call it both directly and through a proxy service"
func privateService(t *testing.T, d *deployment) {
	key := newUUID()
	path := "/" + privateStandIn + "/" + key

	// Wait for the service to be private.
	eventually(t, "the service is private", func() error {
		if r := d.call(path+"/get", nil); r.err != nil || r.status != 400 {
			return fmt.Errorf("direct call: %v, want status 400", r)
		}
		return nil
	})

	// Send a request through the proxy client.
	req := proxyRequest{ServiceName: privateStandIn, VirtualObjectKey: key, HandlerName: "append", Message: byteArray(`"Francesco"`)}
	d.call("/"+proxy+"/call", req, idempotent()).ok(t)

	// Make the service public again.
	public := true
	d.modifyService(t, privateStandIn, modifyServiceRequest{Public: &public})

	// The proxied call went through, and the direct call now does too.
	eventually(t, "the service becomes public again", func() error {
		r := d.call(path+"/get", nil)
		if r.err != nil || r.status != 200 || string(r.body) != `["Francesco"]` {
			return fmt.Errorf("direct call: %v, want [\"Francesco\"]", r)
		}
		return nil
	})
}
