package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// Invocations carries out operations on invocations through the log (the partition router).
type Invocations interface {
	Terminate(ctx context.Context, id ids.InvocationID, kill bool) (statemachine.Outcome, error)
	Purge(ctx context.Context, id ids.InvocationID, journalOnly bool) (statemachine.Outcome, error)
	Pause(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error)
	Resume(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error)
	RestartAsNew(ctx context.Context, id ids.InvocationID, from uint32) (statemachine.Outcome, ids.InvocationID, error)
}

// invocationID reads the path's invocation id, answering 400 in restate-server's words for a
// bad one.
func invocationID(w http.ResponseWriter, r *http.Request) (ids.InvocationID, bool) {
	s := r.PathValue("id")
	id, reason := ids.DecodeInvocationID(s)
	if reason != "" {
		apiError(w, http.StatusBadRequest, "", "The request field 'invocation_id' is invalid. Reason: "+reason)
		return ids.InvocationID{}, false
	}
	return id, true
}

// operation runs op for the path's invocation and answers as restate-server: 200 when done, 202
// when a cancellation was journaled for the handler (or for DELETE), 404 for an unknown id, 409
// for an invocation in the wrong state, 503 when the log could not be reached.
func (h *Handler) operation(w http.ResponseWriter, r *http.Request, op func(context.Context, ids.InvocationID) (statemachine.Outcome, error), notEnded bool) {
	if h.deps.Invocations == nil {
		apiError(w, http.StatusServiceUnavailable, "", "invocation operations are not available on this server")
		return
	}
	id, ok := invocationID(w, r)
	if !ok {
		return
	}
	o, err := op(r.Context(), id)
	if err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, context.Canceled) {
			status = http.StatusRequestTimeout
		}
		apiError(w, status, "", fmt.Sprintf("Error when routing the request internally. Reason: %v", err))
		return
	}
	switch o.Code {
	case statemachine.Applied, statemachine.Duplicate:
		if o.Pending || o.Code == statemachine.Duplicate {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusOK)
	case statemachine.NotFound:
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested invocation '%s' does not exist", id))
	case statemachine.Ended:
		apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' was already completed.", id))
	case statemachine.Invalid:
		if notEnded {
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is not yet completed.", id))
			return
		}
		apiError(w, http.StatusConflict, "", o.Message)
	default:
		apiError(w, http.StatusServiceUnavailable, "", o.Message)
	}
}

func (h *Handler) cancelInvocation(w http.ResponseWriter, r *http.Request) {
	h.operation(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Terminate(ctx, id, false)
	}, false)
}

func (h *Handler) killInvocation(w http.ResponseWriter, r *http.Request) {
	h.operation(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Terminate(ctx, id, true)
	}, false)
}

func (h *Handler) purgeInvocation(w http.ResponseWriter, r *http.Request) {
	h.operation(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Purge(ctx, id, false)
	}, true)
}

func (h *Handler) purgeJournal(w http.ResponseWriter, r *http.Request) {
	h.operation(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Purge(ctx, id, true)
	}, true)
}

// deleteInvocation is the older DELETE /invocations/{id}?mode=cancel|kill|purge: the command is
// proposed and 202 answered whatever its outcome, as restate-server does.
func (h *Handler) deleteInvocation(w http.ResponseWriter, r *http.Request) {
	if h.deps.Invocations == nil {
		apiError(w, http.StatusServiceUnavailable, "", "invocation operations are not available on this server")
		return
	}
	id, ok := invocationID(w, r)
	if !ok {
		return
	}
	var err error
	switch mode := r.URL.Query().Get("mode"); mode {
	case "", "cancel", "Cancel":
		_, err = h.deps.Invocations.Terminate(r.Context(), id, false)
	case "kill", "Kill":
		_, err = h.deps.Invocations.Terminate(r.Context(), id, true)
	case "purge", "Purge":
		_, err = h.deps.Invocations.Purge(r.Context(), id, false)
	default:
		textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to deserialize query string: mode: unknown variant `%s`, expected one of `Cancel`, `cancel`, `Kill`, `kill`, `Purge`, `purge`", mode))
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", "Failed sending invocation termination command to the cluster.")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// pauseInvocation is PATCH /invocations/{id}/pause: 202 when the invocation pauses, 200 when it
// was paused already, 409 when it is not running or suspended, as restate-server.
func (h *Handler) pauseInvocation(w http.ResponseWriter, r *http.Request) {
	h.lifecycleOp(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Pause(ctx, id)
	}, func(w http.ResponseWriter, id ids.InvocationID, o statemachine.Outcome) {
		switch o.Code {
		case statemachine.Applied:
			w.WriteHeader(http.StatusAccepted)
		case statemachine.Duplicate:
			w.WriteHeader(http.StatusOK)
		case statemachine.Invalid:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is not running, cannot be paused.", id))
		default:
			h.unexpected(w, id, o)
		}
	})
}

// resumeInvocation is PATCH /invocations/{id}/resume[?deployment=dp_…]: 200, 409 when it has
// completed, 425 when it has not started (inboxed, scheduled), 400 for an unknown deployment. An
// invocation always runs on its service's current deployment here (deployments are not pinned
// per invocation), so a known deployment id changes nothing.
func (h *Handler) resumeInvocation(w http.ResponseWriter, r *http.Request) {
	if dep := r.URL.Query().Get("deployment"); dep != "" && dep != "latest" && dep != "keep" {
		did, err := ids.ParseDeploymentID(dep)
		if _, known := h.deps.Registry.Deployment(did); err != nil || !known {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The given deployment was not found when trying to resume the invocation '%s'.", r.PathValue("id")))
			return
		}
	}
	h.lifecycleOp(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		return h.deps.Invocations.Resume(ctx, id)
	}, func(w http.ResponseWriter, id ids.InvocationID, o statemachine.Outcome) {
		switch o.Code {
		case statemachine.Applied:
			w.WriteHeader(http.StatusOK)
		case statemachine.Ended:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is completed, cannot be resumed.", id))
		case statemachine.NotStarted:
			apiError(w, http.StatusTooEarly, "", fmt.Sprintf("The invocation '%s' is either inboxed or scheduled, cannot be resumed.", id))
		default:
			h.unexpected(w, id, o)
		}
	})
}

// lifecycleOp runs op for the path's invocation; answer turns its outcome into the response
// (NotFound is answered here).
func (h *Handler) lifecycleOp(w http.ResponseWriter, r *http.Request, op func(context.Context, ids.InvocationID) (statemachine.Outcome, error), answer func(http.ResponseWriter, ids.InvocationID, statemachine.Outcome)) {
	if h.deps.Invocations == nil {
		apiError(w, http.StatusServiceUnavailable, "", "invocation operations are not available on this server")
		return
	}
	id, ok := invocationID(w, r)
	if !ok {
		return
	}
	o, err := op(r.Context(), id)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("Error when routing the request internally. Reason: %v", err))
		return
	}
	if o.Code == statemachine.NotFound {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested invocation '%s' does not exist", id))
		return
	}
	answer(w, id, o)
}

func (h *Handler) unexpected(w http.ResponseWriter, id ids.InvocationID, o statemachine.Outcome) {
	apiError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("invocation '%s': %s", id, o.Message))
}

// restartAsNew is PATCH /invocations/{id}/restart-as-new[?from=N[&deployment=…]]: 200 with the
// new invocation's id, or restate-server's error for each way it cannot be restarted.
func (h *Handler) restartAsNew(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var from uint32
	if f := q.Get("from"); f != "" {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("Invalid query parameter 'from': %v", err))
			return
		}
		from = uint32(n)
	}
	if dep := q.Get("deployment"); dep != "" && !strings.EqualFold(dep, "latest") && !strings.EqualFold(dep, "keep") {
		did, err := ids.ParseDeploymentID(dep)
		if _, known := h.deps.Registry.Deployment(did); err != nil || !known {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The given deployment was not found when trying to restart as new the invocation '%s'.", r.PathValue("id")))
			return
		}
	}
	var newID ids.InvocationID
	h.lifecycleOp(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		o, n, err := h.deps.Invocations.RestartAsNew(ctx, id, from)
		newID = n
		return o, err
	}, func(w http.ResponseWriter, id ids.InvocationID, o statemachine.Outcome) {
		switch {
		case o.Code == statemachine.Applied:
			writeJSON(w, http.StatusOK, map[string]string{"new_invocation_id": newID.String()})
		case o.Code == statemachine.NotStarted:
			apiError(w, http.StatusTooEarly, "", fmt.Sprintf("The invocation '%s' cannot be restarted because it's not running yet.", id))
		case o.Reason == statemachine.ReasonStillRunning:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is still running.", id))
		case o.Reason == statemachine.ReasonUnsupported:
			apiError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("Restarting the invocation '%s' is not supported. Restarting workflows is not supported, and restarting invocations created using the old service protocol.", id))
		case o.Reason == statemachine.ReasonMissingInput:
			apiError(w, http.StatusGone, "", fmt.Sprintf("The invocation '%s' cannot be restarted because the input is not available. This indicates that the journal was already purged, or not retained at all.", id))
		case o.Reason == statemachine.ReasonOutOfRange:
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The given index is out of range of currently stored journal for invocation '%s'.", id))
		case o.Reason == statemachine.ReasonIncompletePrefix:
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The prefix of the journal '%s' up to 'from' (included) contains some Commands without respective Completions.", id))
		default:
			h.unexpected(w, id, o)
		}
	})
}
