package discovery_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/protocol"
)

const v4 = protocol.ManifestV4

func manifestWith(services string) string {
	return `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[` + services + `]}`
}

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name     string
		body, ct string
		code     string // expected error code, "" for success
		contains string // substring of the error
	}{
		{name: "greeter", body: discoverytest.Greeter, ct: v4},
		{name: "v1 content type", body: discoverytest.Greeter, ct: protocol.ManifestV1},
		{name: "content type with params", body: discoverytest.Greeter, ct: v4 + "; charset=utf-8"},
		{name: "empty services", body: manifestWith(""), ct: v4},
		{name: "unknown fields ignored", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[],"future":1}`, ct: v4},
		{name: "range overlaps low", body: `{"protocolMode":"REQUEST_RESPONSE","minProtocolVersion":1,"maxProtocolVersion":5,"services":[]}`, ct: v4},
		{name: "range overlaps high", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":7,"maxProtocolVersion":9,"services":[]}`, ct: v4},
		{name: "missing content type", body: discoverytest.Greeter, ct: "", code: "META0013", contains: "no content type"},
		{name: "json content type", body: discoverytest.Greeter, ct: "application/json", code: "META0013", contains: "bad content type"},
		{name: "v5 manifest", body: discoverytest.Greeter, ct: "application/vnd.restate.endpointmanifest.v5+json", code: "META0013"},
		{name: "bad json", body: `{"services":`, ct: v4, code: "META0013", contains: "cannot decode"},
		{name: "not an object", body: `[1,2]`, ct: v4, code: "META0013"},
		{name: "trailing data", body: discoverytest.Greeter + "{}", ct: v4, code: "META0013", contains: "trailing"},
		{name: "missing protocol mode", body: `{"minProtocolVersion":5,"maxProtocolVersion":7,"services":[]}`, ct: v4, code: "META0013", contains: "protocol mode"},
		{name: "bad protocol mode", body: `{"protocolMode":"X","minProtocolVersion":5,"maxProtocolVersion":7,"services":[]}`, ct: v4, code: "META0013", contains: "protocol mode"},
		{name: "missing versions", body: `{"protocolMode":"BIDI_STREAM","services":[]}`, ct: v4, code: "META0013", contains: "minProtocolVersion"},
		{name: "missing services", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7}`, ct: v4, code: "META0013", contains: "services"},
		{name: "zero version", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":0,"maxProtocolVersion":7,"services":[]}`, ct: v4, code: "META0013"},
		{name: "min above max", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":7,"maxProtocolVersion":6,"services":[]}`, ct: v4, code: "META0013", contains: "min protocol version"},
		{name: "too old", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":1,"maxProtocolVersion":4,"services":[]}`, ct: v4, code: "META0012", contains: "[1, 4]"},
		{name: "too new", body: `{"protocolMode":"BIDI_STREAM","minProtocolVersion":8,"maxProtocolVersion":9,"services":[]}`, ct: v4, code: "META0012"},
		{name: "bad service name", body: manifestWith(`{"name":"9x","ty":"SERVICE","handlers":[]}`), ct: v4, code: "META0013", contains: "bad service name"},
		{name: "dotted service name ok", body: manifestWith(`{"name":"my.pkg.Svc-1","ty":"SERVICE","handlers":[]}`), ct: v4},
		{name: "reserved service name", body: manifestWith(`{"name":"restateAdmin","ty":"SERVICE","handlers":[]}`), ct: v4, code: "META0013", contains: "reserved"},
		{name: "duplicate service", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[]},{"name":"A","ty":"SERVICE","handlers":[]}`), ct: v4, code: "META0013", contains: "twice"},
		{name: "bad service type", body: manifestWith(`{"name":"A","ty":"ACTOR","handlers":[]}`), ct: v4, code: "META0013", contains: "service type"},
		{name: "missing service type", body: manifestWith(`{"name":"A","handlers":[]}`), ct: v4, code: "META0013", contains: "service type"},
		{name: "bad handler name", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a.b"}]}`), ct: v4, code: "META0013", contains: "bad handler name"},
		{name: "duplicate handler", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a"},{"name":"a"}]}`), ct: v4, code: "META0013", contains: "twice"},
		{name: "bad handler type", body: manifestWith(`{"name":"A","ty":"VIRTUAL_OBJECT","handlers":[{"name":"a","ty":"NOPE"}]}`), ct: v4, code: "META0013", contains: "invalid combination"},
		{name: "exclusive on service", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a","ty":"EXCLUSIVE"}]}`), ct: v4, code: "META0013", contains: "invalid combination"},
		{name: "workflow handler on object", body: manifestWith(`{"name":"A","ty":"VIRTUAL_OBJECT","handlers":[{"name":"a","ty":"WORKFLOW"}]}`), ct: v4, code: "META0013", contains: "invalid combination"},
		{name: "workflow ok", body: manifestWith(`{"name":"W","ty":"WORKFLOW","handlers":[{"name":"run","ty":"WORKFLOW"},{"name":"q"}]}`), ct: v4},
		{name: "workflow without run", body: manifestWith(`{"name":"W","ty":"WORKFLOW","handlers":[{"name":"q","ty":"SHARED"}]}`), ct: v4, code: "META0013", contains: "exactly one"},
		{name: "bad input content type", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a","input":{"contentType":"json"}}]}`), ct: v4, code: "META0013", contains: "input content type"},
		{name: "wildcard subtype", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a","input":{"contentType":"*/json"}}]}`), ct: v4, code: "META0013", contains: "wildcard"},
		{name: "negative timeout", body: manifestWith(`{"name":"A","ty":"SERVICE","inactivityTimeout":-1,"handlers":[]}`), ct: v4, code: "META0013", contains: "negative"},
		{name: "bad on max attempts", body: manifestWith(`{"name":"A","ty":"SERVICE","retryPolicyOnMaxAttempts":"EXPLODE","handlers":[]}`), ct: v4, code: "META0013", contains: "retryPolicyOnMaxAttempts"},
		{name: "retention on non-workflow", body: manifestWith(`{"name":"A","ty":"SERVICE","handlers":[{"name":"a","workflowCompletionRetention":5}]}`), ct: v4, code: "META0013", contains: "workflowCompletionRetention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := discovery.ParseManifest([]byte(tt.body), tt.ct)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				if m.Version < 1 || m.Version > 4 {
					t.Fatalf("version %d", m.Version)
				}
				return
			}
			var de *discovery.Error
			if !errors.As(err, &de) {
				t.Fatalf("want *discovery.Error %s, got %v", tt.code, err)
			}
			if de.Code != tt.code || !strings.Contains(err.Error(), tt.contains) || !strings.Contains(err.Error(), "["+tt.code+"]") {
				t.Fatalf("want code %s containing %q, got %v", tt.code, tt.contains, err)
			}
		})
	}
}

func TestParseManifestFields(t *testing.T) {
	m, err := discovery.ParseManifest([]byte(discoverytest.Greeter), v4)
	if err != nil {
		t.Fatal(err)
	}
	if m.ProtocolMode != discovery.BidiStream || m.MinProtocolVersion != 5 || m.MaxProtocolVersion != 7 || m.Version != 4 {
		t.Fatalf("header fields: %+v", m)
	}
	if len(m.Services) != 2 || m.Services[1].Name != "Counter" || m.Services[1].Ty != discovery.VirtualObject {
		t.Fatalf("services: %+v", m.Services)
	}
	get := m.Services[1].Handlers[1]
	if ty, _ := get.EffectiveType(discovery.VirtualObject); ty != discovery.Shared || get.Input == nil || get.Input.ContentType != nil || get.Input.Required {
		t.Fatalf("get handler: %+v", get)
	}
}

func TestEffectiveType(t *testing.T) {
	tests := []struct {
		svc  discovery.ServiceType
		ty   discovery.HandlerType
		want discovery.HandlerType
		ok   bool
	}{
		{discovery.PlainService, "", "", true},
		{discovery.PlainService, discovery.Shared, "", true},
		{discovery.PlainService, discovery.Exclusive, "", false},
		{discovery.VirtualObject, "", discovery.Exclusive, true},
		{discovery.VirtualObject, discovery.Shared, discovery.Shared, true},
		{discovery.VirtualObject, discovery.WorkflowHandler, "", false},
		{discovery.Workflow, "", discovery.Shared, true},
		{discovery.Workflow, discovery.WorkflowHandler, discovery.WorkflowHandler, true},
		{discovery.Workflow, discovery.Exclusive, "", false},
	}
	for _, tt := range tests {
		got, ok := discovery.Handler{Ty: tt.ty}.EffectiveType(tt.svc)
		if got != tt.want || ok != tt.ok {
			t.Errorf("EffectiveType(%s, %q) = %q, %v; want %q, %v", tt.svc, tt.ty, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:9080", "http://127.0.0.1:9080/"},
		{"http://127.0.0.1:9080/", "http://127.0.0.1:9080/"},
		{"https://svc.example/prefix", "https://svc.example/prefix/"},
		{"localhost:9080", ""},
		{"/relative", ""},
		{"ftp://x/", ""},
		{"http://", ""},
		{"http://x/?q=1", ""},
		{"http://x/%zz", ""},
	}
	for _, tt := range tests {
		got, err := discovery.NormalizeURI(tt.in)
		if tt.want == "" {
			if !errors.Is(err, discovery.ErrBadURI) {
				t.Errorf("NormalizeURI(%q) = %q, %v; want ErrBadURI", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeURI(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	srv := discoverytest.NewServer(discoverytest.Greeter, "")
	defer srv.Close()
	m, err := discovery.Discover(context.Background(), discoverytest.Client(), srv.URL+"/prefix", map[string]string{"Authorization": "Bearer x"})
	if err != nil {
		t.Fatal(err)
	}
	if m.SDKVersion != discoverytest.SDKVersion || len(m.Services) != 2 {
		t.Fatalf("manifest: %+v", m)
	}
	r := <-srv.Requests
	if r.URL.Path != "/prefix/discover" || r.ProtoMajor != 2 || r.Method != http.MethodGet {
		t.Fatalf("request %s %s %s", r.Method, r.URL.Path, r.Proto)
	}
	for k, want := range map[string]string{"Accept": discovery.AcceptHeader, "X-Restate-Cluster-Name": "localcluster", "Authorization": "Bearer x"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(discovery.AcceptHeader, "endpointmanifest.v1+json") || !strings.Contains(discovery.AcceptHeader, "endpointmanifest.v4+json") {
		t.Errorf("accept %q", discovery.AcceptHeader)
	}
}

func TestDiscoverErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	status := func(code int) string {
		s := httptest.NewServer(discoverytest.H2CHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "teapot body", code)
		})))
		t.Cleanup(s.Close)
		return s.URL
	}
	badCT := discoverytest.NewServer(discoverytest.Greeter, "application/json")
	defer badCT.Close()
	badJSON := discoverytest.NewServer(`{"protocolMode":`, "")
	defer badJSON.Close()

	tests := []struct {
		name, uri, code, contains string
		badURI                    bool
	}{
		{name: "connection refused", uri: refused, code: "META0003", contains: "refused"},
		{name: "404", uri: status(404), code: "META0003", contains: "'404'"},
		{name: "500", uri: status(500), code: "META0003", contains: "teapot body"},
		{name: "bad content type", uri: badCT.URL, code: "META0013", contains: "content type"},
		{name: "bad json", uri: badJSON.URL, code: "META0013", contains: "decode"},
		{name: "relative uri", uri: "localhost:1", badURI: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := discovery.Discover(context.Background(), discoverytest.Client(), tt.uri, nil)
			if tt.badURI {
				if !errors.Is(err, discovery.ErrBadURI) {
					t.Fatalf("want ErrBadURI, got %v", err)
				}
				return
			}
			var de *discovery.Error
			if !errors.As(err, &de) || de.Code != tt.code || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("want %s containing %q, got %v", tt.code, tt.contains, err)
			}
		})
	}
}
