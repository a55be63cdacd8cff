package officialserver

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestAdminErrorsMatchOfficial sends requests the admin API refuses (unknown routes, wrong
// methods, bad path and query parameters, bodies that are not JSON or not the right JSON) to
// restate-server 1.7.12 and to ours, the greeter registered on both, and compares: the same
// status and Allow header, and where restate-server says why (text/plain or JSON) the same
// words. Ours always answers restate-server's JSON error shape {"message","restate_code"}:
// restate-server answers unknown routes and wrong methods with an empty body and axum's
// refusals as text/plain, neither of which its own CLI can parse.
func TestAdminErrorsMatchOfficial(t *testing.T) {
	bin := testenv.OfficialServerPath(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go greeter.Endpoint().Serve(ln)
	t.Cleanup(func() { ln.Close() })
	dep := "http://" + ln.Addr().String() + "/"

	_, official := startOfficialAdmin(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ours := s.AdminURL()
	for _, admin := range []string{official, ours} {
		if _, err := testenv.Register(admin, dep); err != nil {
			t.Fatal(err)
		}
	}

	const j = "application/json"
	tests := []struct{ name, method, path, ct, body string }{
		{"unknown route", "GET", "/nope", "", ""},
		{"unknown versioned route", "GET", "/v4/nope", "", ""},
		{"unknown api version", "GET", "/v9/deployments", "", ""},
		{"api version 1", "GET", "/v1/services", "", ""},
		{"wrong method, list", "DELETE", "/services", "", ""},
		{"wrong method, item", "PUT", "/services/Greeter", "", ""},
		{"wrong method, deployments", "PUT", "/deployments", "", ""},
		{"unknown service", "GET", "/services/Nope", "", ""},
		{"unknown deployment", "GET", "/deployments/dp_11111111111111111111111", "", ""},
		{"bad deployment id", "GET", "/deployments/bogus", "", ""},
		{"bad subscription id", "GET", "/subscriptions/bogus", "", ""},
		{"bad invocation id, cancel", "PATCH", "/invocations/bogus/cancel", "", ""},
		{"bad invocation id, delete", "DELETE", "/invocations/bogus", "", ""},
		{"bad force", "DELETE", "/deployments/dp_11111111111111111111111?force=yes", "", ""},
		{"register, no content type", "POST", "/deployments", "text/plain", `{}`},
		{"register, empty body", "POST", "/deployments", j, ``},
		{"register, open object", "POST", "/deployments", j, `{`},
		{"register, no value", "POST", "/deployments", j, `{"uri":`},
		{"register, array", "POST", "/deployments", j, `[]`},
		{"register, uri number", "POST", "/deployments", j, `{"uri":5}`},
		{"register, no uri", "POST", "/deployments", j, `{}`},
		{"register, force string", "POST", "/deployments", j, `{"uri":"http://127.0.0.1:1","force":"yes"}`},
		{"register, empty uri", "POST", "/deployments", j, `{"uri":""}`},
		{"register, uri with a space", "POST", "/deployments", j, `{"uri":"a b"}`},
		{"register, uri without authority", "POST", "/deployments", j, `{"uri":"http://"}`},
		{"register, uri without scheme", "POST", "/deployments", j, `{"uri":"localhost:9080"}`},
		{"register, uri a word", "POST", "/deployments", j, `{"uri":"foo"}`},
		{"register, uri a path", "POST", "/deployments", j, `{"uri":"/path"}`},
		{"patch service, empty body", "PATCH", "/services/Greeter", j, ``},
		{"patch service, open string", "PATCH", "/services/Greeter", j, `{"public":"ye`},
		{"patch service, bad bool", "PATCH", "/services/Greeter", j, `{"public":"yes"}`},
		{"patch service, a word", "PATCH", "/services/Greeter", j, `nope`},
		{"patch service, no value", "PATCH", "/services/Greeter", j, " x"},
		{"patch service, no colon", "PATCH", "/services/Greeter", j, `{"a" 1}`},
		{"patch service, bare key", "PATCH", "/services/Greeter", j, `{a:1}`},
		{"patch service, no comma", "PATCH", "/services/Greeter", j, `{"public":true "b":1}`},
		{"patch service, trailing characters", "PATCH", "/services/Greeter", j, `{"public":true}x`},
		{"patch service, trailing comma", "PATCH", "/services/Greeter", j, `{"public":true,}`},
		{"patch service, bad literal", "PATCH", "/services/Greeter", j, `{"public":tru}`},
		{"patch service, bad number", "PATCH", "/services/Greeter", j, `{"public":1.}`},
		{"patch service, nested no colon", "PATCH", "/services/Greeter", j, `{"retry_policy":{"max_attempts" 1}}`},
		{"patch service, nested bad literal", "PATCH", "/services/Greeter", j, `{"retry_policy":{"max_attempts":tx}}`},
		{"patch service, nested end", "PATCH", "/services/Greeter", j, `{"retry_policy":{"max_attempts":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := doAdmin(t, tt.method, official+tt.path, tt.ct, tt.body)
			got := doAdmin(t, tt.method, ours+tt.path, tt.ct, tt.body)
			if got.StatusCode != want.StatusCode || got.Header.Get("Allow") != want.Header.Get("Allow") {
				t.Errorf("ours: %d allow=%q %s\nrestate-server: %d allow=%q %s", got.StatusCode, got.Header.Get("Allow"), got.body, want.StatusCode, want.Header.Get("Allow"), want.body)
			}
			if ct := got.Header.Get("Content-Type"); ct != j {
				t.Errorf("ours: content type %q, want %s: %s", ct, j, got.body)
			}
			var e struct {
				Message     *string         `json:"message"`
				RestateCode json.RawMessage `json:"restate_code"`
			}
			dec := json.NewDecoder(strings.NewReader(got.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || e.Message == nil || *e.Message == "" || e.RestateCode == nil {
				t.Fatalf("ours: %s is not restate-server's error shape: %v", got.body, err)
			}
			switch wct := want.Header.Get("Content-Type"); {
			case want.body == "":
				// restate-server gives no reason; ours does.
			case strings.HasPrefix(wct, "text/plain"):
				if *e.Message != want.body {
					t.Errorf("ours says %q, restate-server %q", *e.Message, want.body)
				}
			default:
				if got.body != want.body {
					t.Errorf("ours: %s\nrestate-server: %s", got.body, want.body)
				}
			}
		})
	}
}
