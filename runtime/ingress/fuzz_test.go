package ingress

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/command"
)

func fuzzServiceType(name string) (command.ServiceType, bool) {
	switch name {
	case "Greeter":
		return command.Service, true
	case "Counter":
		return command.VirtualObject, true
	case "Signup":
		return command.Workflow, true
	}
	return 0, false
}

// FuzzParseRequest checks the path parser and header forwarding: no panics, errors are
// well-formed, accepted paths are consistent with their shape, and forwarded headers never carry
// the dropped ones. Seeds live in testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	for _, p := range []string{"/Greeter/greet", "/Counter/a%2Fb/add/send", "/restate/health", "/health", "/Signup/k/run", "/Greeter/k/greet", "//", "/Counter/%zz/add"} {
		f.Add(p, "X-Custom", "v")
	}
	f.Fuzz(func(t *testing.T, path, hname, hvalue string) {
		rt, herr := parsePath(path, fuzzServiceType)
		if herr != nil {
			if herr.status < 400 || herr.status > 599 || herr.message == "" || herr.source != sourceIngress {
				t.Fatalf("bad error %+v", herr)
			}
		} else if rt.kind == routeInvoke {
			if _, ok := fuzzServiceType(rt.service); !ok {
				t.Fatalf("unknown service accepted: %+v", rt)
			}
			ty, _ := fuzzServiceType(rt.service)
			if rt.keyed != (ty != command.Service) || strings.Contains(rt.handler, "/") {
				t.Fatalf("inconsistent route %+v for %q", rt, path)
			}
			if rt.keyed {
				if esc := strings.Split(path, "/")[2]; mustUnescape(esc) != rt.key {
					t.Fatalf("key %q from %q", rt.key, esc)
				}
			}
		}
		hdr := http.Header{}
		hdr.Add(hname, hvalue)
		hdr.Add("Idempotency-Key", "k")
		hs, herr := forwardHeaders(path, hdr)
		if herr != nil {
			return
		}
		if hs[0].Key != "x-restate-ingress-path" || hs[0].Value != path {
			t.Fatalf("first header %+v", hs[0])
		}
		for _, h := range hs[1:] {
			if dropped[h.Key] || h.Key != strings.ToLower(h.Key) {
				t.Fatalf("forwarded %q", h.Key)
			}
		}
	})
}

func mustUnescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return "\x00invalid"
	}
	return u
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path   string
		want   route
		status int
	}{
		{"/Greeter/greet", route{kind: routeInvoke, service: "Greeter", handler: "greet"}, 0},
		{"/Greeter/greet/send", route{kind: routeInvoke, service: "Greeter", handler: "greet", send: true}, 0},
		{"/Counter/a%2Fb/add", route{kind: routeInvoke, service: "Counter", key: "a/b", keyed: true, handler: "add"}, 0},
		{"/Counter//add", route{kind: routeInvoke, service: "Counter", key: "", keyed: true, handler: "add"}, 0},
		{"/Signup/k/run/send", route{kind: routeInvoke, service: "Signup", key: "k", keyed: true, handler: "run", send: true}, 0},
		{"/restate/health", route{kind: routeHealth}, 0},
		{"/restate/a/x/resolve", route{kind: routeAwakeable, awakeable: "x"}, 0},
		{"/restate/awakeables/x/reject/more", route{kind: routeAwakeable, awakeable: "x", reject: true}, 0},
		{"/restate/awakeables/x", route{}, 400},
		{"/restate/awakeables/x/", route{}, 400},
		{"/restate/awakeables/x/foo", route{}, 404},
		{"/restate/invocation/x/attach", route{kind: routeAttach, attach: attachRoute{id: "x"}}, 0},
		{"/restate/call/Greeter/greet", route{kind: routeInvoke, service: "Greeter", handler: "greet"}, 0},
		{"/Counter/%zz/add", route{}, 400},
		{"/Counter/k", route{}, 400},
		{"/Greeter/greet/call", route{}, 400},
		{"/Nope/x", route{}, 404},
		{"/x", route{}, 400},
		{"Greeter/greet/x", route{}, 400},
	}
	for _, tt := range tests {
		got, herr := parsePath(tt.path, fuzzServiceType)
		if tt.status != 0 {
			if herr == nil || herr.status != tt.status {
				t.Errorf("parsePath(%q) = %+v, %v; want status %d", tt.path, got, herr, tt.status)
			}
			continue
		}
		if herr != nil || got != tt.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v", tt.path, got, herr, tt.want)
		}
	}
}
