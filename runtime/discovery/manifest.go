package discovery

import (
	"encoding/json"
)

// ProtocolMode says how the runtime talks to a deployment.
type ProtocolMode string

// Protocol modes.
const (
	BidiStream      ProtocolMode = "BIDI_STREAM"
	RequestResponse ProtocolMode = "REQUEST_RESPONSE"
)

// ServiceType is the manifest's service type.
type ServiceType string

// Service types as the manifest spells them.
const (
	PlainService  ServiceType = "SERVICE"
	VirtualObject ServiceType = "VIRTUAL_OBJECT"
	Workflow      ServiceType = "WORKFLOW"
)

// HandlerType is the manifest's handler type; empty for the handlers of plain services.
type HandlerType string

// Handler types as the manifest spells them.
const (
	Exclusive       HandlerType = "EXCLUSIVE"
	Shared          HandlerType = "SHARED"
	WorkflowHandler HandlerType = "WORKFLOW"
)

// Manifest is a deployment's endpoint manifest.
type Manifest struct {
	ProtocolMode       ProtocolMode `json:"protocolMode,omitempty"`
	MinProtocolVersion int          `json:"minProtocolVersion"`
	MaxProtocolVersion int          `json:"maxProtocolVersion"`
	LambdaCompression  string       `json:"lambdaCompression,omitempty"`
	Services           []Service    `json:"services"`

	// Version is the manifest version (1..4) read from the response content type.
	Version int `json:"-"`
	// SDKVersion is the deployment's x-restate-server response header, if any.
	SDKVersion string `json:"-"`
}

// Options are the per-service and per-handler settings; durations are milliseconds.
type Options struct {
	Documentation                   string            `json:"documentation,omitempty"`
	Metadata                        map[string]string `json:"metadata,omitempty"`
	InactivityTimeout               *int64            `json:"inactivityTimeout,omitempty"`
	AbortTimeout                    *int64            `json:"abortTimeout,omitempty"`
	JournalRetention                *int64            `json:"journalRetention,omitempty"`
	IdempotencyRetention            *int64            `json:"idempotencyRetention,omitempty"`
	EnableLazyState                 *bool             `json:"enableLazyState,omitempty"`
	IngressPrivate                  *bool             `json:"ingressPrivate,omitempty"`
	RetryPolicyInitialInterval      *int64            `json:"retryPolicyInitialInterval,omitempty"`
	RetryPolicyMaxInterval          *int64            `json:"retryPolicyMaxInterval,omitempty"`
	RetryPolicyMaxAttempts          *int64            `json:"retryPolicyMaxAttempts,omitempty"`
	RetryPolicyExponentiationFactor *float64          `json:"retryPolicyExponentiationFactor,omitempty"`
	RetryPolicyOnMaxAttempts        string            `json:"retryPolicyOnMaxAttempts,omitempty"`
}

// Service is one service of a manifest.
type Service struct {
	Name     string      `json:"name"`
	Ty       ServiceType `json:"ty"`
	Handlers []Handler   `json:"handlers"`
	Options
}

// Handler is one handler of a service.
type Handler struct {
	Name string      `json:"name"`
	Ty   HandlerType `json:"ty,omitempty"`
	// Input is nil when the manifest omits it: then any body is accepted (Restate's default
	// {"contentType":"*/*","required":false}).
	Input *InputPayload `json:"input,omitempty"`
	// Output is nil when the manifest omits it: then the output is application/json.
	Output                      *OutputPayload `json:"output,omitempty"`
	WorkflowCompletionRetention *int64         `json:"workflowCompletionRetention,omitempty"`
	Options
}

// InputPayload describes what a handler accepts. ContentType nil means "no body".
type InputPayload struct {
	Required    bool            `json:"required,omitempty"`
	ContentType *string         `json:"contentType,omitempty"`
	JSONSchema  json.RawMessage `json:"jsonSchema,omitempty"`
}

// OutputPayload describes what a handler returns. ContentType nil means no content type is set.
type OutputPayload struct {
	ContentType           *string         `json:"contentType,omitempty"`
	SetContentTypeIfEmpty bool            `json:"setContentTypeIfEmpty,omitempty"`
	JSONSchema            json.RawMessage `json:"jsonSchema,omitempty"`
}

// EffectiveType is the handler's type with the defaults the official server applies: EXCLUSIVE for
// Virtual Objects, SHARED for Workflows, empty for plain services (whose handlers may be marked
// SHARED, which changes nothing). ok is false for an invalid combination.
func (h Handler) EffectiveType(svc ServiceType) (t HandlerType, ok bool) {
	switch {
	case svc == PlainService && (h.Ty == "" || h.Ty == Shared):
		return "", true
	case svc == VirtualObject && (h.Ty == "" || h.Ty == Exclusive):
		return Exclusive, true
	case svc == VirtualObject && h.Ty == Shared:
		return Shared, true
	case svc == Workflow && (h.Ty == "" || h.Ty == Shared):
		return Shared, true
	case svc == Workflow && h.Ty == WorkflowHandler:
		return WorkflowHandler, true
	}
	return "", false
}
