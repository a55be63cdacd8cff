package remote_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/registry"
)

// TestIngressAnswersAsLocally: the ingress of one node answers a call whose partition another node
// leads exactly as it answers the same call served on its own node: status, Retry-After and body.
func TestIngressAnswersAsLocally(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	here := newLocal("b") // the same partitions, on the ingress's own node
	byKey := map[string]uint32{"ok": 1, "busy": partOverloaded, "down": partUnavailable, "notleader": partNotLeader, "broken": partBroken}
	for key, p := range byKey {
		t.Run(key, func(t *testing.T) {
			local := serve(t, dispatcher(func(ctx context.Context, inv command.Invocation) (command.Result, error) {
				return here.Call(ctx, p, inv)
			}), key)
			remote := serve(t, dispatcher(func(ctx context.Context, inv command.Invocation) (command.Result, error) {
				return a.Call(ctx, b.addr, p, inv)
			}), key)
			if remote.Code != local.Code || remote.Header().Get("Retry-After") != local.Header().Get("Retry-After") {
				t.Errorf("across nodes %d Retry-After %q, on the node %d Retry-After %q", remote.Code, remote.Header().Get("Retry-After"), local.Code, local.Header().Get("Retry-After"))
			}
			// Errors of no kind the ingress knows name the other node; everything else reads the same.
			if p != partNotLeader && p != partBroken && remote.Body.String() != local.Body.String() {
				t.Errorf("across nodes %s\non the node %s", remote.Body, local.Body)
			}
			t.Logf("%d %q %s", remote.Code, remote.Header().Get("Retry-After"), remote.Body)
		})
	}
}

// serve sends one call of Counter/key/add to an ingress over d, with the same invocation id each time.
func serve(t *testing.T, d ingress.Dispatcher, key string) *httptest.ResponseRecorder {
	h := ingress.New(ingress.Config{Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))}, services{}, d)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/Counter/"+key+"/add", strings.NewReader(`"x"`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}

type services struct{}

var counter = registry.Service{Name: "Counter", Type: command.VirtualObject, Handlers: []registry.Handler{
	{Name: "add", Type: command.Exclusive, Input: registry.Input{ContentType: "*/*"}, Output: registry.Output{ContentType: "application/json"}},
}}

func (services) Service(name string) (registry.Service, bool) { return counter, name == counter.Name }
func (services) Services() []registry.Service                 { return []registry.Service{counter} }

// dispatcher is an ingress.Dispatcher whose calls go to call; nothing else is used here.
type dispatcher func(context.Context, command.Invocation) (command.Result, error)

var errUnused = errors.New("not used by this test")

func (d dispatcher) Call(ctx context.Context, inv command.Invocation) (command.Result, error) {
	return d(ctx, inv)
}
func (dispatcher) Send(context.Context, command.Invocation) (bool, int64, error) {
	return false, 0, errUnused
}
func (dispatcher) Signal(context.Context, command.Signal) error { return errUnused }
func (dispatcher) Attach(context.Context, ids.InvocationID) (ingress.Attachment, bool, error) {
	return ingress.Attachment{}, false, errUnused
}
func (dispatcher) Output(context.Context, ids.InvocationID) (ingress.Attachment, bool, error) {
	return ingress.Attachment{}, false, errUnused
}
