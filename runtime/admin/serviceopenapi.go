package admin

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/registry"
)

// serviceOpenAPIStatic holds the parts of a service's OpenAPI document that do not depend on the
// service (components.parameters, components.responses, the RestateError schema and the tags),
// copied verbatim from restate-server 1.7.12's GET /services/{service}/openapi.
//
//go:embed serviceopenapi_components.json
var serviceOpenAPIStatic []byte

// getServiceOpenAPI answers GET /services/{name}/openapi.
func (h *Handler) getServiceOpenAPI(w http.ResponseWriter, r *http.Request) {
	s, ok := h.service(w, r)
	if !ok {
		return
	}
	doc, err := ServiceOpenAPI(s, h.cfg.IngressEndpoint)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// ServiceOpenAPI is the OpenAPI 3.1 document of a service's ingress endpoints, as restate-server
// 1.7.12 writes it (paths, operation ids, parameters, bodies, responses, components):
//
//	POST /restate/call/{service}[/{key}]/{handler}   call ("{handler}")
//	POST /restate/send/{service}[/{key}]/{handler}   send ("{handler}Send")
//	GET  /restate/invocation/{service}[/{key}]/{handler}/{idempotencyKey}/attach|output
//	GET  /restate/workflow/{service}/{key}/attach|output   (a workflow's run)
//
// the last two deprecated in favour of POST /restate/lookup then GET /restate/attach|output/{id},
// as there. The ingress serves all of them, and the older /{service}[/{key}]/{handler}[/send]
// too, which the document does not list. Handlers private to the ingress are left out, as
// restate-server does; a private service keeps its routes (as there). ingressURL is the servers
// entry.
func ServiceOpenAPI(s registry.Service, ingressURL string) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(serviceOpenAPIStatic, &doc); err != nil {
		return nil, fmt.Errorf("admin: service openapi components: %w", err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	paths := map[string]any{}
	for _, hd := range s.Handlers {
		if hd.Options.IngressPrivate {
			continue
		}
		for p, op := range handlerOperations(s, hd, schemas) {
			paths[p] = op
		}
	}
	info := map[string]any{"title": s.Name, "version": strconv.FormatUint(uint64(s.Revision), 10)}
	if s.Options.Documentation != "" {
		info["description"] = s.Options.Documentation
	}
	doc["info"], doc["openapi"], doc["paths"] = info, "3.1.0", paths
	doc["servers"] = []any{map[string]any{"description": "Restate Ingress URL", "url": ingressURL}}
	return doc, nil
}

func ref(kind, name string) map[string]any {
	return map[string]any{"$ref": "#/components/" + kind + "/" + name}
}

// handlerOperations returns the path items of one handler, adding its schemas to schemas.
func handlerOperations(s registry.Service, hd registry.Handler, schemas map[string]any) map[string]any {
	keyed := s.Type == command.VirtualObject || s.Type == command.Workflow
	workflow := s.Type == command.Workflow
	target := "/" + s.Name
	var keyParam []any
	if keyed {
		target += "/{key}"
		keyParam = []any{ref("parameters", "key")}
	}
	target += "/" + hd.Name
	callParams := append([]any{}, keyParam...)
	if !workflow {
		callParams = append(callParams, ref("parameters", "idempotencyKeyHeader"))
	}
	sendParams := append(append([]any{}, callParams...), ref("parameters", "delay"))
	describe := func(def string) string {
		if hd.Options.Documentation != "" {
			return hd.Options.Documentation
		}
		return def
	}
	ok200 := outputResponse(hd, schemas)
	call := map[string]any{
		"description": describe(fmt.Sprintf("Call %s handler %s and wait for response", s.Name, hd.Name)),
		"operationId": hd.Name, "parameters": callParams, "summary": hd.Name,
		"responses": map[string]any{"200": ok200, "default": ref("responses", "GenericError")},
	}
	send := map[string]any{
		"description": describe(fmt.Sprintf("Send request to %s handler %s", s.Name, hd.Name)),
		"operationId": hd.Name + "Send", "parameters": sendParams, "summary": hd.Name, "tags": []any{"Send"},
		"responses": map[string]any{"200": ref("responses", "Send"), "202": ref("responses", "Send"), "default": ref("responses", "GenericError")},
	}
	if body, ok := requestBody(hd, schemas); ok {
		call["requestBody"], send["requestBody"] = body, body
	}
	out := map[string]any{"/restate/call" + target: map[string]any{"post": call}, "/restate/send" + target: map[string]any{"post": send}}
	switch {
	case workflow && hd.Type == command.WorkflowHandler:
		wf := "/restate/workflow/" + s.Name + "/{key}"
		out[wf+"/attach"] = getOp(attachOp(hd, ok200, keyParam, deprecatedWorkflowAttach+describe(fmt.Sprintf("Attach to the running instance of %s/%s workflow and wait to finish", s.Name, hd.Name))))
		out[wf+"/output"] = getOp(outputOp(hd, ok200, keyParam, deprecatedWorkflowOutput+describe(fmt.Sprintf("Get output of the %s/%s workflow", s.Name, hd.Name))))
	case !workflow:
		inv := "/restate/invocation" + target + "/{idempotencyKey}"
		params := append(append([]any{}, keyParam...), ref("parameters", "idempotencyKeyPath"))
		out[inv+"/attach"] = getOp(attachOp(hd, ok200, params, deprecatedIdempotentAttach+describe(fmt.Sprintf("Attach to a running instance of %s/%s using the idempotency key and wait to finish", s.Name, hd.Name))))
		out[inv+"/output"] = getOp(outputOp(hd, ok200, params, deprecatedIdempotentOutput+describe(fmt.Sprintf("Get output of a running instance of %s/%s using idempotency key", s.Name, hd.Name))))
	}
	return out
}

// restate-server 1.7's words before the description of the attach and output routes it
// deprecates (its "with with" included).
const (
	deprecatedIdempotentAttach = "Deprecated: use POST /restate/lookup with idempotency information to obtain an invocation id, then GET /restate/attach/{invocationId}. "
	deprecatedIdempotentOutput = "Deprecated: use POST /restate/lookup with with idempotency information to obtain an invocation id, then GET /restate/output/{invocationId}. "
	deprecatedWorkflowAttach   = "Deprecated: use POST /restate/lookup with a workflow target to obtain an invocation id, then GET /restate/attach/{invocationId}. "
	deprecatedWorkflowOutput   = "Deprecated: use POST /restate/lookup with a workflow target to obtain an invocation id, then GET /restate/output/{invocationId}. "
)

func getOp(op map[string]any) map[string]any { return map[string]any{"get": op} }

func attachOp(hd registry.Handler, ok200 any, params []any, desc string) map[string]any {
	return map[string]any{
		"deprecated":  true,
		"description": desc, "operationId": hd.Name + "Attach", "parameters": params, "summary": hd.Name, "tags": []any{"Attach"},
		"responses": map[string]any{"200": ok200, "404": ref("responses", "InvocationNotFoundError"), "default": ref("responses", "GenericError")},
	}
}

func outputOp(hd registry.Handler, ok200 any, params []any, desc string) map[string]any {
	return map[string]any{
		"deprecated":  true,
		"description": desc, "operationId": hd.Name + "Output", "parameters": params, "summary": hd.Name, "tags": []any{"Get Output"},
		"responses": map[string]any{
			"200": ok200, "404": ref("responses", "InvocationNotFoundError"),
			"470": ref("responses", "InvocationNotReadyError"), "default": ref("responses", "GenericError"),
		},
	}
}

// requestBody describes what a handler accepts; none when it accepts no body.
func requestBody(hd registry.Handler, schemas map[string]any) (map[string]any, bool) {
	in := hd.Input
	if in.ContentType == "" {
		return nil, false
	}
	media := map[string]any{}
	if schema, ok := jsonSchema(in.JSONSchema); ok {
		schemas[hd.Name+"Request"] = schema
		media["schema"] = ref("schemas", hd.Name+"Request")
	}
	return map[string]any{"content": map[string]any{in.ContentType: media}, "required": in.Required}, true
}

// outputResponse describes a handler's 200 answer.
func outputResponse(hd registry.Handler, schemas map[string]any) map[string]any {
	o := hd.Output
	if o.ContentType == "" {
		return map[string]any{"description": "Empty"}
	}
	media := map[string]any{}
	if schema, ok := jsonSchema(o.JSONSchema); ok {
		schemas[hd.Name+"Response"] = schema
		media["schema"] = ref("schemas", hd.Name+"Response")
	}
	return map[string]any{"content": map[string]any{o.ContentType: media}, "description": ""}
}

func jsonSchema(b []byte) (any, bool) {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return nil, false
	}
	return v, true
}
