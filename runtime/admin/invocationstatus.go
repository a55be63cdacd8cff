package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/storage"
)

// AttemptsFunc reports what the invoker knows of a running or retrying invocation
// (invoker.Invoker.Attempts).
type AttemptsFunc func(id ids.InvocationID) (invoker.AttemptInfo, bool)

// invocationStatus is GET /invocations/{id} (ours, until SQL introspection: restate-server
// answers the same questions with SELECT … FROM sys_invocation). Fields carry sys_invocation's
// column names.
type invocationStatus struct {
	ID                           string  `json:"id"`
	Target                       string  `json:"target"`
	TargetServiceName            string  `json:"target_service_name"`
	TargetServiceKey             *string `json:"target_service_key,omitempty"`
	TargetHandlerName            string  `json:"target_handler_name"`
	TargetServiceTy              string  `json:"target_service_ty"`
	IdempotencyKey               *string `json:"idempotency_key,omitempty"`
	InvokedByID                  *string `json:"invoked_by_id,omitempty"`
	Status                       string  `json:"status"`
	CompletionResult             *string `json:"completion_result,omitempty"`
	CompletionFailure            *string `json:"completion_failure,omitempty"`
	RetryCount                   int     `json:"retry_count"`
	NextRetryAt                  *string `json:"next_retry_at,omitempty"`
	LastAttemptDeploymentID      *string `json:"last_attempt_deployment_id,omitempty"`
	LastFailure                  *string `json:"last_failure,omitempty"`
	LastFailureErrorCode         *string `json:"last_failure_error_code,omitempty"`
	PinnedDeploymentID           *string `json:"pinned_deployment_id,omitempty"`
	PinnedServiceProtocolVersion *int    `json:"pinned_service_protocol_version,omitempty"`
	JournalSize                  uint32  `json:"journal_size"`
	JournalCommandsSize          uint32  `json:"journal_commands_size"`
	CreatedAt                    string  `json:"created_at"`
	ModifiedAt                   string  `json:"modified_at"`
	ScheduledAt                  *string `json:"scheduled_at,omitempty"`
}

// getInvocation answers GET /invocations/{id}: the invocation's status record, with what the
// invoker knows of its attempts (count, next retry, last failure) while it runs or retries.
func (h *Handler) getInvocation(w http.ResponseWriter, r *http.Request) {
	id, ok := h.targetInvocation(w, r)
	if !ok {
		return
	}
	st, found, err := h.deps.Invocations.Status(r.Context(), id)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "", "Error when reading the invocation status. Reason: "+err.Error())
		return
	}
	if !found {
		apiError(w, http.StatusNotFound, "", "The requested invocation '"+id.String()+"' does not exist")
		return
	}
	var info *invoker.AttemptInfo
	if h.deps.Attempts != nil && (st.Phase == storage.Running) {
		if a, ok := h.deps.Attempts(id); ok {
			info = &a
		}
	}
	writeJSON(w, http.StatusOK, toInvocationStatus(id, &st, info))
}

func toInvocationStatus(id ids.InvocationID, st *storage.InvocationStatus, info *invoker.AttemptInfo) invocationStatus {
	tg := st.Invocation.Target
	out := invocationStatus{
		ID: id.String(), TargetServiceName: tg.Service, TargetHandlerName: tg.Handler,
		TargetServiceTy:     tg.ServiceType.Ty(),
		Status:              st.Phase.String(),
		JournalSize:         st.JournalLength,
		JournalCommandsSize: st.CommandCount,
		CreatedAt:           millis(st.CreatedAt),
		ModifiedAt:          millis(st.ModifiedAt),
	}
	out.Target = tg.Service + "/" + tg.Handler
	if tg.ServiceType == command.VirtualObject || tg.ServiceType == command.Workflow {
		key := tg.Key
		out.TargetServiceKey = &key
		out.Target = tg.Service + "/" + tg.Key + "/" + tg.Handler
	}
	if k := st.Invocation.IdempotencyKey; k != "" {
		out.IdempotencyKey = &k
	}
	if c := st.Invocation.Caller; c != nil && c.ID != (ids.InvocationID{}) {
		s := c.ID.String()
		out.InvokedByID = &s
	}
	if st.Phase == storage.Scheduled && st.Invocation.ExecutionTime > 0 {
		s := millis(st.Invocation.ExecutionTime)
		out.ScheduledAt = &s
	}
	if p := st.Pinned; p != nil {
		d := p.Deployment.String()
		out.PinnedDeploymentID = &d
		if p.Protocol > 0 {
			v := p.Protocol
			out.PinnedServiceProtocolVersion = &v
		}
	}
	if res := st.Result; st.Phase == storage.Completed && res != nil {
		kind := "success"
		if res.Failure != nil {
			kind = "failure"
			f := "[" + strconv.Itoa(int(res.Failure.Code)) + "] " + res.Failure.Message
			out.CompletionFailure = &f
		}
		out.CompletionResult = &kind
	}
	if f := st.LastFailure; f != nil { // paused after its attempts were exhausted
		msg, code := f.Message, strconv.Itoa(int(f.Code))
		out.LastFailure, out.LastFailureErrorCode = &msg, &code
		out.RetryCount = int(st.Attempts)
	}
	if info != nil {
		out.RetryCount = info.Attempt
		// Backing off once an attempt has failed and the next waits (as sys_invocation: a
		// not-running one before its first attempt is not backing off).
		if !info.Running && info.Attempt > 0 {
			out.Status = "backing-off"
			if !info.NextRetryAt.IsZero() {
				s := info.NextRetryAt.UTC().Format(time.RFC3339Nano)
				out.NextRetryAt = &s
			}
		}
		if info.LastFailure != "" {
			msg := info.LastFailure
			out.LastFailure = &msg
		}
		if info.Deployment != (ids.DeploymentID{}) {
			d := info.Deployment.String()
			out.LastAttemptDeploymentID = &d
		}
	}
	return out
}

func millis(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
