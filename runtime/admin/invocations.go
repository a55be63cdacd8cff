package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Invocations carries out operations on invocations through the log (the partition router).
type Invocations interface {
	Terminate(ctx context.Context, id ids.InvocationID, kill bool) (statemachine.Outcome, error)
	Purge(ctx context.Context, id ids.InvocationID, journalOnly bool) (statemachine.Outcome, error)
	Pause(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error)
	// Resume and RestartAsNew take the deployment the operator chose (nil: keep the pinned one
	// on a resume; on a restart, with keep false, none: the first attempt picks the latest).
	Resume(ctx context.Context, id ids.InvocationID, repin *command.Repin) (statemachine.Outcome, error)
	RestartAsNew(ctx context.Context, id ids.InvocationID, from uint32, repin *command.Repin, keep bool) (statemachine.Outcome, ids.InvocationID, error)
	// Status reads an invocation's status record from its partition's tables.
	Status(ctx context.Context, id ids.InvocationID) (storage.InvocationStatus, bool, error)
}

// targetInvocation reads the path's invocation id for an operation, answering 503 when this
// server has no partitions to carry operations out and 400 for a bad id.
func (h *Handler) targetInvocation(w http.ResponseWriter, r *http.Request) (ids.InvocationID, bool) {
	if h.deps.Invocations == nil {
		apiError(w, http.StatusServiceUnavailable, "", "invocation operations are not available on this server")
		return ids.InvocationID{}, false
	}
	return invocationID(w, r)
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
	id, ok := h.targetInvocation(w, r)
	if !ok {
		return
	}
	o, err := op(r.Context(), id)
	if err != nil {
		if refused(w, err) {
			return
		}
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
	id, ok := h.targetInvocation(w, r)
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
		if refused(w, err) {
			return
		}
		apiError(w, http.StatusInternalServerError, "", "Failed sending invocation termination command to the cluster.")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// pauseInvocation is PATCH /invocations/{id}/pause: 202 when the invocation pauses (a running
// one once its attempt has yielded), 200 when it was paused already, 409 when it is not running
// or suspended, as restate-server.
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

// resumeInvocation is PATCH /invocations/{id}/resume[?deployment=keep|latest|dp_…]: 200, 409
// when it has completed or its deployment cannot change (running, or nothing pinned yet), 425 when
// it has not started (inboxed, scheduled), 400 for an unknown deployment or one that does not
// speak the protocol version of the invocation's journal; as restate-server.
func (h *Handler) resumeInvocation(w http.ResponseWriter, r *http.Request) {
	var repin *command.Repin
	h.lifecycleOp(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		rp, _, o, err := h.chooseDeployment(ctx, r.URL.Query().Get("deployment"), "keep", id)
		if o != nil || err != nil {
			return deref(o), err
		}
		repin = rp
		return h.deps.Invocations.Resume(ctx, id, rp)
	}, func(w http.ResponseWriter, id ids.InvocationID, o statemachine.Outcome) {
		switch {
		case o.Code == statemachine.Applied:
			w.WriteHeader(http.StatusOK)
		case o.Code == statemachine.Ended:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is completed, cannot be resumed.", id))
		case o.Code == statemachine.NotStarted:
			apiError(w, http.StatusTooEarly, "", fmt.Sprintf("The invocation '%s' is either inboxed or scheduled, cannot be resumed.", id))
		case o.Reason == reasonDeploymentNotFound:
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The given deployment was not found when trying to resume the invocation '%s'.", id))
		case o.Reason == statemachine.ReasonNotPinned:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is still running or the deployment id is not pinned yet, deployment id cannot be changed.", id))
		case o.Reason == statemachine.ReasonIncompatibleDeployment:
			apiError(w, http.StatusBadRequest, "", h.incompatible(r.Context(), id, repin))
		default:
			h.unexpected(w, id, o)
		}
	})
}

// reasonDeploymentNotFound: the deployment asked for is not registered (answered before
// anything is proposed).
const reasonDeploymentNotFound = "deployment-not-found"

// chooseDeployment resolves a ?deployment= value (keep, latest, or a deployment id; def when
// empty) for invocation id: keep, or the deployment to pin with the protocol versions it speaks.
// An outcome is returned for an unknown invocation or deployment.
func (h *Handler) chooseDeployment(ctx context.Context, value, def string, id ids.InvocationID) (*command.Repin, bool, *statemachine.Outcome, error) {
	if value == "" {
		value = def
	}
	notFound := &statemachine.Outcome{Code: statemachine.Invalid, Reason: reasonDeploymentNotFound}
	var dep registry.Deployment
	switch strings.ToLower(value) {
	case "keep":
		return nil, true, nil, nil
	case "latest":
		st, found, err := h.deps.Invocations.Status(ctx, id)
		if err != nil || !found {
			return nil, false, &statemachine.Outcome{Code: statemachine.NotFound}, err
		}
		svc, ok := h.deps.Registry.Service(st.Invocation.Target.Service)
		if !ok {
			return nil, false, notFound, nil
		}
		if dep, ok = h.deps.Registry.Deployment(svc.DeploymentID); !ok {
			return nil, false, notFound, nil
		}
	default:
		did, err := ids.ParseDeploymentID(value)
		var ok bool
		if err == nil {
			dep, ok = h.deps.Registry.Deployment(did)
		}
		if !ok {
			return nil, false, notFound, nil
		}
	}
	return &command.Repin{Deployment: dep.ID, MinProtocol: dep.MinProtocolVersion, MaxProtocol: dep.MaxProtocolVersion,
		Latest: strings.EqualFold(value, "latest")}, false, nil, nil
}

// incompatible says, in restate-server's words, why a deployment cannot take over id's journal.
func (h *Handler) incompatible(ctx context.Context, id ids.InvocationID, rp *command.Repin) string {
	pinned := 0
	if st, found, err := h.deps.Invocations.Status(ctx, id); err == nil && found && st.Pinned != nil {
		pinned = st.Pinned.Protocol
	}
	var dep string
	var lo, hi int
	if rp != nil {
		dep, lo, hi = rp.Deployment.String(), rp.MinProtocol, rp.MaxProtocol
	}
	return fmt.Sprintf("The invocation '%s' is running on protocol version '%d', while the chosen deployment '%s' supports the range %d..=%d.", id, pinned, dep, lo, hi)
}

func deref(o *statemachine.Outcome) statemachine.Outcome {
	if o == nil {
		return statemachine.Outcome{Code: statemachine.Applied}
	}
	return *o
}

// refusal is an error of a partition that refused the operation before writing anything
// (admission control): the operator may retry it as it is after RetryAfter.
type refusal interface {
	error
	RetryAfter() time.Duration
	Unavailable() bool
}

// refused answers a refusal as the ingress does, 429 (busy) or 503 (the partition cannot run)
// with Retry-After, and reports whether err was one.
func refused(w http.ResponseWriter, err error) bool {
	var r refusal
	if !errors.As(err, &r) {
		return false
	}
	status := http.StatusTooManyRequests
	if r.Unavailable() {
		status = http.StatusServiceUnavailable
	}
	secs := int((r.RetryAfter() + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	apiError(w, status, "", r.Error()+". Nothing was done: the operation can be retried as it is.")
	return true
}

// lifecycleOp runs op for the path's invocation; answer turns its outcome into the response
// (NotFound is answered here).
func (h *Handler) lifecycleOp(w http.ResponseWriter, r *http.Request, op func(context.Context, ids.InvocationID) (statemachine.Outcome, error), answer func(http.ResponseWriter, ids.InvocationID, statemachine.Outcome)) {
	id, ok := h.targetInvocation(w, r)
	if !ok {
		return
	}
	o, err := op(r.Context(), id)
	if err != nil {
		if refused(w, err) {
			return
		}
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
	var newID ids.InvocationID
	var repin *command.Repin
	h.lifecycleOp(w, r, func(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
		rp, keep, o, err := h.chooseDeployment(ctx, q.Get("deployment"), "latest", id)
		if o != nil || err != nil {
			return deref(o), err
		}
		repin = rp
		o2, n, err := h.deps.Invocations.RestartAsNew(ctx, id, from, rp, keep)
		newID = n
		return o2, err
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
		case o.Reason == reasonDeploymentNotFound:
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The given deployment was not found when trying to restart as new the invocation '%s'.", id))
		case o.Reason == statemachine.ReasonNotPinned:
			apiError(w, http.StatusConflict, "", fmt.Sprintf("The invocation '%s' is still running or the deployment id is not pinned yet, deployment id cannot be changed.", id))
		case o.Reason == statemachine.ReasonIncompatibleDeployment:
			apiError(w, http.StatusBadRequest, "", h.incompatible(r.Context(), id, repin))
		default:
			h.unexpected(w, id, o)
		}
	})
}
