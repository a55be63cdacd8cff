package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/registry"
)

// Registry is the registry read view the admin API needs (*registry.Registry).
type Registry interface {
	Service(name string) (registry.Service, bool)
	Services() []registry.Service
	Deployment(id ids.DeploymentID) (registry.Deployment, bool)
	Deployments() []registry.Deployment
}

// RegisterFunc registers a discovered deployment (registry.Client.Register).
type RegisterFunc func(ctx context.Context, req registry.RegisterRequest) (registry.RegisterResult, error)

// Deps are the admin API's collaborators.
type Deps struct {
	Registry Registry
	Register RegisterFunc
	// Discovery is the client discovery requests go through (h2c for http:// deployments).
	Discovery *http.Client
	// DiscoveryHTTP11 is used for deployments registered with use_http_11 (http.DefaultClient if nil).
	DiscoveryHTTP11 *http.Client
	// Invocations cancels, kills and purges invocations (nil: those routes answer 503).
	Invocations Invocations
	// ClusterHealth reports the cluster as this node sees it (nil: GET /cluster-health answers 503).
	ClusterHealth ClusterHealthFunc
	// ClusterNodes adds and removes nodes (nil: POST and DELETE /cluster/nodes and GET
	// /cluster/shards answer 503).
	ClusterNodes ClusterNodes
	// Attempts reports the invoker's view of a running invocation's attempts (nil: none shown).
	Attempts AttemptsFunc
	// States reads and patches Virtual Object state (nil: those routes answer 503).
	States States
	// ModifyService, DeleteDeployment and UpdateDeployment change the registry through the
	// metadata shard (nil: those routes answer 503).
	ModifyService    ModifyServiceFunc
	DeleteDeployment DeleteDeploymentFunc
	UpdateDeployment UpdateDeploymentFunc
	// KafkaView and KafkaChanges serve Kafka clusters and subscriptions (kafka.go; nil: those
	// routes answer 503).
	KafkaView    KafkaView
	KafkaChanges KafkaChanges
	// Query runs POST /query (query.go; nil: it answers 503).
	Query Querier
}

// DefaultMaxBodySize bounds admin request bodies.
const DefaultMaxBodySize = 1 << 20

// Config tunes the admin API.
type Config struct {
	// Version is reported by GET /version.
	Version string
	// IngressEndpoint is reported by GET /version (e.g. "http://127.0.0.1:8080/").
	IngressEndpoint string
	// ProtocolV7 is reported as features.protocol_v7 by GET /version.
	ProtocolV7 bool
	// MaxBodySize is the largest accepted request body (DefaultMaxBodySize if 0).
	MaxBodySize int64
	// Policy is the retry policy and the timeouts the invoker applies where a manifest overrides
	// nothing (invoker.Invoker.Defaults). Services and handlers are reported with their
	// manifest's overrides applied to it, exactly as the invoker applies them.
	Policy invoker.Policy
}

// Handler serves the admin API.
type Handler struct {
	cfg    Config
	deps   Deps
	mux    *http.ServeMux
	routes []route // what handle registered, in order
}

// New returns the admin handler.
func New(cfg Config, deps Deps) *Handler {
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if deps.DiscoveryHTTP11 == nil {
		deps.DiscoveryHTTP11 = http.DefaultClient
	}
	h := &Handler{cfg: cfg, deps: deps, mux: http.NewServeMux()}
	h.handle("GET", "/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h.handle("GET", "/version", h.version)
	h.handle("POST", "/query", h.query)
	h.handle("GET", "/cluster-health", h.clusterHealth)
	h.handle("POST", "/cluster/nodes", h.addNode)
	h.handle("DELETE", "/cluster/nodes/{id}", h.removeNode)
	h.handle("GET", "/cluster/shards", h.shardMemberships)
	h.handle("GET", "/openapi", h.openAPI)
	h.handle("POST", "/deployments", h.createDeployment)
	h.handle("GET", "/deployments", h.listDeployments)
	h.handle("GET", "/deployments/{id}", h.getDeployment)
	h.handle("DELETE", "/deployments/{id}", h.deleteDeployment)
	h.handle("PATCH", "/deployments/{id}", h.updateDeployment)
	h.handle("GET", "/services", h.listServices)
	h.handle("GET", "/services/{name}", h.getService)
	h.handle("PATCH", "/services/{name}", h.modifyService)
	h.handle("GET", "/services/{name}/openapi", h.getServiceOpenAPI)
	h.handle("GET", "/services/{name}/handlers", h.listHandlers)
	h.handle("GET", "/services/{name}/handlers/{handler}", h.getHandler)
	h.handle("PATCH", "/invocations/{id}/cancel", h.cancelInvocation)
	h.handle("PATCH", "/invocations/{id}/kill", h.killInvocation)
	h.handle("PATCH", "/invocations/{id}/purge", h.purgeInvocation)
	h.handle("PATCH", "/invocations/{id}/purge-journal", h.purgeJournal)
	h.handle("PATCH", "/invocations/{id}/pause", h.pauseInvocation)
	h.handle("PATCH", "/invocations/{id}/resume", h.resumeInvocation)
	h.handle("PATCH", "/invocations/{id}/restart-as-new", h.restartAsNew)
	h.handle("DELETE", "/invocations/{id}", h.deleteInvocation)
	h.handle("GET", "/invocations/{id}", h.getInvocation)
	h.handle("POST", "/services/{name}/state", h.modifyState)
	h.handle("GET", "/services/{name}/state/{key}", h.getState)
	h.handleKafka()
	h.handleSerdePreview()
	h.handleFallbacks()
	return h
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+)(/|$)`)

// ServeHTTP strips an accepted API version prefix and dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		v, _ := strconv.Atoi(m[1])
		if v == 1 {
			textError(w, http.StatusBadRequest, fmt.Sprintf("Unsupported Admin API version V%s. This server supports versions between V2 and V4.", m[1]))
			return
		}
		if v < 2 || v > 4 { // restate-server 1.7.12: 404 for /v0 and /v5 on
			notFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + strings.TrimPrefix(r.URL.Path[len(m[0]):], "/")
		r2.URL.RawPath = ""
		r = r2
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, versionResponse{
		Version: h.cfg.Version, MinAdminAPIVersion: 2, MaxAdminAPIVersion: 4,
		IngressEndpoint: h.cfg.IngressEndpoint, Features: map[string]bool{"protocol_v7": h.cfg.ProtocolV7},
	})
}

// registerRequest is the HTTP form of RegisterDeploymentRequest.
type registerRequest struct {
	URI               *string           `json:"uri"`
	ARN               *string           `json:"arn"`
	AdditionalHeaders map[string]string `json:"additional_headers"`
	UseHTTP11         bool              `json:"use_http_11"`
	Force             *bool             `json:"force"`
	Breaking          bool              `json:"breaking"`
	DryRun            bool              `json:"dry_run"`
	Metadata          map[string]string `json:"metadata"`
}

func (h *Handler) createDeployment(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeRegister(w, r)
	if !ok {
		return
	}
	if req.ARN != nil {
		apiError(w, http.StatusBadRequest, "", "The request field 'arn' is invalid. Reason: Lambda deployments are not supported by this server")
		return
	}
	if !httpURI(*req.URI) {
		textError(w, http.StatusUnprocessableEntity, noVariant)
		return
	}
	if !strings.Contains(*req.URI, "://") {
		apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The request field 'uri' is invalid. Reason: The provided uri %s is not absolute, only absolute URIs can be used.", *req.URI))
		return
	}
	uri, err := discovery.NormalizeURI(*req.URI)
	if err != nil {
		apiError(w, http.StatusBadRequest, "", "The request field 'uri' is invalid. Reason: "+err.Error())
		return
	}
	client := h.deps.Discovery
	if req.UseHTTP11 {
		client = h.deps.DiscoveryHTTP11
	}
	m, err := discovery.Discover(r.Context(), client, uri, req.AdditionalHeaders)
	if err != nil {
		discoveryError(w, err)
		return
	}
	res, err := h.deps.Register(r.Context(), registry.RegisterRequest{
		URI: uri, AdditionalHeaders: req.AdditionalHeaders, UseHTTP11: req.UseHTTP11,
		Force: req.Force != nil && *req.Force, DryRun: req.DryRun, Manifest: m,
	})
	var rej *registry.RejectedError
	switch {
	case errors.As(err, &rej):
		apiError(w, rej.Status, rej.Code, rej.Error())
		return
	case err != nil:
		apiError(w, http.StatusServiceUnavailable, "", "Error when registering the deployment: "+err.Error())
		return
	}
	status := http.StatusOK
	if res.Outcome == registry.Created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "deployments/"+res.Deployment.ID.String())
	writeJSON(w, status, toRegisterResponse(res.Deployment, h.cfg.Policy))
}

// decodeRegister reads and decodes the body, answering the error itself when it fails.
func (h *Handler) decodeRegister(w http.ResponseWriter, r *http.Request) (registerRequest, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		textError(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
		return registerRequest{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Failed to buffer the request body: length limit of %d bytes exceeded", mbe.Limit))
		} else {
			textError(w, http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
		}
		return registerRequest{}, false
	}
	if msg, ok := jsonSyntax(body); !ok {
		textError(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+msg)
		return registerRequest{}, false
	}
	var req registerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		textError(w, http.StatusUnprocessableEntity, noVariant)
		return registerRequest{}, false
	}
	if req.URI == nil && req.ARN == nil {
		textError(w, http.StatusUnprocessableEntity, noVariant)
		return registerRequest{}, false
	}
	return req, true
}

// noVariant is restate-server's answer to a registration body it cannot take: its
// RegisterDeploymentRequest is an untagged enum (uri or arn), so a missing uri, a value of the
// wrong type or a uri its http::Uri cannot parse all end in this one sentence.
const noVariant = "Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum RegisterDeploymentRequest"

// httpURI reports whether the http crate's Uri, which restate-server parses a deployment's uri
// with, would: not empty, no spaces or control characters, an authority after "scheme://".
func httpURI(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	if _, rest, ok := strings.Cut(s, "://"); ok && (rest == "" || strings.ContainsRune("/?#", rune(rest[0]))) {
		return false
	}
	return true
}

// jsonSyntax reports whether body is JSON and, when it is not, why, in serde_json's words and
// with serde_path_to_error's path (what restate-server answers: "EOF while parsing an object at
// line 1 column 1", "public: expected ident at line 1 column 14"); a syntax error these words
// do not cover keeps Go's words with serde's position.
func jsonSyntax(body []byte) (string, bool) {
	var probe any
	err := json.Unmarshal(body, &probe)
	var se *json.SyntaxError
	if err == nil || !errors.As(err, &se) {
		return "", true
	}
	if se.Error() == "unexpected end of JSON input" {
		st := scanJSON(body)
		line, col := lineColumn(body, len(body))
		what := "a value"
		switch {
		case st.inString:
			what = "a string"
		case st.last == ':' || st.last == ',' || len(st.stack) == 0:
		case st.stack[len(st.stack)-1].open == '{':
			what = "an object"
		default:
			what = "a list"
		}
		return fmt.Sprintf("%sEOF while parsing %s at line %d column %d", st.path(true), what, line, col), false
	}
	end := int(max(se.Offset, 1))
	st := scanJSON(body[:end-1])
	bad := body[end-1]
	msg, inValue := se.Error(), true
	switch {
	case strings.HasSuffix(msg, "looking for beginning of value") && st.last == ',' && (bad == ']' || bad == '}'):
		msg, inValue = "trailing comma", false
	case strings.HasSuffix(msg, "looking for beginning of value"):
		msg = "expected value"
	case strings.Contains(msg, " in literal "):
		msg = "expected ident"
	case strings.Contains(msg, "numeric literal"):
		msg = "invalid number"
	case strings.HasSuffix(msg, "looking for beginning of object key string") && bad == '}':
		msg, inValue = "trailing comma", false
	case strings.HasSuffix(msg, "looking for beginning of object key string"):
		msg, inValue = "key must be a string", false
	case strings.HasSuffix(msg, "after object key"):
		msg, inValue = "expected `:`", false
	case strings.HasSuffix(msg, "after object key:value pair"):
		msg, inValue = "expected `,` or `}`", false
	case strings.HasSuffix(msg, "after array element"):
		msg, inValue = "expected `,` or `]`", false
	case strings.HasSuffix(msg, "after top-level value"):
		msg, inValue = "trailing characters", false
	case strings.HasSuffix(msg, "in string literal"):
		msg = "control character (\\u0000-\\u001F) found while parsing a string"
	}
	line, col := lineColumn(body, end)
	return fmt.Sprintf("%s%s at line %d column %d", st.path(inValue), msg, line, col), false
}

// jsonScan is where a scan of the beginning of a JSON text stopped: the objects and arrays
// open, each object's key whose value is being parsed, whether inside a string, and the last
// character that is not white space.
type jsonScan struct {
	stack []struct {
		open byte
		key  string // the key whose value is being parsed, after its colon
	}
	inString bool
	last     byte
}

func scanJSON(b []byte) jsonScan {
	var st jsonScan
	var str []byte
	escaped := false
	for _, c := range b {
		switch {
		case st.inString && escaped:
			escaped = false
			str = append(str, c)
		case st.inString && c == '\\':
			escaped = true
		case st.inString && c == '"':
			st.inString = false
		case st.inString:
			str = append(str, c)
		case c == '"':
			st.inString, str = true, str[:0]
		case c == '{' || c == '[':
			st.stack = append(st.stack, struct {
				open byte
				key  string
			}{open: c})
		case c == '}' || c == ']':
			if len(st.stack) > 0 {
				st.stack = st.stack[:len(st.stack)-1]
			}
		case c == ':' && len(st.stack) > 0:
			st.stack[len(st.stack)-1].key = string(str)
		case c == ',' && len(st.stack) > 0:
			st.stack[len(st.stack)-1].key = ""
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			st.last = c
		}
	}
	return st
}

// path is serde_path_to_error's prefix for an error there: the key of the top-level object
// whose value is being parsed, left out when the error is in that object itself (a missing
// colon or comma) rather than in a value. Only the top-level key: restate-server's nested
// request objects (retry_policy) are read as untyped JSON first, so serde tracks no deeper key
// ("retry_policy: expected ident", not "retry_policy.max_attempts: ...").
func (st jsonScan) path(inValue bool) string {
	levels := st.stack
	if !inValue && len(levels) > 0 {
		levels = levels[:len(levels)-1]
	}
	var keys []string
	for _, l := range levels {
		if l.open == '{' && l.key != "" {
			keys = append(keys, l.key)
		}
	}
	if len(keys) == 0 || st.stack[0].open != '{' || st.stack[0].key == "" {
		return ""
	}
	return keys[0] + ": "
}

// lineColumn is serde_json's position of the first end bytes of body: its line (from 1) and
// the characters before it on that line.
func lineColumn(body []byte, end int) (line, col int) {
	line = 1
	for _, r := range string(body[:min(end, len(body))]) {
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return line, col
}

// serdePosition is where serde_json reports a value of the wrong type: after a scalar, at the
// opening bracket of an array or object (encoding/json's offset is just past the bracket).
func serdePosition(body []byte, te *json.UnmarshalTypeError) string {
	end := int(te.Offset)
	if te.Value == "array" || te.Value == "object" {
		end--
	}
	line, col := lineColumn(body, end)
	return fmt.Sprintf(" at line %d column %d", line, col)
}

// unexpected names a value of the wrong type as serde's Unexpected does: string "yes",
// integer `5`, floating point `1.5`, boolean `true`, sequence, map.
func unexpected(body []byte, te *json.UnmarshalTypeError) string {
	switch te.Value {
	case "array":
		return "sequence"
	case "object":
		return "map"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return te.Value
		}
		if dec.InputOffset() < te.Offset {
			continue
		}
		switch v := tok.(type) {
		case string:
			return "string " + strconv.Quote(v)
		case json.Number:
			if strings.ContainsAny(string(v), ".eE") {
				return "floating point `" + string(v) + "`"
			}
			return "integer `" + string(v) + "`"
		case bool:
			return fmt.Sprintf("boolean `%t`", v)
		}
		return te.Value
	}
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("field `%s`: expected %s, got JSON %s at offset %d", te.Field, te.Type, te.Value, te.Offset)
	}
	return err.Error()
}

func discoveryError(w http.ResponseWriter, err error) {
	var de *discovery.Error
	switch {
	case errors.Is(err, discovery.ErrBadURI):
		apiError(w, http.StatusBadRequest, "", "The request field 'uri' is invalid. Reason: "+err.Error())
	case errors.As(err, &de):
		apiError(w, http.StatusInternalServerError, de.Code, de.Error())
	default:
		apiError(w, http.StatusInternalServerError, discovery.CodeUnreachable, "["+discovery.CodeUnreachable+"] "+err.Error())
	}
}

func (h *Handler) listDeployments(w http.ResponseWriter, _ *http.Request) {
	deps := h.deps.Registry.Deployments()
	out := deploymentsResponse{Deployments: make([]deploymentResponse, 0, len(deps))}
	for _, d := range deps {
		out.Deployments = append(out.Deployments, toDeploymentResponse(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getDeployment(w http.ResponseWriter, r *http.Request) {
	id, ok := deploymentID(w, r)
	if !ok {
		return
	}
	d, ok := h.deps.Registry.Deployment(id)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested deployment '%s' does not exist", id))
		return
	}
	writeJSON(w, http.StatusOK, h.detailedDeployment(d))
}

func (h *Handler) listServices(w http.ResponseWriter, _ *http.Request) {
	svcs := h.deps.Registry.Services()
	out := servicesResponse{Services: make([]serviceResponse, 0, len(svcs))}
	for _, s := range svcs {
		out.Services = append(out.Services, toServiceResponse(s, h.cfg.Policy))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) service(w http.ResponseWriter, r *http.Request) (registry.Service, bool) {
	name := r.PathValue("name")
	s, ok := h.deps.Registry.Service(name)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested service '%s' does not exist", name))
	}
	return s, ok
}

func (h *Handler) getService(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.service(w, r); ok {
		writeJSON(w, http.StatusOK, toServiceResponse(s, h.cfg.Policy))
	}
}

func (h *Handler) listHandlers(w http.ResponseWriter, r *http.Request) {
	s, ok := h.service(w, r)
	if !ok {
		return
	}
	out := handlersResponse{Handlers: make([]handlerResponse, 0, len(s.Handlers))}
	for _, hd := range s.Handlers {
		out.Handlers = append(out.Handlers, toHandlerResponse(s, hd, h.cfg.Policy))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getHandler(w http.ResponseWriter, r *http.Request) {
	s, ok := h.service(w, r)
	if !ok {
		return
	}
	name := r.PathValue("handler")
	hd, ok := s.Handler(name)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested handler '%s' does not exist", name))
		return
	}
	writeJSON(w, http.StatusOK, toHandlerResponse(s, hd, h.cfg.Policy))
}

type errorResponse struct {
	Message     string  `json:"message"`
	RestateCode *string `json:"restate_code"`
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	e := errorResponse{Message: msg}
	if code != "" {
		e.RestateCode = &code
	}
	writeJSON(w, status, e)
}

// textError answers msg, restate-server's wording of a request it refuses before its handler
// runs (a body, a path or a query parameter axum cannot extract), with restate-server's status.
// restate-server writes these as text/plain, which its own CLI cannot parse ("Protocol error:
// expected value at line 1 column 1"); ours carry the message in its JSON error shape, as every
// other admin error does.
func textError(w http.ResponseWriter, status int, msg string) {
	apiError(w, status, "", msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"message":"encode response","restate_code":null}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
