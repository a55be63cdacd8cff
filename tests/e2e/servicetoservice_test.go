//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestServiceToServiceCommunication ports restatedev/e2e sdk-tests
// tests/ServiceToServiceCommunication.kt (class ServiceToServiceCommunication).
func TestServiceToServiceCommunication(t *testing.T) {
	runClass(t, class{
		services: []string{proxy, testUtils, counter},
		suites:   []suite{defaultSuite, alwaysSuspending},
		scenarios: []scenario{
			{name: "regularCall", run: regularCall},
			{name: "oneWayCall", run: oneWayCall},
			{name: "oneWayCallWithIdempotencyKey", run: oneWayCallWithIdempotencyKey},
			{name: "callWithIdempotencyKey", run: callWithIdempotencyKey},
			{name: "oneWayCallWithDelay", run: oneWayCallWithDelay},
		},
	})
}

// proxyCall is Proxy.ProxyRequest with the fields proxyRequest leaves out.
type proxyCall struct {
	proxyRequest
	DelayMillis    int64  `json:"delayMillis,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// addOne is Proxy's request for Counter/key.add(1).
func addOne(key string) proxyRequest {
	return proxyRequest{ServiceName: counter, VirtualObjectKey: key, HandlerName: "add", Message: byteArray("1")}
}

// "regularCall": Proxy.call of TestUtilsService.uppercaseEcho("ping") answers the bytes of
// "PING" (JSON).
func regularCall(t *testing.T, d *deployment) {
	req := proxyRequest{ServiceName: testUtils, HandlerName: "uppercaseEcho", Message: byteArray(`"ping"`)}
	var got []int
	d.call("/"+proxy+"/call", req, idempotent()).value(t, &got)
	if want := byteArray(`"PING"`); !slices.Equal(got, want) {
		t.Fatalf("Proxy.call(uppercaseEcho(ping)) = %v, want %v (%q)", got, want, `"PING"`)
	}
}

// "oneWayCall"
func oneWayCall(t *testing.T, d *deployment) {
	key := newUUID()
	d.call("/"+proxy+"/oneWayCall", addOne(key), idempotent()).ok(t)
	eventually(t, "counter is 1", func() error { return counterIs(d, key, 1) })
}

// idempotentOutput is the output of the invocation of Counter/key.add with idempotency key ik
// (upstream's idempotentInvocationHandle(...).getOutput()).
func (d *deployment) idempotentOutput(key, ik string) reply {
	return d.get(d.ingress + "/restate/invocation/" + counter + "/" + key + "/add/" + ik + "/output")
}

// wantAddOutput checks that the idempotent add answers {0, 1} by its idempotency key.
func wantAddOutput(t *testing.T, d *deployment, key, ik string) {
	t.Helper()
	var got counterUpdate
	d.idempotentOutput(key, ik).value(t, &got)
	if want := (counterUpdate{0, 1}); got != want {
		t.Fatalf("output of add by idempotency key = %+v, want %+v", got, want)
	}
}

// "oneWayCallWithIdempotencyKey"
func oneWayCallWithIdempotencyKey(t *testing.T, d *deployment) {
	key, ik := newUUID(), newUUID()
	// We do this in a loop, because there can be failures.
	eventually(t, "oneWayCall", func() error {
		r := d.call("/"+proxy+"/oneWayCall", proxyCall{proxyRequest: addOne(key), IdempotencyKey: ik})
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("oneWayCall: %v", r)
		}
		return nil
	})
	eventually(t, "counter is 1", func() error { return counterIs(d, key, 1) })
	wantAddOutput(t, d, key, ik)
}

// "callWithIdempotencyKey"
func callWithIdempotencyKey(t *testing.T, d *deployment) {
	key, ik := newUUID(), newUUID()
	// We do this in a loop, because there can be failures.
	eventually(t, "call", func() error {
		r := d.call("/"+proxy+"/call", proxyCall{proxyRequest: addOne(key), IdempotencyKey: ik})
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("call: %v", r)
		}
		// Proxy.call answers the raw output as a JSON array of numbers.
		var ints []int
		if err := json.Unmarshal(r.body, &ints); err != nil {
			return fmt.Errorf("decode %s: %v", r.body, err)
		}
		raw := make([]byte, len(ints))
		for i, n := range ints {
			raw[i] = byte(n)
		}
		var got counterUpdate
		if err := json.Unmarshal(raw, &got); err != nil {
			return fmt.Errorf("decode %q: %v", raw, err)
		}
		if want := (counterUpdate{0, 1}); got != want {
			return fmt.Errorf("call answered %+v, want %+v", got, want)
		}
		return nil
	})
	eventually(t, "counter is 1", func() error { return counterIs(d, key, 1) })
	wantAddOutput(t, d, key, ik)
}

// "oneWayCallWithDelay": ten one-way calls delayed by 2 s (upstream: 5 s) all happen, and not
// before the delay. Ours, not upstream's: when the first read of the counter came back within the
// delay (measured), it must read 0; that a loaded machine can take longer to send the calls and
// read is why upstream chose a long delay, and why this check only applies when it did not.
func oneWayCallWithDelay(t *testing.T, d *deployment) {
	const delay = 2 * time.Second
	key := newUUID()
	start := time.Now()
	for range 10 {
		d.call("/"+proxy+"/oneWayCall", proxyCall{proxyRequest: addOne(key), DelayMillis: delay.Milliseconds()}, idempotent()).ok(t)
	}
	if err := counterIs(d, key, 0); err != nil && time.Since(start) < delay {
		t.Fatalf("within the %v delay of the calls: %v", delay, err)
	}
	eventually(t, "counter is 10", func() error { return counterIs(d, key, 10) })
	// The delay timer is respected before the invocation is queued: the ten calls took
	// effect after the delay, not at once (nor one after the other, 10 times the delay).
	if elapsed := time.Since(start); elapsed < delay {
		t.Fatalf("the delayed calls took effect after %v, before their %v delay", elapsed, delay)
	}
}

// TestCallOrdering ports restatedev/e2e sdk-tests tests/CallOrdering.kt (class CallOrdering):
// Proxy.manyCalls appends 0, 1, 2 to a ListObject with calls and one-way calls in the orders
// given, the last one a call; ListObject.clear then answers them in that order.
func TestCallOrdering(t *testing.T) {
	var scenarios []scenario
	for _, ordering := range [][]bool{{true, false, false}, {false, true, false}, {true, true, false}} {
		scenarios = append(scenarios, scenario{name: fmt.Sprintf("ordering/%v", ordering), run: callOrdering(ordering)})
	}
	runClass(t, class{
		services:  []string{proxy, privateStandIn},
		scenarios: scenarios,
	})
}

// manyCallRequest is Proxy.ManyCallRequest.
type manyCallRequest struct {
	ProxyRequest  proxyRequest `json:"proxyRequest"`
	OneWayCall    bool         `json:"oneWayCall"`
	AwaitAtTheEnd bool         `json:"awaitAtTheEnd"`
}

// "ordering": background[i] makes the i-th append a one-way call.
func callOrdering(background []bool) func(*testing.T, *deployment) {
	return func(t *testing.T, d *deployment) {
		list := newUUID()
		var reqs []manyCallRequest
		for i, oneWay := range background {
			req := proxyRequest{ServiceName: "ListObject", VirtualObjectKey: list, HandlerName: "append", Message: byteArray(fmt.Sprintf(`"%d"`, i))}
			reqs = append(reqs, manyCallRequest{ProxyRequest: req, OneWayCall: oneWay, AwaitAtTheEnd: !oneWay})
		}
		d.call("/"+proxy+"/manyCalls", reqs, idempotent()).ok(t)
		var got []string
		d.call("/ListObject/"+list+"/clear", nil, idempotent()).value(t, &got)
		if want := []string{"0", "1", "2"}; !slices.Equal(got, want) {
			t.Fatalf("ListObject.clear = %q, want exactly %q", got, want)
		}
	}
}
