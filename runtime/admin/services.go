package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/resolute-run/resolute/runtime/registry"
)

// ModifyServiceFunc changes a service's settings (registry.Client.ModifyService).
type ModifyServiceFunc func(ctx context.Context, req registry.ModifyServiceRequest) (registry.Service, error)

// modifyServiceRequest is restate-server 1.7's ModifyServiceRequest, plus retry_policy (ours:
// 1.7.12 has no retry policy here and ignores the field). Durations are in jiff's friendly
// format or ISO 8601.
type modifyServiceRequest struct {
	RetryPolicy                 *retryPolicyRequest `json:"retry_policy"`
	Public                      *bool               `json:"public"`
	IdempotencyRetention        *string             `json:"idempotency_retention"`
	WorkflowCompletionRetention *string             `json:"workflow_completion_retention"`
	JournalRetention            *string             `json:"journal_retention"`
	InactivityTimeout           *string             `json:"inactivity_timeout"`
	AbortTimeout                *string             `json:"abort_timeout"`
}

// modifyService answers PATCH /services/{name} as restate-server does: 200 with the service as
// GET /services/{name} shows it, 404 for an unknown service, 400 for a workflow retention of a
// service that is not a workflow, 415/400/422 for a body that is not the JSON wanted.
func (h *Handler) modifyService(w http.ResponseWriter, r *http.Request) {
	if h.deps.ModifyService == nil {
		apiError(w, http.StatusServiceUnavailable, "", "modifying services is not available on this server")
		return
	}
	var body modifyServiceRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	req := registry.ModifyServiceRequest{Service: r.PathValue("name"), Public: body.Public}
	for _, f := range []struct {
		name string
		in   *string
		out  **int64
	}{
		{"idempotency_retention", body.IdempotencyRetention, &req.IdempotencyRetention},
		{"workflow_completion_retention", body.WorkflowCompletionRetention, &req.WorkflowCompletionRetention},
		{"journal_retention", body.JournalRetention, &req.JournalRetention},
		{"inactivity_timeout", body.InactivityTimeout, &req.InactivityTimeout},
		{"abort_timeout", body.AbortTimeout, &req.AbortTimeout},
	} {
		if f.in == nil {
			continue
		}
		d, err := parseDuration(*f.in)
		if err != nil {
			textError(w, http.StatusUnprocessableEntity, fmt.Sprintf(`Failed to deserialize the JSON body into the target type: %s: failed to parse input in the "friendly" duration format: %v`, f.name, err))
			return
		}
		ms := d.Milliseconds()
		*f.out = &ms
	}
	if body.RetryPolicy != nil && !body.RetryPolicy.apply(w, &req) {
		return
	}
	s, err := h.deps.ModifyService(r.Context(), req)
	if err != nil {
		registryError(w, err, "Error when modifying the service")
		return
	}
	writeJSON(w, http.StatusOK, toServiceResponse(s, h.cfg.Policy))
}

// registryError answers a failed proposal: the rejection's status and words, or 503.
func registryError(w http.ResponseWriter, err error, what string) {
	var rej *registry.RejectedError
	if errors.As(err, &rej) {
		apiError(w, rej.Status, rej.Code, rej.Error())
		return
	}
	apiError(w, http.StatusServiceUnavailable, "", what+": "+err.Error())
}

// decodeBody reads a JSON body into v, answering in restate-server's words when it cannot:
// 415 without a JSON content type, 400 for what is not JSON, 422 for JSON of the wrong shape
// (unknown fields are ignored).
func (h *Handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		textError(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Failed to buffer the request body: length limit of %d bytes exceeded", mbe.Limit))
		} else {
			textError(w, http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
		}
		return false
	}
	if msg, ok := jsonSyntax(body); !ok {
		textError(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+msg)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			textError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Failed to deserialize the JSON body into the target type: %s: invalid type: %s, expected %s%s", te.Field, unexpected(body, te), jsonTypeName(te.Type.String()), serdePosition(body, te)))
			return false
		}
		textError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+describeJSONError(err))
		return false
	}
	return true
}

// jsonTypeName names a Go type as serde names what it expected.
func jsonTypeName(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	}
	if strings.HasPrefix(strings.TrimPrefix(goType, "*"), "map[") {
		return "a map"
	}
	return goType
}

// retryPolicyRequest is the service's retry policy as GET /services/{name} shows it; each field
// set replaces the service-level setting.
type retryPolicyRequest struct {
	InitialInterval      *string  `json:"initial_interval"`
	ExponentiationFactor *float64 `json:"exponentiation_factor"`
	MaxAttempts          *int64   `json:"max_attempts"`
	MaxInterval          *string  `json:"max_interval"`
	OnMaxAttempts        *string  `json:"on_max_attempts"`
}

// apply validates p into req, answering 422 itself when a field is wrong.
func (p retryPolicyRequest) apply(w http.ResponseWriter, req *registry.ModifyServiceRequest) bool {
	fail := func(field, why string) bool {
		textError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Failed to deserialize the JSON body into the target type: retry_policy.%s: %s", field, why))
		return false
	}
	for _, f := range []struct {
		name string
		in   *string
		out  **int64
	}{{"initial_interval", p.InitialInterval, &req.RetryInitialInterval}, {"max_interval", p.MaxInterval, &req.RetryMaxInterval}} {
		if f.in == nil {
			continue
		}
		d, err := parseDuration(*f.in)
		if err != nil || d <= 0 {
			return fail(f.name, fmt.Sprintf("want a positive duration, got %q", *f.in))
		}
		ms := d.Milliseconds()
		*f.out = &ms
	}
	if p.ExponentiationFactor != nil && *p.ExponentiationFactor < 1 {
		return fail("exponentiation_factor", fmt.Sprintf("want a number of at least 1, got %v", *p.ExponentiationFactor))
	}
	if p.MaxAttempts != nil && *p.MaxAttempts < 1 {
		return fail("max_attempts", fmt.Sprintf("want at least 1 attempt, got %d", *p.MaxAttempts))
	}
	req.RetryFactor, req.RetryMaxAttempts = p.ExponentiationFactor, p.MaxAttempts
	if p.OnMaxAttempts != nil {
		switch strings.ToLower(*p.OnMaxAttempts) {
		case "pause":
			req.RetryOnMaxAttempts = "PAUSE"
		case "kill":
			req.RetryOnMaxAttempts = "KILL"
		default:
			return fail("on_max_attempts", fmt.Sprintf("unknown variant `%s`, expected `Pause` or `Kill`", *p.OnMaxAttempts))
		}
	}
	return true
}
