package ingress

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
)

// awakeable resolves (the body is the value) or rejects (the body is the failure message, code
// 500) an awakeable, as POST /restate/awakeables/{id}/resolve|reject. The answer is 202 once
// the resolution is in the log, whether or not it takes effect: as with the official server, a
// well-formed id of an invocation that ended or never existed is accepted and dropped.
func (h *Handler) awakeable(w http.ResponseWriter, r *http.Request, rt route) *httpError {
	if r.Method != http.MethodPost {
		e := ingressError(http.StatusMethodNotAllowed, msgMethodNotAllowed)
		e.header = http.Header{"Allow": {"POST"}}
		return e
	}
	raw, err := url.PathUnescape(rt.awakeable)
	if err != nil {
		raw = rt.awakeable
	}
	id, herr := parseAwakeableID(raw)
	if herr != nil {
		return herr
	}
	body, herr := h.readBody(r)
	if herr != nil {
		return herr
	}
	result := command.Result{Value: body}
	if rt.reject {
		result = promises.Rejection(body)
	}
	if sig, ok := promises.Resolution(id, result); ok {
		if err := h.dispatcher.Signal(r.Context(), sig); err != nil {
			return dispatchError(err)
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// parseAwakeableID parses the id and words a bad one as the official ingress does, which reports
// any sign_1 id whose payload does not decode as "id doesn't match the expected type" and an
// empty id as "bad length" (observed with restate-server).
func parseAwakeableID(s string) (promises.AwakeableID, *httpError) {
	id, err := promises.Parse(s)
	if err == nil {
		return id, nil
	}
	var pe *promises.ParseError
	if errors.As(err, &pe) {
		switch {
		case s == "":
			pe.Reason = promises.ErrLength
		case strings.HasPrefix(s, "sign_1") && (errors.Is(err, promises.ErrCodec) || errors.Is(err, promises.ErrLength)):
			pe.Reason = promises.ErrTypeMismatch
		}
	}
	return promises.AwakeableID{}, ingressError(http.StatusBadRequest, err.Error())
}
