package ingress

import (
	"crypto/sha256"
	"net/http"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// restate-server 1.7's newer ingress API, under /restate/ (parse_restate_api_verb there):
//
//	POST|GET /restate/call|send/{service}/[{key}/]{handler}   as /{service}/[{key}/]{handler}[/send]
//	GET      /restate/attach|output/{invocation_id}            as /restate/invocation/{id}/attach|output
//	POST     /restate/attach|output                            the invocation a JSON body names
//	POST     /restate/lookup                                   the id of the invocation a JSON body names
//	POST     /restate/scope/{scope}/call|send/…                scope.go
//
// The body of POST /restate/attach|output|lookup names an invocation as
//
//	{"target":"invocation","invocationId":"inv_…"}
//	{"target":"idempotentInvocation","service":"S","key":"K","handler":"h","idempotencyKey":"…"}  (key for keyed services only)
//	{"target":"workflow","workflowName":"W","workflowKey":"K"}
//
// the last two with an optional "scope" (or, as serde also takes it, as an array: the tag, then
// the fields in restate-server's declaration order, scope first and key after service;
// targetbody.go). Nothing is looked up in the registry (the invocation
// may outlive its service's registration); lookup answers {"invocationId":"inv_…"} whether or
// not an invocation has that id, as restate-server does.

// parseRestateAPIVerb reads what follows /restate/{verb}/ for the verbs of the newer API; segs
// are the segments after the verb.
func parseRestateAPIVerb(verb string, segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	bad := ingressError(http.StatusBadRequest, msgBadRestateAPIPath)
	switch verb {
	case "call", "send":
		return parseCallOrSend(verb, segs, serviceType)
	case "attach", "output":
		switch len(segs) {
		case 0:
			return route{kind: routeByTarget, attach: attachRoute{output: verb == "output"}}, nil
		case 1:
			// The id is checked before the method, as on /restate/invocation/{id}/…
			return route{kind: routeAttach, attach: attachRoute{id: segs[0], output: verb == "output"}}, nil
		}
		return route{}, bad
	case "lookup":
		if len(segs) > 0 {
			return route{}, bad
		}
		return route{kind: routeLookup}, nil
	}
	return route{}, ingressError(http.StatusNotFound, msgNotFound)
}

// parseCallOrSend reads {service}/[{key}/]{handler} after /restate/call|send (or a scope's
// call|send): the service is looked up (404 if unknown) to know whether a key follows; a missing
// handler, a segment after it or another verb is a bad path. Unlike the older paths, a trailing
// /send is not part of it.
func parseCallOrSend(verb string, segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	bad := ingressError(http.StatusBadRequest, msgBadRestateAPIPath)
	if (verb != "call" && verb != "send") || len(segs) == 0 {
		return route{}, bad
	}
	r := route{kind: routeInvoke, service: segs[0], send: verb == "send"}
	ty, ok := serviceType(r.service)
	if !ok {
		return route{}, serviceNotFound(r.service)
	}
	rest := segs[1:]
	if ty == command.VirtualObject || ty == command.Workflow {
		if len(rest) == 0 {
			return route{}, bad
		}
		key, herr := decodeKey(rest[0])
		if herr != nil {
			return route{}, herr
		}
		r.key, r.keyed, rest = key, true, rest[1:]
	}
	if len(rest) != 1 {
		return route{}, bad
	}
	r.handler = rest[0]
	return r, nil
}

// targetRequest is the JSON body of POST /restate/attach|output|lookup (restate-server's
// InvocationTargetRequest, tagged by "target"; see decodeTargetBody).
type targetRequest struct {
	Target string
	// invocation
	invocationID string
	// idempotentInvocation (key only for a keyed service) and workflow, both maybe scoped
	scope, service, key, handler, idempotencyKey string
	hasScope, keyed                              bool
	workflowName, workflowKey                    string
}

// targetID reads the body of POST /restate/attach|output|lookup and returns the id of the
// invocation it names. what words a malformed body ("request" or "lookup"): restate-server
// answers it 500 "cannot read body: invalid {what} body: {serde's message}".
func (h *Handler) targetID(r *http.Request, what string) (ids.InvocationID, *httpError) {
	body, herr := h.readBody(r)
	if herr != nil {
		return ids.InvocationID{}, herr
	}
	tr, msg := decodeTargetBody(body)
	if msg != "" {
		return ids.InvocationID{}, ingressError(http.StatusInternalServerError, "cannot read body: invalid "+what+" body: "+msg)
	}
	if tr.Target == "invocation" {
		return parseInvocationID(tr.invocationID)
	}
	if tr.hasScope {
		if reason := invalidScopeKey(tr.scope); reason != "" {
			return ids.InvocationID{}, ingressError(http.StatusBadRequest, "bad scope value: "+reason)
		}
	}
	switch {
	case tr.Target == "workflow" && tr.hasScope:
		return scopedID(tr.scope, "wf", tr.workflowName, tr.workflowKey, "", "", true), nil
	case tr.Target == "workflow":
		return ids.Workflow(tr.workflowName, tr.workflowKey), nil
	case tr.hasScope:
		return scopedID(tr.scope, "ik", tr.service, tr.key, tr.handler, tr.idempotencyKey, tr.keyed), nil
	}
	return ids.Idempotent(ids.Target{Service: tr.service, Key: tr.key, Handler: tr.handler}, tr.keyed, tr.idempotencyKey), nil
}

// scopedID is the id a scoped idempotent invocation or workflow run would have. Scoped
// invocations need restate-server's vqueues, which Resolute does not have (scope.go): no
// invocation has such an id, but lookup answers one, distinct from the unscoped target's, as
// restate-server does.
func scopedID(scope, kind, service, key, handler, idempotencyKey string, keyed bool) ids.InvocationID {
	h := sha256.New()
	for _, s := range []string{"scoped", kind, scope, service, key, handler, idempotencyKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var e [16]byte
	copy(e[:], h.Sum(nil))
	pk := ids.HashPartitionKey(idempotencyKey)
	if keyed {
		pk = ids.KeyedPartitionKey(service, key)
	}
	return ids.NewInvocationID(pk, e)
}

// byTarget answers POST /restate/attach|output as restate-server does: the method (405), then the
// body, then the invocation it names, answered as GET /restate/attach|output/{id}.
func (h *Handler) byTarget(w http.ResponseWriter, r *http.Request, rt route) *httpError {
	if r.Method != http.MethodPost {
		return ingressError(http.StatusMethodNotAllowed, msgMethodNotAllowed)
	}
	id, herr := h.targetID(r, "request")
	if herr != nil {
		return herr
	}
	return h.attachTo(w, r, id, rt.attach.output)
}

// lookup answers POST /restate/lookup: the id of the invocation the body names, whether or not
// there is one.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) *httpError {
	if r.Method != http.MethodPost {
		return ingressError(http.StatusMethodNotAllowed, msgMethodNotAllowed)
	}
	id, herr := h.targetID(r, "lookup")
	if herr != nil {
		return herr
	}
	writeJSON(w, http.StatusOK, struct {
		InvocationID string `json:"invocationId"`
	}{id.String()})
	return nil
}
