package admin

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// officialOpenAPI is restate-server 1.7.12's description of its admin API (GET /openapi on its
// admin port). Routes we serve take their description from it; the document we serve lists
// only the routes in Handler.routes.
//
//go:embed restate_admin_openapi.json
var officialOpenAPI []byte

// route is one served method and pattern.
type route struct{ method, pattern string }

// handle serves fn at method and pattern and records the route for GET /openapi and for the
// 405 answers.
func (h *Handler) handle(method, pattern string, fn http.HandlerFunc) {
	h.routes = append(h.routes, route{method, pattern})
	h.mux.HandleFunc(method+" "+pattern, fn)
}

// handleFallbacks answers, in restate-server's error shape, 405 with Allow to a known path asked
// with another method and 404 to any other path (restate-server answers both with an empty
// body; Go's mux would answer plain text, which the official CLI cannot parse).
func (h *Handler) handleFallbacks() {
	allowed := map[string][]string{}
	var patterns []string
	for _, rt := range h.routes {
		if _, ok := allowed[rt.pattern]; !ok {
			patterns = append(patterns, rt.pattern)
		}
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.pattern] = append(allowed[rt.pattern], http.MethodHead)
		}
	}
	for _, p := range patterns {
		methods := allowed[p]
		sort.Strings(methods)
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ","))
			apiError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("Method Not Allowed: %s %s accepts %s", r.Method, r.URL.Path, strings.Join(methods, ", ")))
		})
	}
	h.mux.HandleFunc("/", notFound)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusNotFound, "", fmt.Sprintf("Not Found: no admin API route matches %s %s", r.Method, r.URL.Path))
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// routeKey identifies a route whatever its path parameters are called.
func routeKey(method, path string) string {
	return strings.ToLower(method) + " " + pathParam.ReplaceAllString(path, "{}")
}

// ownOperations describe the routes restate-server does not have.
var ownOperations = map[string]string{
	"get /invocations/{}":       `{"tags":["invocation"],"summary":"Get an invocation's status","description":"Resolute's own (restate-server answers with SQL over sys_invocation, whose column names the fields carry): the invocation's status record and, while it runs or backs off, the invoker's view of its attempts: retry_count, next_retry_at, last_failure, last_attempt_deployment_id. Its pinned deployment and protocol version once an attempt journaled something.","operationId":"get_invocation","parameters":[{"name":"invocation_id","in":"path","description":"Invocation identifier.","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"The invocation's status","content":{"application/json":{"schema":{"type":"object","required":["id","target","target_service_name","target_handler_name","target_service_ty","status","retry_count","journal_size","journal_commands_size","created_at","modified_at"],"properties":{"id":{"type":"string"},"target":{"type":"string"},"target_service_name":{"type":"string"},"target_service_key":{"type":"string"},"target_handler_name":{"type":"string"},"target_service_ty":{"type":"string","enum":["service","virtual_object","workflow"]},"idempotency_key":{"type":"string"},"invoked_by_id":{"type":"string"},"status":{"type":"string","enum":["inboxed","scheduled","running","backing-off","suspended","paused","completed"]},"completion_result":{"type":"string","enum":["success","failure"]},"completion_failure":{"type":"string"},"retry_count":{"type":"integer"},"next_retry_at":{"type":"string","format":"date-time"},"last_attempt_deployment_id":{"type":"string"},"last_failure":{"type":"string"},"last_failure_error_code":{"type":"string"},"pinned_deployment_id":{"type":"string"},"pinned_service_protocol_version":{"type":"integer"},"journal_size":{"type":"integer"},"journal_commands_size":{"type":"integer"},"created_at":{"type":"string","format":"date-time"},"modified_at":{"type":"string","format":"date-time"},"scheduled_at":{"type":"string","format":"date-time"}}}}}},"400":{"$ref":"#/components/responses/BadRequest"},"404":{"$ref":"#/components/responses/NotFound"},"503":{"description":"Invocation reads are not available","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}}}}`,
	"post /cluster/nodes":       `{"tags":["cluster_health"],"summary":"Add a node","description":"Resolute's own (restate-server has restatectl): makes a new node, by its id (never used before in this cluster) and Raft address, a member of the metadata shard and of every partition shard with fewer replicas than the replication factor (recorded in the metadata shard first), through the answering node's replicas and the other live nodes'. Then start the new node with --join: it joins the shards recorded for it, rebuilt from a snapshot and the log. Idempotent.","operationId":"add_cluster_node","parameters":[{"name":"scope","in":"query","description":"local: only the shards the answering node holds a replica of (what a node asks of the others; not asked further).","required":false,"schema":{"type":"string","enum":["local"]}}],"requestBody":{"content":{"application/json":{"schema":{"type":"object","required":["id","raft_address"],"properties":{"id":{"type":"integer","format":"int64","minimum":1},"raft_address":{"type":"string"}}}}},"required":true},"responses":{"200":{"description":"The shards changed: now with the node as a member","content":{"application/json":{"schema":{"type":"object","required":["node","shards"],"properties":{"node":{"type":"integer","format":"int64"},"raft_address":{"type":"string"},"shards":{"type":"array","items":{"type":"integer","format":"int64"}},"held":{"type":"array","description":"With scope=local: the shards the answering node holds a replica of and checked, changed or not.","items":{"type":"integer","format":"int64"}}}}}}},"400":{"$ref":"#/components/responses/BadRequest"},"409":{"$ref":"#/components/responses/Conflict"},"503":{"description":"A shard has no leader, the change timed out, or no node holding a replica of a shard answered: ask again","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}}}}`,
	"delete /cluster/nodes/{}":  `{"tags":["cluster_health"],"summary":"Remove a dead node","description":"Resolute's own (restate-server has restatectl): removes the node from every shard of the cluster it is a member of, through the answering node's replicas and the other live nodes' (a node does not remove itself). Its id is never used again; the node must not be started again. Idempotent.","operationId":"remove_cluster_node","parameters":[{"name":"id","in":"path","description":"Node id.","required":true,"schema":{"type":"integer","format":"int64","minimum":1}},{"name":"scope","in":"query","description":"local: only the shards the answering node holds a replica of (what a node asks of the others; not asked further).","required":false,"schema":{"type":"string","enum":["local"]}}],"responses":{"200":{"description":"The shards changed: no longer with the node as a member","content":{"application/json":{"schema":{"type":"object","required":["node","shards"],"properties":{"node":{"type":"integer","format":"int64"},"raft_address":{"type":"string"},"shards":{"type":"array","items":{"type":"integer","format":"int64"}},"held":{"type":"array","description":"With scope=local: the shards the answering node holds a replica of and checked, changed or not.","items":{"type":"integer","format":"int64"}}}}}}},"400":{"$ref":"#/components/responses/BadRequest"},"404":{"description":"The node was never a member of the cluster","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}},"409":{"$ref":"#/components/responses/Conflict"},"503":{"description":"A shard has no leader, the change timed out, or no node holding a replica of a shard answered: ask again","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}}}}`,
	"get /cluster/shards":       `{"tags":["cluster_health"],"summary":"Shard memberships","description":"Resolute's own: the membership of every shard the answering node holds a replica of, read through each shard's leader (what POST /cluster/nodes reads to find the shards with fewer replicas than the replication factor).","operationId":"cluster_shards","responses":{"200":{"description":"The shards","content":{"application/json":{"schema":{"type":"object","required":["shards"],"properties":{"shards":{"type":"array","items":{"type":"object","required":["shard","replicas"],"properties":{"shard":{"type":"integer","format":"int64"},"replicas":{"type":"object","description":"Node id to Raft address.","additionalProperties":{"type":"string"}},"removed":{"type":"array","items":{"type":"integer","format":"int64"}}}}}}}}}},"503":{"description":"A shard has no leader","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}}}}`,
	"get /openapi":              `{"tags":["openapi"],"summary":"OpenAPI description of this API","description":"This document: the routes this admin API serves, as OpenAPI 3.1.","operationId":"openapi_spec","responses":{"200":{"description":"OpenAPI 3.1 document","content":{"application/json":{"schema":{}}}}}}`,
	"get /services/{}/state/{}": `{"tags":["service"],"summary":"Get a Virtual Object key's state","description":"Resolute's own (restate-server reads state by SQL): the state of one key of a Virtual Object, each value as an array of bytes, with the version POST /services/{service}/state accepts.","operationId":"get_service_state","parameters":[{"name":"service","in":"path","required":true,"schema":{"type":"string"}},{"name":"key","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"The key's state","content":{"application/json":{"schema":{"type":"object","required":["service","object_key","version","state"],"properties":{"service":{"type":"string"},"object_key":{"type":"string"},"version":{"type":"string"},"state":{"type":"object","additionalProperties":{"type":"array","items":{"type":"integer","format":"uint8"}}}}}}}},"400":{"$ref":"#/components/responses/BadRequest"},"404":{"$ref":"#/components/responses/NotFound"},"503":{"description":"State reads are not available","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorDescriptionResponse"}}}}}}`,
}

// openAPI answers GET /openapi: the routes this handler serves, each described as
// restate-server 1.7.12 describes it (ownOperations for ours), with the components they use.
func (h *Handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	doc, err := h.OpenAPI()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// OpenAPI builds the document GET /openapi answers.
func (h *Handler) OpenAPI() (map[string]any, error) {
	var official struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any `json:"components"`
		Tags       []map[string]any          `json:"tags"`
	}
	if err := json.Unmarshal(officialOpenAPI, &official); err != nil {
		return nil, fmt.Errorf("admin: official openapi: %w", err)
	}
	byKey := map[string]string{}
	for p, item := range official.Paths {
		for m := range item {
			byKey[routeKey(m, p)] = p
		}
	}
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, rt := range h.routes {
		k := routeKey(rt.method, rt.pattern)
		path, op := rt.pattern, any(nil)
		if p, ok := byKey[k]; ok {
			path, op = p, official.Paths[p][strings.ToLower(rt.method)]
		} else if own, ok := ownOperations[k]; ok {
			if err := json.Unmarshal([]byte(own), &op); err != nil {
				return nil, fmt.Errorf("admin: openapi of %s: %w", k, err)
			}
		} else {
			return nil, fmt.Errorf("admin: no description of the route %s %s", rt.method, rt.pattern)
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.method)] = op
		ts, _ := op.(map[string]any)["tags"].([]any)
		for _, t := range ts {
			if name, ok := t.(string); ok {
				tags[name] = true
			}
		}
	}
	if err := addOwnProperties(official.Components["schemas"]); err != nil {
		return nil, err
	}
	components := usedComponents(paths, official.Components)
	var tagList []any
	for _, t := range official.Tags {
		if tags[t["name"].(string)] {
			tagList = append(tagList, t)
		}
	}
	if tags["openapi"] {
		tagList = append(tagList, map[string]any{"name": "openapi", "description": "API description"})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title": "Admin API", "version": h.cfg.Version,
			"description": "The admin API of a Resolute server, compatible with restate-server 1.7's: the routes this server serves.",
		},
		"paths": paths, "components": components, "tags": tagList,
	}, nil
}

// ownProperties are the request fields we accept beyond restate-server 1.7.12's, by schema.
var ownProperties = map[string]map[string]string{
	"ClusterHealthResponse": {
		"node_id": `{"type":"integer","format":"int64","minimum":1,"description":"Resolute's own: the node that answered."}`,
		"nodes":   `{"type":"array","description":"Resolute's own: the cluster's members (those of the metadata shard, which every member holds) as the answering node knows them.","items":{"type":"object","required":["id","raft_address"],"properties":{"id":{"type":"integer","format":"int64"},"raft_address":{"type":"string"}}}}`,
		"shards":  `{"type":"array","description":"Resolute's own: the answering node's view of every shard it holds a replica of (the metadata shard, and each partition's): its replicas, the leader it knows of (0: none) in its term, the preferred leader (placement gives leadership back to it when it is alive and caught up), what its replica applied and the last index of its log.","items":{"type":"object","required":["shard","replicas","leader","term","preferred_leader","applied_index","last_index"],"properties":{"shard":{"type":"integer","format":"int64"},"partition":{"type":"integer","format":"int32"},"replicas":{"type":"array","items":{"type":"integer","format":"int64"}},"leader":{"type":"integer","format":"int64"},"term":{"type":"integer","format":"int64"},"preferred_leader":{"type":"integer","format":"int64"},"replica_progress":{"type":"array","description":"Every replica's applied index as its node reported it just now (over actor remoting) and its lag behind the leader's (absent when either is unknown).","items":{"type":"object","required":["node","reachable","applied_index"],"properties":{"node":{"type":"integer","format":"int64"},"reachable":{"type":"boolean"},"applied_index":{"type":"integer","format":"int64"},"lag":{"type":"integer","format":"int64"}}}},"applied_index":{"type":"integer","format":"int64"},"last_index":{"type":"integer","format":"int64"}}}}`,
	},
	"ModifyServiceRequest": {
		"retry_policy": `{"description":"# Retry policy\n\nResolute's own (restate-server 1.7 has no retry policy here): the service's retry policy, shaped as GET /services/{service} shows it; each field set replaces the deployment manifest's service-level setting until a new revision of the service is registered.","oneOf":[{"type":"null"},{"type":"object","properties":{"initial_interval":{"type":["string","null"]},"exponentiation_factor":{"type":["number","null"],"minimum":1},"max_attempts":{"type":["integer","null"],"minimum":1},"max_interval":{"type":["string","null"]},"on_max_attempts":{"oneOf":[{"type":"null"},{"$ref":"#/components/schemas/OnMaxAttempts"}]}}}]}`,
	},
}

func addOwnProperties(schemas map[string]any) error {
	for name, props := range ownProperties {
		schema, ok := schemas[name].(map[string]any)
		if !ok {
			return fmt.Errorf("admin: openapi: no schema %s to extend", name)
		}
		properties, _ := schema["properties"].(map[string]any)
		for prop, raw := range props {
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return fmt.Errorf("admin: openapi: %s.%s: %w", name, prop, err)
			}
			properties[prop] = v
		}
	}
	return nil
}

var componentRef = regexp.MustCompile(`"#/components/([A-Za-z]+)/([^"]+)"`)

// usedComponents returns the components the paths refer to, directly or through other
// components.
func usedComponents(paths any, all map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	pending := []any{paths}
	for len(pending) > 0 {
		b, _ := json.Marshal(pending[0])
		pending = pending[1:]
		for _, m := range componentRef.FindAllStringSubmatch(string(b), -1) {
			kind, name := m[1], m[2]
			if _, seen := out[kind][name]; seen || all[kind][name] == nil {
				continue
			}
			if out[kind] == nil {
				out[kind] = map[string]any{}
			}
			out[kind][name] = all[kind][name]
			pending = append(pending, all[kind][name])
		}
	}
	return out
}

// Routes lists the served routes as "METHOD /pattern", in registration order.
func (h *Handler) Routes() []string {
	out := make([]string, 0, len(h.routes))
	for _, rt := range h.routes {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return slices.Clip(out)
}
