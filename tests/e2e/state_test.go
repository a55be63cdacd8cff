//go:build linux

package e2e

import (
	"fmt"
	"slices"
	"testing"
)

// mapObject is MapObject of the sdk-tests contracts (MapObject.kt).
const mapObject = "MapObject"

// TestState ports restatedev/e2e sdk-tests tests/State.kt (class State), in the suites
// TestSuites.kt runs it in: default, alwaysSuspending, lazyState and lazyStateAlwaysSuspending.
func TestState(t *testing.T) {
	runClass(t, class{
		services: []string{counter, proxy, mapObject},
		suites:   []suite{defaultSuite, alwaysSuspending, lazyState, lazyStateAlwaysSuspending},
		scenarios: []scenario{
			{name: "add", run: stateAdd},
			{name: "proxyOneWayAdd", run: proxyOneWayAdd},
			{name: "listStateAndClearAll", run: listStateAndClearAll},
		},
	})
}

// "add"
func stateAdd(t *testing.T, d *deployment) {
	path := "/" + counter + "/" + newUUID() + "/add"
	for _, want := range []counterUpdate{{0, 1}, {1, 3}} {
		var got counterUpdate
		d.call(path, want.NewValue-want.OldValue, idempotent()).value(t, &got)
		if got != want {
			t.Fatalf("add(%d) = %+v, want %+v", want.NewValue-want.OldValue, got, want)
		}
	}
}

// "proxyOneWayAdd"
func proxyOneWayAdd(t *testing.T, d *deployment) {
	key := newUUID()
	for range 3 {
		req := proxyRequest{ServiceName: counter, VirtualObjectKey: key, HandlerName: "add", Message: byteArray("1")}
		d.call("/"+proxy+"/oneWayCall", req, idempotent()).ok(t)
	}
	eventually(t, "counter is 3", func() error { return counterIs(d, key, 3) })
}

// counterIs checks that Counter/key's get answers want.
func counterIs(d *deployment, key string, want int) error {
	r := d.call("/"+counter+"/"+key+"/get", nil)
	if r.err != nil || r.status != 200 {
		return fmt.Errorf("get: %v", r)
	}
	if string(r.body) != fmt.Sprint(want) {
		return fmt.Errorf("get = %s, want %d", r.body, want)
	}
	return nil
}

// mapEntry is MapObject.Entry.
type mapEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// "listStateAndClearAll"
func listStateAndClearAll(t *testing.T, d *deployment) {
	name := newUUID()
	mapPath := "/" + mapObject + "/" + name
	anotherPath := "/" + mapObject + "/" + name + "1"
	d.call(mapPath+"/set", mapEntry{"my-key-0", "my-value-0"}, idempotent()).ok(t)
	d.call(mapPath+"/set", mapEntry{"my-key-1", "my-value-1"}, idempotent()).ok(t)
	// Set state to another map.
	d.call(anotherPath+"/set", mapEntry{"my-key-2", "my-value-2"}, idempotent()).ok(t)

	// Clear all.
	var cleared []mapEntry
	d.call(mapPath+"/clearAll", nil, idempotent()).value(t, &cleared)
	keys := make([]string, len(cleared))
	for i, e := range cleared {
		keys[i] = e.Key
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"my-key-0", "my-key-1"}) {
		t.Fatalf("clearAll answered the keys %q, want my-key-0 and my-key-1 in any order", keys)
	}

	// Check keys are not available.
	for _, k := range []string{"my-key-0", "my-key-1"} {
		if got := d.call(mapPath+"/get", k, idempotent()).str(t); got != "" {
			t.Errorf("get(%s) after clearAll = %q, want empty", k, got)
		}
	}
	// Check the other service instance was left untouched.
	if got := d.call(anotherPath+"/get", "my-key-2", idempotent()).str(t); got != "my-value-2" {
		t.Errorf("other map's get(my-key-2) = %q, want my-value-2", got)
	}
}
