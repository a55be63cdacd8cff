//go:build linux

package e2e

import (
	"fmt"
	"testing"
)

// TestPrivateServiceTest ports restatedev/e2e's PrivateServiceTest.kt
// (tests/src/test/kotlin/dev/restate/e2e/runtime/, at 7fd827c3e6071cc55dcf443ad3beac7e0927dafc,
// the last commit before upstream folded it into IngressTest.privateService): a service made
// ingress-private at run time through the admin API's PATCH /services/{name} {"public": false}
// is refused at the ingress (400) but still callable from a handler, and callable again once
// made public. Upstream's Java Counter and ProxyCounter.addInBackground are the TS contract's
// Counter and Proxy.oneWayCall to Counter.add. Its own server, as the class makes Counter
// private for everyone.
func TestPrivateServiceTest(t *testing.T) {
	runClass(t, class{
		services: []string{counter, proxy},
		scenarios: []scenario{
			{name: "privateService", run: privateServiceAtRunTime},
		},
	})
}

// "privateService"
func privateServiceAtRunTime(t *testing.T, d *deployment) {
	key := newUUID()
	path := "/" + counter + "/" + key
	d.call(path+"/add", 1).ok(t)

	// Make the service private.
	private, public := false, true
	d.modifyService(t, counter, modifyServiceRequest{Public: &private})

	// Wait for the service to be private.
	eventually(t, "the service is private", func() error {
		if r := d.call(path+"/get", nil); r.err != nil || r.status != 400 {
			return fmt.Errorf("direct call: %v, want status 400", r)
		}
		return nil
	})

	// Send a request through the proxy client.
	req := proxyRequest{ServiceName: counter, VirtualObjectKey: key, HandlerName: "add", Message: byteArray("1")}
	d.call("/"+proxy+"/oneWayCall", req).ok(t)

	// Make the service public again.
	d.modifyService(t, counter, modifyServiceRequest{Public: &public})

	// Wait to get the correct count.
	eventually(t, "get returns 2", func() error {
		r := d.call(path+"/get", nil)
		if r.err != nil || r.status != 200 || string(r.body) != "2" {
			return fmt.Errorf("get: %v, want 2", r)
		}
		return nil
	})
}
