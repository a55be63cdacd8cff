package ingress

import (
	"net/http"
	"net/url"

	"github.com/resolute-run/resolute/runtime/command"
)

// Scopes (POST /restate/scope/{scope}/call|send/{service}/[{key}/]{handler}) are restate-server
// 1.7's flow control, which runs on its vqueues: experimental, off unless enabled on a new
// cluster, and absent here. The official TS ingress client calls them through ingress.scope(…).
// Resolute answers them as restate-server with vqueues off does: the path, the target and the
// request's idempotency key and scope are checked as there, then the invocation is refused.

// parseScopePath reads what follows /restate/scope/. The target is looked up (404 for an unknown
// service) to know whether a key follows; a malformed path is refused in the words of
// restate-server's newer ingress API.
func parseScopePath(segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	bad := ingressError(http.StatusBadRequest, msgBadRestateAPIPath)
	if len(segs) < 3 || (segs[1] != "call" && segs[1] != "send") {
		return route{}, bad
	}
	scope, err := url.PathUnescape(segs[0])
	if err != nil {
		scope = segs[0]
	}
	r, herr := parseCallOrSend(segs[1], segs[2:], serviceType)
	if herr != nil {
		return route{}, herr
	}
	r.kind, r.scope = routeScope, scope
	return r, nil
}

// scoped answers a scoped call or send: the handler must exist, the idempotency key be readable
// and allowed for the target, and the scope valid, and then it is refused, as restate-server
// refuses it without vqueues (whatever the method or the body).
func (h *Handler) scoped(r *http.Request, rt route) *httpError {
	t, herr := h.resolve(rt)
	if herr != nil {
		return herr
	}
	if vals := r.Header.Values("Idempotency-Key"); len(vals) > 0 {
		if !validHeaderValue(vals[0]) {
			return badHeader("idempotency-key")
		}
		if t.cmd.ServiceType == command.Workflow && t.cmd.HandlerType == command.WorkflowHandler {
			return ingressError(http.StatusBadRequest, msgWorkflowIdemKey)
		}
	}
	if reason := invalidScopeKey(rt.scope); reason != "" {
		return ingressError(http.StatusBadRequest, "bad scope value: "+reason)
	}
	return ingressError(http.StatusBadRequest, msgScopeNeedsVQueues)
}
