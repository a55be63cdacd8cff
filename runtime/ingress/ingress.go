package ingress

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// Dispatcher submits invocations to their partitions; the partition router implements it.
type Dispatcher interface {
	// Send proposes the invocation to its partition and returns once it is durably in the log.
	// previously=true when an invocation with this id already existed (idempotency);
	// executionTime is the execution time (ms since epoch, 0: none) of the invocation that holds
	// the id: the existing one's, or inv's own.
	Send(ctx context.Context, inv command.Invocation) (previously bool, executionTime int64, err error)
	// Call proposes the invocation (or attaches to the existing one with the same id) and waits
	// for its result.
	Call(ctx context.Context, inv command.Invocation) (command.Result, error)
	// Signal proposes a signal (an awakeable's resolution) to its invocation's partition and
	// returns once it is durably in the log; whether it took effect is the state machine's call.
	Signal(ctx context.Context, sig command.Signal) error
	// Attach waits for the invocation id to end and returns its result; found=false when no
	// invocation has that id.
	Attach(ctx context.Context, id ids.InvocationID) (a Attachment, found bool, err error)
	// Output reads the invocation id now: a.Result is nil while it has not ended; found=false
	// when no invocation has that id.
	Output(ctx context.Context, id ids.InvocationID) (a Attachment, found bool, err error)
}

// Services is the registry read view the ingress resolves targets with (*registry.Registry).
type Services interface {
	Service(name string) (registry.Service, bool)
	Services() []registry.Service
}

// DefaultMaxBodySize is the default request body limit.
const DefaultMaxBodySize = 10 << 20

// DefaultIdempotencyRetention is how long a completed idempotent invocation is kept by default;
// it is announced in the idempotency-expires header.
const DefaultIdempotencyRetention = 24 * time.Hour

// Config tunes the ingress. The zero value is usable.
type Config struct {
	// MaxBodySize is the largest accepted request body in bytes (DefaultMaxBodySize if 0).
	MaxBodySize int64
	// IdempotencyRetention is used when the service does not set one (DefaultIdempotencyRetention if 0).
	IdempotencyRetention time.Duration
	// Now is the clock for idempotency-expires (time.Now if nil).
	Now func() time.Time
	// Rand is the entropy for invocation ids (crypto/rand if nil).
	Rand io.Reader
	// Observer, if set, is told of every request answered (metrics).
	Observer Observer
	// Tracer, if set, makes a span per call and send, a child of the request's traceparent, and
	// stores its place in the trace with the invocation (nil: off).
	Tracer *tracing.Tracer
}

// Handler serves the ingress API.
type Handler struct {
	cfg        Config
	services   Services
	dispatcher Dispatcher
}

// New returns the ingress handler.
func New(cfg Config, services Services, d Dispatcher) *Handler {
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = DefaultIdempotencyRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Handler{cfg: cfg, services: services, dispatcher: d}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Observer == nil {
		if err := h.serve(w, r, nil); err != nil {
			writeError(w, err)
		}
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	kind := RouteOther
	if err := h.serve(sw, r, &kind); err != nil {
		writeError(sw, err)
	}
	h.cfg.Observer.ObserveRequest(kind, cmp.Or(sw.status, http.StatusOK), time.Since(start))
}

// serve answers one request; kind, if not nil, is set to the route's kind once it is known.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, kind *RouteKind) *httpError {
	rt, herr := parsePath(r.URL.EscapedPath(), func(name string) (command.ServiceType, bool) {
		s, ok := h.services.Service(name)
		return s.Type, ok
	})
	if herr != nil {
		return herr
	}
	if kind != nil {
		*kind = rt.metricKind()
	}
	switch rt.kind {
	case routeHealth:
		return h.health(w)
	case routeScope:
		return h.scoped(r, rt)
	case routeAwakeable:
		return h.awakeable(w, r, rt)
	case routeAttach:
		return h.attach(w, r, rt)
	case routeByTarget:
		return h.byTarget(w, r, rt)
	case routeLookup:
		return h.lookup(w, r)
	}
	return h.invoke(w, r, rt)
}

func (h *Handler) health(w http.ResponseWriter) *httpError {
	names := []string{}
	for _, s := range h.services.Services() {
		names = append(names, s.Name)
	}
	writeJSON(w, http.StatusOK, map[string][]string{"services": names})
	return nil
}

// target is a resolved invocation target with the rules that apply to it.
type target struct {
	cmd     command.Target
	service registry.Service
	handler registry.Handler
}

func (h *Handler) resolve(rt route) (target, *httpError) {
	svc, ok := h.services.Service(rt.service)
	if !ok {
		return target{}, serviceNotFound(rt.service)
	}
	hd, ok := svc.Handler(rt.handler)
	if !ok {
		return target{}, handlerNotFound(rt.service, rt.handler)
	}
	if svc.Options.IngressPrivate || hd.Options.IngressPrivate {
		return target{}, ingressError(http.StatusBadRequest, msgPrivateService)
	}
	return target{
		cmd:     command.Target{Service: svc.Name, Handler: hd.Name, Key: rt.key, ServiceType: svc.Type, HandlerType: hd.Type},
		service: svc, handler: hd,
	}, nil
}

func (h *Handler) invoke(w http.ResponseWriter, r *http.Request, rt route) *httpError {
	t, herr := h.resolve(rt)
	if herr != nil {
		return herr
	}
	// restate-server reads the idempotency key before it looks at the method.
	idemKey, herr := idempotencyKey(r.Header, t.cmd)
	if herr != nil {
		return herr
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		e := ingressError(http.StatusMethodNotAllowed, msgMethodNotAllowed)
		e.header = http.Header{"Allow": {"GET, POST"}}
		return e
	}
	body, herr := h.readBody(r)
	if herr != nil {
		return herr
	}
	if herr := validateInput(t.handler.Input, r.Header.Get("Content-Type"), body); herr != nil {
		return herr
	}
	delay, delayed, herr := parseDelayQuery(r.URL.RawQuery)
	if herr != nil {
		return herr
	}
	if herr := checkLimitKey(r.Header, r.URL.RawQuery); herr != nil {
		return herr
	}
	headers, herr := forwardHeaders(r.URL.RequestURI(), r.Header)
	if herr != nil {
		return herr
	}
	if delayed && !rt.send {
		return ingressError(http.StatusBadRequest, msgUnsupportedDelay)
	}
	id, err := h.invocationID(t.cmd, idemKey)
	if err != nil {
		return ingressError(http.StatusInternalServerError, err.Error())
	}
	inv := command.Invocation{ID: id, Target: t.cmd, Input: body, Headers: headers, IdempotencyKey: idemKey}
	retention := t.service.Retention(t.handler.Name, idemKey != "")
	inv.Retention = &retention
	if delayed {
		// As restate-server, a delay of zero is an execution time too (now).
		inv.ExecutionTime = h.cfg.Now().Add(delay).UnixMilli()
	}
	span, trace := h.cfg.Tracer.StartIngress(r.Context(), r.Header, id, t.cmd, r.RemoteAddr)
	inv.Trace = trace
	if rt.send {
		herr = h.send(r.Context(), w, inv)
	} else {
		herr = h.call(r.Context(), w, inv, t)
	}
	span.EndHTTP(herr.statusCode())
	return herr
}

func idempotencyKey(hdr http.Header, t command.Target) (string, *httpError) {
	vals := hdr.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", nil
	}
	if !validHeaderValue(vals[0]) {
		return "", badHeader("idempotency-key")
	}
	if len(vals) > 1 || strings.TrimSpace(vals[0]) == "" {
		return "", ingressError(http.StatusBadRequest, "bad header idempotency-key: expected exactly one non-empty value")
	}
	if t.ServiceType == command.Workflow && t.HandlerType == command.WorkflowHandler {
		return "", ingressError(http.StatusBadRequest, msgWorkflowIdemKey)
	}
	return vals[0], nil
}

// readBody reads at most MaxBodySize+1 bytes, so an oversized body is detected without reading
// it all.
func (h *Handler) readBody(r *http.Request) ([]byte, *httpError) {
	limit := h.cfg.MaxBodySize
	tooLarge := ingressError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes", limit))
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, ingressError(http.StatusBadRequest, "cannot read body: "+err.Error())
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// validateInput applies the handler's input rules, then (unlike the official server) checks the
// JSON syntax of application/json bodies, so a malformed body fails here rather than in the
// deployment. Other types, +json ones included, are the deployment's serde's: the official
// TypeScript SDK's e2e services take "ingress-default:{…}" as application/x-ingress-default+json,
// which restate-server passes through.
func validateInput(in registry.Input, contentType string, body []byte) *httpError {
	if err := in.Validate(contentType, body); err != nil {
		return ingressError(http.StatusBadRequest, "input validation error: "+err.Error())
	}
	if len(body) == 0 || !isJSON(contentType) {
		return nil
	}
	var v json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return ingressError(http.StatusBadRequest, fmt.Sprintf("input validation error: invalid JSON body at offset %d: %v", se.Offset, err))
		}
		return ingressError(http.StatusBadRequest, "input validation error: invalid JSON body: "+err.Error())
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json"
}

// dropped are the request headers not forwarded to the handler.
var dropped = map[string]bool{"connection": true, "host": true, "idempotency-key": true, "idempotency-expires": true}

// forwardHeaders builds the handler's input headers: x-restate-ingress-path (path and query)
// first, then the client's headers minus connection, host and the idempotency headers, with
// lower-case names sorted by name (Go's header map has no order) and values in arrival order.
func forwardHeaders(pathAndQuery string, hdr http.Header) ([]command.Header, *httpError) {
	out := make([]command.Header, 0, 1+len(hdr))
	out = append(out, command.Header{Key: "x-restate-ingress-path", Value: pathAndQuery})
	names := make([]string, 0, len(hdr))
	for k := range hdr {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		if dropped[lk] {
			continue
		}
		for _, v := range hdr[k] {
			if !validHeaderValue(v) {
				return nil, badHeader(lk)
			}
			out = append(out, command.Header{Key: lk, Value: v})
		}
	}
	return out, nil
}

// validHeaderValue accepts visible ASCII, space and tab (the http crate's to_str rule).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && (c < 0x20 || c >= 0x7f) {
			return false
		}
	}
	return true
}

func (h *Handler) invocationID(t command.Target, idemKey string) (ids.InvocationID, error) {
	idt := ids.Target{Service: t.Service, Key: t.Key, Handler: t.Handler}
	switch {
	case idemKey != "" && dedupIdempotencyKeys:
		return ids.Idempotent(idt, t.Keyed(), idemKey), nil
	case t.ServiceType == command.Workflow && t.HandlerType == command.WorkflowHandler:
		return ids.Workflow(t.Service, t.Key), nil
	}
	var e [24]byte
	if _, err := io.ReadFull(h.cfg.Rand, e[:]); err != nil {
		return ids.InvocationID{}, fmt.Errorf("invocation id entropy: %w", err)
	}
	pk := ids.PartitionKey(binary.BigEndian.Uint64(e[16:]))
	if t.Keyed() {
		pk = ids.KeyedPartitionKey(t.Service, t.Key)
	}
	return ids.NewInvocationID(pk, [16]byte(e[:16])), nil
}

type sendResponse struct {
	InvocationID  string `json:"invocationId"`
	ExecutionTime string `json:"executionTime,omitempty"`
	Status        string `json:"status"`
}

func (h *Handler) send(ctx context.Context, w http.ResponseWriter, inv command.Invocation) *httpError {
	previously, executionTime, err := h.dispatcher.Send(ctx, inv)
	if err != nil {
		return dispatchError(err)
	}
	status := "Accepted"
	if previously {
		status = "PreviouslyAccepted"
	}
	w.Header().Set("x-restate-id", inv.ID.String())
	resp := sendResponse{InvocationID: inv.ID.String(), Status: status}
	if executionTime > 0 { // a repeated send's is the first send's, as restate-server answers
		resp.ExecutionTime = time.UnixMilli(executionTime).UTC().Format("2006-01-02T15:04:05.000000000Z")
	}
	writeJSON(w, http.StatusAccepted, resp)
	return nil
}

func (h *Handler) call(ctx context.Context, w http.ResponseWriter, inv command.Invocation, t target) *httpError {
	res, err := h.dispatcher.Call(ctx, inv)
	if err != nil {
		return dispatchError(err)
	}
	w.Header().Set("x-restate-id", inv.ID.String())
	if inv.IdempotencyKey != "" {
		w.Header().Set("idempotency-expires", h.cfg.Now().Add(h.retention(t)).UTC().Format(time.RFC3339))
	}
	if res.Failure != nil {
		return failureError(res.Failure)
	}
	if ct := t.handler.Output.ContentTypeFor(len(res.Value) == 0); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Value)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Value)
	return nil
}

// retention is the idempotency retention of the target: handler, then service, then default.
func (h *Handler) retention(t target) time.Duration {
	for _, ms := range []*int64{t.handler.Options.IdempotencyRetention, t.service.Options.IdempotencyRetention} {
		if ms != nil {
			return time.Duration(*ms) * time.Millisecond
		}
	}
	return h.cfg.IdempotencyRetention
}

func dispatchError(err error) *httpError {
	if e := refusedError(err); e != nil {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ingressError(http.StatusServiceUnavailable, "request aborted before the invocation was answered: "+err.Error()+
			". If the request has an 'idempotency-key', it can be safely retried, otherwise submitting it again may result in executing the invocation twice.")
	}
	return ingressError(http.StatusServiceUnavailable, "internal routing error: "+err.Error()+
		". If the request has an 'idempotency-key', it can be safely retried, otherwise submitting it again may result in executing the invocation twice.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
