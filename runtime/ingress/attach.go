package ingress

import (
	"net/http"
	"strconv"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// Attachment is what attach and output answer from: the invocation's target and, once it has
// ended, its result.
type Attachment struct {
	// Target is the invocation's target; its handler's output rules set the content type.
	Target command.Target
	// Result is nil while the invocation has not ended (Output only: Attach waits for it).
	Result *command.Result
	// EndedAt (ms since the epoch) is when the invocation ended, if it had ended when its status
	// was read; 0 when Attach waited for the end. It dates the idempotency-expires header, which
	// the official ingress sends only in the first case.
	EndedAt int64
	// Retention is the invocation's retention (command.Invocation.Retention; nil for one logged
	// before retention existed).
	Retention *command.Retention
}

// Statuses of the attach and output answers that net/http has no name for.
const statusNotReady = 470

// attach answers GET /restate/invocation/{id}/attach|output, the same by idempotency key, and
// GET /restate/workflow/{name}/{key}/attach|output, as restate-server does: attach waits for the
// invocation's end, output answers now (470 while it runs); a result is answered like the
// original call (200 with the value and the handler's output content type, or the failure's code
// and message from source "invocation"), with the x-restate-id header.
//
// The order of the checks is the official one: the path and the invocation id (400), then the
// method (405, without an Allow header), then the invocation.
func (h *Handler) attach(w http.ResponseWriter, r *http.Request, rt route) *httpError {
	id, herr := attachedID(rt.attach)
	if herr != nil {
		return herr
	}
	if r.Method != http.MethodGet {
		return ingressError(http.StatusMethodNotAllowed, msgMethodNotAllowed)
	}
	return h.attachTo(w, r, id, rt.attach.output)
}

// attachTo answers an attach (output=false) or output request for invocation id.
func (h *Handler) attachTo(w http.ResponseWriter, r *http.Request, id ids.InvocationID, output bool) *httpError {
	if output {
		a, found, err := h.dispatcher.Output(r.Context(), id)
		switch {
		case err != nil:
			return readDispatchError(err)
		case !found:
			return ingressError(http.StatusNotFound, msgInvocationNotFound)
		case a.Result == nil:
			return ingressError(statusNotReady, msgNotReady)
		}
		return h.answerAttached(w, id, a)
	}
	a, found, err := h.dispatcher.Attach(r.Context(), id)
	if err != nil {
		return readDispatchError(err)
	}
	if !found {
		// Unlike output, the official ingress words this as the invocation's own failure.
		w.Header().Set("x-restate-id", id.String())
		return invocationError(http.StatusNotFound, msgNotFound)
	}
	return h.answerAttached(w, id, a)
}

// attachedID is the id of the invocation an attach or output path names. By idempotency key it
// is the id a request with that key got (see invocationID); for a workflow, its run's.
func attachedID(a attachRoute) (ids.InvocationID, *httpError) {
	switch {
	case a.workflow:
		return ids.Workflow(a.service, a.key), nil
	case a.byIdempotencyKey:
		return ids.Idempotent(ids.Target{Service: a.service, Key: a.key, Handler: a.handler}, a.keyed, a.idempotencyKey), nil
	}
	return parseInvocationID(a.id)
}

// answerAttached writes an ended invocation's result.
func (h *Handler) answerAttached(w http.ResponseWriter, id ids.InvocationID, a Attachment) *httpError {
	res := a.Result
	if res.Failure == nil {
		// The content type comes from the handler as registered now; without it, the official
		// ingress answers 404 (and so no x-restate-id).
		svc, ok := h.services.Service(a.Target.Service)
		if !ok {
			return ingressError(http.StatusNotFound, msgNotFound)
		}
		hd, ok := svc.Handler(a.Target.Handler)
		if !ok {
			return ingressError(http.StatusNotFound, msgNotFound)
		}
		if ct := hd.Output.ContentTypeFor(len(res.Value) == 0); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
	}
	w.Header().Set("x-restate-id", id.String())
	if a.EndedAt > 0 {
		w.Header().Set("idempotency-expires", h.expires(a))
	}
	if f := res.Failure; f != nil {
		return failureError(f)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Value)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Value)
	return nil
}

// expires is when an ended invocation is forgotten, written as the official ingress writes it
// ("2026-11-28T15:42:14.265+00:00"): its end plus its completion retention (for one logged before
// retention existed, the idempotency retention of its handler).
func (h *Handler) expires(a Attachment) string {
	var retention time.Duration
	if a.Retention != nil {
		retention = time.Duration(a.Retention.Completion) * time.Millisecond
	} else {
		var t target
		if svc, ok := h.services.Service(a.Target.Service); ok {
			t.service = svc
			t.handler, _ = svc.Handler(a.Target.Handler)
		}
		retention = h.retention(t)
	}
	return time.UnixMilli(a.EndedAt).Add(retention).UTC().Format("2006-01-02T15:04:05.000+00:00")
}

// readDispatchError answers a failed read of an invocation: retrying it is safe.
func readDispatchError(err error) *httpError {
	return ingressError(http.StatusServiceUnavailable, "internal routing error: "+err.Error()+". You may safely retry the request.")
}

// parseInvocationID reads an invocation id from a path and words a bad one as the official
// ingress does ("bad invocation id '…': reason"), checking in its order: empty (bad length), no
// '_' (bad format), the resource type, the codec version, then the partition key and the uuid
// part by part (bad length when a part is short, base62 decode error when it does not decode),
// then nothing left over (bad length).
func parseInvocationID(s string) (ids.InvocationID, *httpError) {
	id, reason := decodeInvocationID(s)
	if reason != "" {
		return ids.InvocationID{}, ingressError(http.StatusBadRequest, "bad invocation id '"+s+"': "+reason)
	}
	return id, nil
}

// decodeInvocationID is ids.DecodeInvocationID (restate-server's wording of a bad id).
var decodeInvocationID = ids.DecodeInvocationID
