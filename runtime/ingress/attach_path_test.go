package ingress

import (
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
)

// TestParseAttachPath: the attach and output paths as restate-server 1.7.12 parses them. The
// statuses and messages in the comments are what the official binary answered (GET, with a Svc
// service, an Obj Virtual Object and an Order workflow registered).
func TestParseAttachPath(t *testing.T) {
	byKey := func(service, key, handler, idem string, output bool) route {
		return route{kind: routeAttach, attach: attachRoute{byIdempotencyKey: true, keyed: key != "", service: service, key: key, handler: handler, idempotencyKey: idem, output: output}}
	}
	workflow := func(name, key string, output bool) route {
		return route{kind: routeAttach, attach: attachRoute{workflow: true, service: name, key: key, output: output}}
	}
	tests := []struct {
		name    string
		path    string
		want    route
		status  int
		message string
	}{
		{"by id, attach", "/restate/invocation/inv_1x/attach", route{kind: routeAttach, attach: attachRoute{id: "inv_1x"}}, 0, ""},
		{"by id, output", "/restate/invocation/inv_1x/output", route{kind: routeAttach, attach: attachRoute{id: "inv_1x", output: true}}, 0, ""},
		// The id is kept as written: the official message quotes 'inv_…%21z'.
		{"id not unescaped", "/restate/invocation/a%21b/attach", route{kind: routeAttach, attach: attachRoute{id: "a%21b"}}, 0, ""},
		// restate-server trims trailing slashes before routing: .../attach/ attached (200).
		{"trailing slash", "/restate/invocation/inv_1x/attach/", route{kind: routeAttach, attach: attachRoute{id: "inv_1x"}}, 0, ""},
		{"trailing slashes", "/restate/workflow/Signup/k/output//", workflow("Signup", "k", true), 0, ""},
		// /restate/invocation/x/foo: 404 {"code":404,"message":"not found"}.
		{"unknown operation", "/restate/invocation/x/foo", route{}, 404, msgNotFound},
		// /restate/invocation/x and /restate/invocation/: 400 with the invocation path message.
		{"no operation", "/restate/invocation/x", route{}, 400, msgBadInvocationPath},
		{"nothing", "/restate/invocation/", route{}, 400, msgBadInvocationPath},
		{"bare", "/restate/invocation", route{}, 400, msgBadInvocationPath},
		// By idempotency key: Svc/wait/k1/output answered 470 then 200; the handler is not
		// checked (Svc/nope/k1/output: 404 "invocation not found").
		{"service by key", "/restate/invocation/Greeter/greet/k1/output", byKey("Greeter", "", "greet", "k1", true), 0, ""},
		{"unknown handler by key", "/restate/invocation/Greeter/nope/k1/attach", byKey("Greeter", "", "nope", "k1", false), 0, ""},
		// Obj/o%2F1/wait/ok1/attach found the invocation sent to key "o/1"; k%31 did not find
		// k1: the key is unescaped, the idempotency key is not.
		{"object by key", "/restate/invocation/Counter/o%2F1/add/ok1/attach", byKey("Counter", "o/1", "add", "ok1", false), 0, ""},
		{"idempotency key not unescaped", "/restate/invocation/Greeter/greet/k%31/output", byKey("Greeter", "", "greet", "k%31", true), 0, ""},
		{"workflow service by key", "/restate/invocation/Signup/k/click/i/output", byKey("Signup", "k", "click", "i", true), 0, ""},
		// Svc/wait/k1/attach/extra answered like Svc/wait/k1/attach (200).
		{"segments after the operation ignored", "/restate/invocation/Greeter/greet/k1/attach/extra", byKey("Greeter", "", "greet", "k1", false), 0, ""},
		// Nope/wait/k1/output: 404 "service 'Nope' not found, make sure to register the service
		// before calling it."; ID/output/extra likewise names ID as the service.
		{"unknown service by key", "/restate/invocation/Nope/h/k1/output", route{}, 404, "service 'Nope' not found, make sure to register the service before calling it."},
		{"id with an extra segment", "/restate/invocation/inv_1x/output/extra", route{}, 404, "service 'inv_1x' not found, make sure to register the service before calling it."},
		// Svc/wait/k1: 400 invocation path message; Obj/wait/ok1/output (no key): the same.
		{"service by key, no operation", "/restate/invocation/Greeter/greet/k1", route{}, 400, msgBadInvocationPath},
		{"object by key without key", "/restate/invocation/Counter/add/k1/output", route{}, 400, msgBadInvocationPath},
		// Svc/wait/k1/foo: 404 "not found".
		{"by key, unknown operation", "/restate/invocation/Greeter/greet/k1/foo", route{}, 404, msgNotFound},
		// Obj/o/1/wait/ok1/output has 8 slashes: 400 "bad path: /restate/invocation/Obj/o/1/wait/ok1/output".
		{"too deep", "/restate/invocation/Counter/o/1/add/k/output", route{}, 400, "bad path: /restate/invocation/Counter/o/1/add/k/output"},
		// Obj/%C3%28/wait/k/output: 400 "bad path, cannot decode key: FromUtf8Error { bytes: [195,
		// 40], … }" (Rust's Debug of the error).
		{"key not UTF-8", "/restate/invocation/Counter/%C3%28/add/k/output", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [195, 40], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }"},
		// Workflows: Order/w1/attach and /output; the name is not looked up (Nope/w1/attach: 404
		// from the invocation, as an unknown id), the key is unescaped (Order/w%31/output found w1).
		{"workflow attach", "/restate/workflow/Signup/k/attach", workflow("Signup", "k", false), 0, ""},
		{"workflow output", "/restate/workflow/Signup/w%31/output", workflow("Signup", "w1", true), 0, ""},
		{"unknown workflow", "/restate/workflow/Nope/k/attach", workflow("Nope", "k", false), 0, ""},
		{"workflow, extra segment ignored", "/restate/workflow/Signup/k/attach/x", workflow("Signup", "k", false), 0, ""},
		// Order/w1 and Order: 400 with the workflow path message; Order/w1/foo: 404 "not found".
		{"workflow, no operation", "/restate/workflow/Signup/k", route{}, 400, msgBadWorkflowPath},
		{"workflow, no key", "/restate/workflow/Signup", route{}, 400, msgBadWorkflowPath},
		{"workflow, unknown operation", "/restate/workflow/Signup/k/foo", route{}, 404, msgNotFound},
		{"workflow key not UTF-8", "/restate/workflow/Signup/%C3%28/attach", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [195, 40], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }"},
		// The newer API's attach by id (api.go): the id is checked with the method, later.
		{"restate attach verb", "/restate/attach/inv_1x", route{kind: routeAttach, attach: attachRoute{id: "inv_1x"}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, herr := parsePath(tt.path, fuzzServiceType)
			if tt.status != 0 {
				if herr == nil || herr.status != tt.status || herr.message != tt.message || herr.source != sourceIngress {
					t.Fatalf("parsePath(%q) = %+v, %+v; want %d %q", tt.path, got, herr, tt.status, tt.message)
				}
				return
			}
			if herr != nil || got != tt.want {
				t.Fatalf("parsePath(%q) = %+v, %+v; want %+v", tt.path, got, herr, tt.want)
			}
		})
	}
}

// TestDecodeInvocationID: malformed ids are worded as restate-server 1.7.12 words them (each
// message below is what GET /restate/invocation/{id}/output answered, after "bad invocation id
// '{id}': "), and a well-formed id decodes to itself.
func TestDecodeInvocationID(t *testing.T) {
	const good = "inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz"
	tests := []struct{ id, reason string }{
		{good, ""},
		{"", "bad length"},
		{"garbage", "bad format"},
		{"inv", "bad format"},
		{"inv_", "bad length"},
		{"inv_1", "bad length"},
		{"inv_2eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "unrecognized codec version"},
		{"inv_0eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "unrecognized codec version"},
		{"inv_2abc", "unrecognized codec version"},
		{"dp_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "id doesn't match the expected type"},
		{"sign_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "id doesn't match the expected type"},
		{"inc_1cIqL3zLDN0c5HnuF7X0EtQ2oQFXRuT9Nl", "unrecognized resource type: inc"},
		{"INV_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "unrecognized resource type: INV"},
		{"_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "unrecognized resource type: "},
		{"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUE", "bad length"},
		{"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEzz", "bad length"},
		{"inv_1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "base62 decode error"},
		{"inv_1eKu7kwEBU30_dAnFdwZhwAMHdshX8BUEz", "base62 decode error"},
		{"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BU%21z", "base62 decode error"},
		{"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUE%C3%A9", "base62 decode error"},
	}
	for _, tt := range tests {
		id, reason := decodeInvocationID(tt.id)
		if reason != tt.reason {
			t.Errorf("decodeInvocationID(%q): reason %q, want %q", tt.id, reason, tt.reason)
		}
		if reason == "" && id.String() != tt.id {
			t.Errorf("decodeInvocationID(%q) = %s", tt.id, id)
		}
	}
}

// FuzzDecodeInvocationID: the officially worded decoder accepts exactly the ids that
// ids.ParseInvocationID accepts, and an accepted id prints as it was written.
func FuzzDecodeInvocationID(f *testing.F) {
	for _, s := range []string{"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "", "inv_", "inv_1", "dp_1x", "inv_2abc",
		"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEzz", "inv_1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "inv_1eKu7kwEBU30_dAnFdwZhwAMHdshX8BUEz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, reason := decodeInvocationID(s)
		want, err := ids.ParseInvocationID(s)
		if (reason == "") != (err == nil) {
			t.Fatalf("decodeInvocationID(%q): reason %q; ids.ParseInvocationID: %v", s, reason, err)
		}
		if reason == "" && (id != want || id.String() != s) {
			t.Fatalf("decodeInvocationID(%q) = %s, ids.ParseInvocationID %s", s, id, want)
		}
	})
}
