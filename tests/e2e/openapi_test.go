//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPITest ports restatedev/e2e e2e-tests tests/OpenAPITest.kt (class OpenAPITest).
// Upstream downloads GET /services/GreeterService/openapi from the admin API and runs the Java
// OpenAPI Generator over it, passing when the generator writes an api and a model package. No
// generator runs here (no JVM, no new dependency); the port checks what a generator needs of the
// document and then uses it as a generated client would:
//   - an OpenAPI 3 JSON document titled after the service;
//   - every $ref resolves inside the document;
//   - every operation has a unique operationId and responses;
//   - each handler of the service (GET /services/{name}/handlers) has its call operation
//     (operationId = the handler's name) and its send operation (name + "Send");
//   - the echo call and echoSend operations are at /restate/call/… and /restate/send/…, where
//     restate-server 1.7 documents them (both servers' documents agree);
//   - the echo call operation, at the document's server URL and path, with the request body's
//     content type, echoes; the echoSend operation answers the Send response's required fields.
//
// TestUtilsService (echo: string → string) stands in for upstream's in-test GreeterService
// (greet: string → string).
func TestOpenAPITest(t *testing.T) {
	runClass(t, class{
		services: []string{testUtils},
		scenarios: []scenario{
			{name: "shouldGenerateValidOpenAPI", run: shouldGenerateValidOpenAPI},
		},
	})
}

// openAPIOperation is what the scenario reads of an operation.
type openAPIOperation struct {
	OperationID string `json:"operationId"`
	RequestBody *struct {
		Content map[string]any `json:"content"`
	} `json:"requestBody"`
	Responses map[string]any `json:"responses"`
}

// openAPIDocument is what the scenario reads of the document.
type openAPIDocument struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths map[string]map[string]openAPIOperation `json:"paths"`
}

// located is an operation with its method and path.
type located struct {
	method, path string
	op           openAPIOperation
}

func shouldGenerateValidOpenAPI(t *testing.T, d *deployment) {
	// Download OpenAPI spec from Admin API.
	r := d.get(d.admin + "/services/" + testUtils + "/openapi")
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /services/%s/openapi: %v, want 200", testUtils, r)
	}
	var raw any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("the document does not have OpenAPI's shape: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want an OpenAPI 3 document", doc.OpenAPI)
	}
	if doc.Info.Title != testUtils || doc.Info.Version == "" {
		t.Fatalf("info = %+v, want the title %s and a version", doc.Info, testUtils)
	}
	if len(doc.Servers) == 0 {
		t.Fatal("the document names no server to call")
	}
	if err := checkRefs(raw, raw, "#"); err != nil {
		t.Fatal(err)
	}

	ops := map[string]located{}
	for path, item := range doc.Paths {
		for method, op := range item {
			if op.OperationID == "" || len(op.Responses) == 0 {
				t.Fatalf("%s %s: operationId %q, %d responses: a generator needs both", method, path, op.OperationID, len(op.Responses))
			}
			if prev, dup := ops[op.OperationID]; dup {
				t.Fatalf("operationId %q used by %s %s and %s %s", op.OperationID, prev.method, prev.path, method, path)
			}
			ops[op.OperationID] = located{method: strings.ToUpper(method), path: path, op: op}
		}
	}
	var handlers struct {
		Handlers []struct {
			Name string `json:"name"`
		} `json:"handlers"`
	}
	d.get(d.admin+"/services/"+testUtils+"/handlers").value(t, &handlers)
	if len(handlers.Handlers) == 0 {
		t.Fatalf("GET /services/%s/handlers lists no handler", testUtils)
	}
	for _, h := range handlers.Handlers {
		for _, id := range []string{h.Name, h.Name + "Send"} {
			if o, ok := ops[id]; !ok || o.method != http.MethodPost {
				t.Fatalf("handler %s: no POST operation %q in the document (operations: %v)", h.Name, id, slices.Sorted(maps.Keys(ops)))
			}
		}
	}

	for id, want := range map[string]string{"echo": "/restate/call/" + testUtils + "/echo", "echoSend": "/restate/send/" + testUtils + "/echo"} {
		if got := ops[id].path; got != want {
			t.Fatalf("operation %s at %s, want %s (restate-server 1.7's path)", id, got, want)
		}
	}

	// Use the document as a generated client would.
	base := strings.TrimSuffix(doc.Servers[0].URL, "/")
	echo := invokeOperation(t, d, base, ops["echo"], "Francesco")
	var got string
	echo.value(t, &got)
	if got != "Francesco" {
		t.Fatalf("echo through the document's operation answered %q, want %q", got, "Francesco")
	}
	var s struct {
		InvocationID *string `json:"invocationId"`
		Status       *string `json:"status"`
	}
	send := invokeOperation(t, d, base, ops["echoSend"], "Francesco")
	send.value(t, &s)
	if s.InvocationID == nil || s.Status == nil {
		t.Fatalf("echoSend through the document's operation answered %s, want invocationId and status", send.body)
	}
}

// invokeOperation sends in, JSON-encoded, to op at base as a generated client does: the
// operation's method and path, the content type its request body declares.
func invokeOperation(t *testing.T, d *deployment, base string, op located, in any) reply {
	t.Helper()
	if op.op.RequestBody == nil || op.op.RequestBody.Content["application/json"] == nil {
		t.Fatalf("%s %s: no application/json request body", op.method, op.path)
	}
	return d.do(context.Background(), op.method, base+op.path, in)
}

// checkRefs fails on the first $ref under v that does not resolve inside root (a local JSON
// pointer); at names the place for the message.
func checkRefs(root, v any, at string) error {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			if _, err := resolvePointer(root, ref); err != nil {
				return fmt.Errorf("%s: $ref %q: %w", at, ref, err)
			}
		}
		for k, e := range v {
			if err := checkRefs(root, e, at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkRefs(root, e, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvePointer follows a local JSON pointer ("#/components/schemas/X") from root.
func resolvePointer(root any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("not a reference inside the document")
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not inside an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
}
