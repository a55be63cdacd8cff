package admin

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/registry"
)

// Retentions shown for services that do not override them (the official server's defaults).
// Retry policies and timeouts are not defaults of the admin API's own: they are the invoker's
// (Config.Policy), shown as applied.
const (
	defaultIdempotencyRetention = 24 * time.Hour
	defaultJournalRetention     = 24 * time.Hour
)

type versionResponse struct {
	Version            string          `json:"version"`
	MinAdminAPIVersion int             `json:"min_admin_api_version"`
	MaxAdminAPIVersion int             `json:"max_admin_api_version"`
	IngressEndpoint    string          `json:"ingress_endpoint,omitempty"`
	Features           map[string]bool `json:"features"`
}

type registerResponse struct {
	ID                 string            `json:"id"`
	Services           []serviceResponse `json:"services"`
	MinProtocolVersion int               `json:"min_protocol_version"`
	MaxProtocolVersion int               `json:"max_protocol_version"`
	SDKVersion         *string           `json:"sdk_version"`
}

type serviceNameRevision struct {
	Name     string `json:"name"`
	Revision uint32 `json:"revision"`
}

type deploymentFields struct {
	ID                 string            `json:"id"`
	URI                string            `json:"uri"`
	ProtocolType       string            `json:"protocol_type"`
	HTTPVersion        string            `json:"http_version"`
	AdditionalHeaders  map[string]string `json:"additional_headers"`
	CreatedAt          string            `json:"created_at"`
	MinProtocolVersion int               `json:"min_protocol_version"`
	MaxProtocolVersion int               `json:"max_protocol_version"`
	SDKVersion         *string           `json:"sdk_version"`
}

type deploymentResponse struct {
	deploymentFields
	Services []serviceNameRevision `json:"services"`
}

type detailedDeploymentResponse struct {
	deploymentFields
	Services []serviceResponse `json:"services"`
}

type deploymentsResponse struct {
	Deployments []deploymentResponse `json:"deployments"`
}

type retryPolicy struct {
	InitialInterval      *string  `json:"initial_interval"`
	ExponentiationFactor *float64 `json:"exponentiation_factor"`
	MaxAttempts          *int64   `json:"max_attempts"`
	MaxInterval          *string  `json:"max_interval"`
	OnMaxAttempts        *string  `json:"on_max_attempts"`
}

type serviceResponse struct {
	Name                        string            `json:"name"`
	Ty                          string            `json:"ty"`
	Handlers                    []handlerResponse `json:"handlers"`
	DeploymentID                string            `json:"deployment_id"`
	Revision                    uint32            `json:"revision"`
	Public                      bool              `json:"public"`
	Documentation               string            `json:"documentation,omitempty"`
	Metadata                    map[string]string `json:"metadata,omitempty"`
	IdempotencyRetention        string            `json:"idempotency_retention"`
	WorkflowCompletionRetention string            `json:"workflow_completion_retention,omitempty"`
	JournalRetention            string            `json:"journal_retention"`
	InactivityTimeout           string            `json:"inactivity_timeout"`
	AbortTimeout                string            `json:"abort_timeout"`
	EnableLazyState             bool              `json:"enable_lazy_state"`
	RetryPolicy                 retryPolicy       `json:"retry_policy"`
}

type servicesResponse struct {
	Services []serviceResponse `json:"services"`
}

type handlerResponse struct {
	Name                        string            `json:"name"`
	Ty                          string            `json:"ty,omitempty"`
	Documentation               string            `json:"documentation,omitempty"`
	Metadata                    map[string]string `json:"metadata,omitempty"`
	IdempotencyRetention        string            `json:"idempotency_retention,omitempty"`
	WorkflowCompletionRetention string            `json:"workflow_completion_retention,omitempty"`
	JournalRetention            string            `json:"journal_retention,omitempty"`
	InactivityTimeout           string            `json:"inactivity_timeout,omitempty"`
	AbortTimeout                string            `json:"abort_timeout,omitempty"`
	EnableLazyState             *bool             `json:"enable_lazy_state,omitempty"`
	Public                      bool              `json:"public"`
	InputDescription            string            `json:"input_description"`
	OutputDescription           string            `json:"output_description"`
	InputJSONSchema             json.RawMessage   `json:"input_json_schema,omitempty"`
	OutputJSONSchema            json.RawMessage   `json:"output_json_schema,omitempty"`
	RetryPolicy                 retryPolicy       `json:"retry_policy"`
}

type handlersResponse struct {
	Handlers []handlerResponse `json:"handlers"`
}

func toRegisterResponse(d registry.Deployment, def invoker.Policy) registerResponse {
	out := registerResponse{
		ID: d.ID.String(), Services: make([]serviceResponse, 0, len(d.Services)),
		MinProtocolVersion: d.MinProtocolVersion, MaxProtocolVersion: d.MaxProtocolVersion, SDKVersion: optString(d.SDKVersion),
	}
	for _, s := range d.Services {
		out.Services = append(out.Services, toServiceResponse(s, def))
	}
	return out
}

func toDeploymentFields(d registry.Deployment) deploymentFields {
	f := deploymentFields{
		ID: d.ID.String(), URI: d.URI, ProtocolType: "BidiStream", HTTPVersion: "HTTP/2.0",
		AdditionalHeaders:  map[string]string{},
		CreatedAt:          time.UnixMilli(d.CreatedAt).UTC().Format("2006-01-02T15:04:05.000Z"),
		MinProtocolVersion: d.MinProtocolVersion, MaxProtocolVersion: d.MaxProtocolVersion, SDKVersion: optString(d.SDKVersion),
	}
	if d.ProtocolMode == "REQUEST_RESPONSE" {
		f.ProtocolType = "RequestResponse"
	}
	if d.UseHTTP11 {
		f.HTTPVersion = "HTTP/1.1"
	}
	for _, h := range d.AdditionalHeaders {
		f.AdditionalHeaders[h.Name] = h.Value
	}
	return f
}

func toDeploymentResponse(d registry.Deployment) deploymentResponse {
	out := deploymentResponse{deploymentFields: toDeploymentFields(d), Services: make([]serviceNameRevision, 0, len(d.Services))}
	for _, s := range d.Services {
		out.Services = append(out.Services, serviceNameRevision{Name: s.Name, Revision: s.Revision})
	}
	return out
}

func toDetailedDeploymentResponse(d registry.Deployment, def invoker.Policy) detailedDeploymentResponse {
	out := detailedDeploymentResponse{deploymentFields: toDeploymentFields(d), Services: make([]serviceResponse, 0, len(d.Services))}
	for _, s := range d.Services {
		out.Services = append(out.Services, toServiceResponse(s, def))
	}
	return out
}

func toServiceResponse(s registry.Service, def invoker.Policy) serviceResponse {
	o := s.Options
	pol := def.Override(invoker.ServiceOverrides(s, ""))
	out := serviceResponse{
		Name: s.Name, Ty: serviceTypeName(s.Type), Handlers: make([]handlerResponse, 0, len(s.Handlers)),
		DeploymentID: s.DeploymentID.String(), Revision: s.Revision, Public: !o.IngressPrivate,
		Documentation: o.Documentation, Metadata: o.Metadata,
		IdempotencyRetention: durationOr(o.IdempotencyRetention, defaultIdempotencyRetention),
		JournalRetention:     durationOr(o.JournalRetention, defaultJournalRetention),
		InactivityTimeout:    formatDuration(pol.InactivityTimeout),
		AbortTimeout:         formatDuration(pol.AbortTimeout),
		EnableLazyState:      o.EnableLazyState != nil && *o.EnableLazyState,
		RetryPolicy:          serviceRetryPolicy(pol.Retry),
	}
	if s.Type == command.Workflow {
		out.WorkflowCompletionRetention = formatDuration(defaultIdempotencyRetention)
		for _, h := range s.Handlers {
			if h.Type == command.WorkflowHandler && h.Options.WorkflowCompletionRetention != nil {
				out.WorkflowCompletionRetention = formatMillis(*h.Options.WorkflowCompletionRetention)
			}
		}
	}
	for _, h := range s.Handlers {
		out.Handlers = append(out.Handlers, toHandlerResponse(s, h, def))
	}
	return out
}

// onMaxAttempts is restate's name of what happens when the attempts are exhausted.
func onMaxAttempts(o invoker.OnMaxAttempts) *string {
	if o == invoker.OnMaxAttemptsKill {
		return optString("Kill")
	}
	return optString("Pause")
}

// serviceRetryPolicy shows a service's retry policy as the invoker applies it. A null
// max_attempts means unlimited; on exhaustion the invoker pauses ("Pause") or fails ("Kill").
func serviceRetryPolicy(r invoker.RetryPolicy) retryPolicy {
	f := r.Factor
	p := retryPolicy{
		InitialInterval: optString(formatDuration(r.InitialInterval)), ExponentiationFactor: &f,
		MaxInterval: optString(formatDuration(r.MaxInterval)), OnMaxAttempts: onMaxAttempts(r.OnMaxAttempts),
	}
	if r.MaxAttempts > 0 {
		n := int64(r.MaxAttempts)
		p.MaxAttempts = &n
	}
	return p
}

// handlerRetryPolicy shows, as Restate does, only what differs for the handler from its
// service (nulls otherwise), with the values the invoker applies.
func handlerRetryPolicy(h, svc invoker.RetryPolicy) retryPolicy {
	var p retryPolicy
	if h.InitialInterval != svc.InitialInterval {
		p.InitialInterval = optString(formatDuration(h.InitialInterval))
	}
	if h.Factor != svc.Factor {
		f := h.Factor
		p.ExponentiationFactor = &f
	}
	if h.MaxInterval != svc.MaxInterval {
		p.MaxInterval = optString(formatDuration(h.MaxInterval))
	}
	if h.MaxAttempts != svc.MaxAttempts && h.MaxAttempts > 0 {
		n := int64(h.MaxAttempts)
		p.MaxAttempts = &n
	}
	if h.OnMaxAttempts != svc.OnMaxAttempts {
		p.OnMaxAttempts = onMaxAttempts(h.OnMaxAttempts)
	}
	return p
}

func toHandlerResponse(s registry.Service, h registry.Handler, def invoker.Policy) handlerResponse {
	o := h.Options
	svc := def.Override(invoker.ServiceOverrides(s, ""))
	pol := def.Override(invoker.ServiceOverrides(s, h.Name))
	out := handlerResponse{
		Name: h.Name, Ty: handlerTypeName(h.Type), Documentation: o.Documentation, Metadata: o.Metadata,
		IdempotencyRetention: optMillis(o.IdempotencyRetention), WorkflowCompletionRetention: optMillis(o.WorkflowCompletionRetention),
		JournalRetention: optMillis(o.JournalRetention), InactivityTimeout: optDiff(pol.InactivityTimeout, svc.InactivityTimeout),
		AbortTimeout: optDiff(pol.AbortTimeout, svc.AbortTimeout), EnableLazyState: o.EnableLazyState,
		Public:           !s.Options.IngressPrivate && !o.IngressPrivate,
		InputDescription: inputDescription(h.Input), OutputDescription: outputDescription(h.Output),
		InputJSONSchema: validJSON(h.Input.JSONSchema), OutputJSONSchema: validJSON(h.Output.JSONSchema),
		RetryPolicy: handlerRetryPolicy(pol.Retry, svc.Retry),
	}
	return out
}

// inputDescription mirrors the official server's rendering of input rules.
func inputDescription(in registry.Input) string {
	if in.ContentType == "" {
		return "none"
	}
	if d, ok := schemaDescription(in.JSONSchema); ok {
		return d
	}
	return in.ContentType
}

func outputDescription(o registry.Output) string {
	if o.ContentType == "" {
		return "none"
	}
	if d, ok := schemaDescription(o.JSONSchema); ok {
		return d
	}
	if o.SetContentTypeIfEmpty {
		return "optional " + o.ContentType
	}
	return o.ContentType
}

func schemaDescription(schema []byte) (string, bool) {
	var s struct {
		Title any `json:"title"`
		Type  any `json:"type"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return "", false
	}
	if t, ok := s.Title.(string); ok {
		return "JSON '" + t + "'", true
	}
	if t, ok := s.Type.(string); ok {
		return "JSON " + t, true
	}
	return "", false
}

func validJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return b
}

func serviceTypeName(t command.ServiceType) string {
	switch t {
	case command.VirtualObject:
		return "VirtualObject"
	case command.Workflow:
		return "Workflow"
	}
	return "Service"
}

func handlerTypeName(t command.HandlerType) string {
	switch t {
	case command.Exclusive:
		return "Exclusive"
	case command.Shared:
		return "Shared"
	case command.WorkflowHandler:
		return "Workflow"
	}
	return ""
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optMillis(ms *int64) string {
	if ms == nil {
		return ""
	}
	return formatMillis(*ms)
}

// optDiff shows a handler's duration only where it differs from its service's.
func optDiff(handler, service time.Duration) string {
	if handler == service {
		return ""
	}
	return formatDuration(handler)
}

func durationOr(ms *int64, def time.Duration) string {
	if ms == nil {
		return formatDuration(def)
	}
	return formatMillis(*ms)
}

func formatMillis(ms int64) string { return formatDuration(time.Duration(ms) * time.Millisecond) }

// formatDuration renders a duration the way the official admin API does: "1d", "1m", "10m",
// "500ms", "1h 30m"; "0s" for zero.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var parts []string
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.d
		}
	}
	if len(parts) == 0 {
		return "0s"
	}
	return strings.Join(parts, " ")
}
