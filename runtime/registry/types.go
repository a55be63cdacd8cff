package registry

import (
	"mime"
	"slices"
	"strings"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// Header is one additional header sent to a deployment.
type Header struct {
	Name  string `msgpack:"n"`
	Value string `msgpack:"v"`
}

// Deployment is a registered endpoint.
type Deployment struct {
	ID ids.DeploymentID `msgpack:"id"`
	// URI is normalised with a trailing "/".
	URI                string   `msgpack:"u"`
	ProtocolMode       string   `msgpack:"pm"`
	MinProtocolVersion int      `msgpack:"min"`
	MaxProtocolVersion int      `msgpack:"max"`
	UseHTTP11          bool     `msgpack:"h11,omitempty"`
	AdditionalHeaders  []Header `msgpack:"ah,omitempty"`
	// SDKVersion is the x-restate-server header of the discovery response.
	SDKVersion string `msgpack:"sdk,omitempty"`
	// CreatedAt is the proposer's clock, ms since the Unix epoch.
	CreatedAt int64 `msgpack:"ca"`
	// Services are the service definitions this deployment exposes, as registered, sorted by name.
	// Revision and DeploymentID in them are the ones assigned when this deployment registered.
	Services []Service `msgpack:"s"`
}

// Service is one service definition.
type Service struct {
	Name         string              `msgpack:"n"`
	Type         command.ServiceType `msgpack:"t"`
	Handlers     []Handler           `msgpack:"h"` // sorted by name
	DeploymentID ids.DeploymentID    `msgpack:"d"`
	Revision     uint32              `msgpack:"r"`
	Options      Options             `msgpack:"o"`
}

// Options are service or handler settings from the manifest; nil means "runtime default".
// Durations are milliseconds.
type Options struct {
	Documentation                   string            `msgpack:"doc,omitempty"`
	Metadata                        map[string]string `msgpack:"md,omitempty"`
	InactivityTimeout               *int64            `msgpack:"it,omitempty"`
	AbortTimeout                    *int64            `msgpack:"at,omitempty"`
	JournalRetention                *int64            `msgpack:"jr,omitempty"`
	IdempotencyRetention            *int64            `msgpack:"ir,omitempty"`
	WorkflowCompletionRetention     *int64            `msgpack:"wr,omitempty"`
	EnableLazyState                 *bool             `msgpack:"ls,omitempty"`
	IngressPrivate                  bool              `msgpack:"ip,omitempty"`
	RetryPolicyInitialInterval      *int64            `msgpack:"rii,omitempty"`
	RetryPolicyMaxInterval          *int64            `msgpack:"rmi,omitempty"`
	RetryPolicyMaxAttempts          *int64            `msgpack:"rma,omitempty"`
	RetryPolicyExponentiationFactor *float64          `msgpack:"ref,omitempty"`
	RetryPolicyOnMaxAttempts        string            `msgpack:"roma,omitempty"`
}

// Handler is one handler of a service.
type Handler struct {
	Name    string              `msgpack:"n"`
	Type    command.HandlerType `msgpack:"t,omitempty"`
	Input   Input               `msgpack:"i"`
	Output  Output              `msgpack:"o"`
	Options Options             `msgpack:"op"`
}

// Default retentions, as restate-server 1.7 (milliseconds): how long an ended invocation's
// journal, an idempotent invocation's result and a workflow's result, state and promises are kept
// when the manifest does not say.
const (
	DefaultJournalRetentionMillis     = 24 * 60 * 60 * 1000
	DefaultIdempotencyRetentionMillis = 24 * 60 * 60 * 1000
	DefaultWorkflowRetentionMillis    = 24 * 60 * 60 * 1000
)

// firstSet returns the first non-nil value, or def.
func firstSet(def int64, vals ...*int64) int64 {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return def
}

// Retention is how long an ended invocation of handler is kept, by restate-server's rules
// (compute_retention): a workflow's run keeps its result for the workflow retention and an
// idempotent request for the idempotency retention, with the journal kept for the journal
// retention but never longer; any other invocation is kept for the journal retention. The
// handler's settings override the service's, which override the defaults.
func (s Service) Retention(handler string, idempotent bool) command.Retention {
	h, _ := s.Handler(handler)
	journal := firstSet(DefaultJournalRetentionMillis, h.Options.JournalRetention, s.Options.JournalRetention)
	completion := journal
	switch {
	case s.Type == command.Workflow && h.Type == command.WorkflowHandler:
		completion = firstSet(DefaultWorkflowRetentionMillis, h.Options.WorkflowCompletionRetention, s.Options.WorkflowCompletionRetention)
	case idempotent:
		completion = firstSet(DefaultIdempotencyRetentionMillis, h.Options.IdempotencyRetention, s.Options.IdempotencyRetention)
	default:
		return command.Retention{Completion: journal, Journal: journal}
	}
	return command.Retention{Completion: completion, Journal: min(journal, completion)}
}

// Input says what a handler accepts (the manifest's input; a missing input means
// {Required:false, ContentType:"*/*"}).
type Input struct {
	// Required: a body with a content type must be sent.
	Required bool `msgpack:"r,omitempty"`
	// ContentType is a pattern ("*/*", "type/*", "type/subtype"); empty means no body accepted.
	ContentType string `msgpack:"ct,omitempty"`
	JSONSchema  []byte `msgpack:"js,omitempty"`
}

// Output says what a handler returns.
type Output struct {
	// ContentType is set on non-empty output; empty means none.
	ContentType           string `msgpack:"ct,omitempty"`
	SetContentTypeIfEmpty bool   `msgpack:"se,omitempty"`
	JSONSchema            []byte `msgpack:"js,omitempty"`
}

// Handler returns the named handler.
func (s Service) Handler(name string) (Handler, bool) {
	i, ok := slices.BinarySearchFunc(s.Handlers, name, func(h Handler, n string) int { return strings.Compare(h.Name, n) })
	if !ok {
		return Handler{}, false
	}
	return s.Handlers[i], true
}

// ContentTypeFor is the content type of a response whose body is empty or not; "" means none.
func (o Output) ContentTypeFor(empty bool) string {
	if empty && !o.SetContentTypeIfEmpty {
		return ""
	}
	return o.ContentType
}

// InputError is an input validation failure; its message follows the official server's.
type InputError struct{ Message string }

func (e *InputError) Error() string { return e.Message }

// Validate checks a request's content type (empty when absent) and body against the rules, as
// the official ingress does: a body must be empty when not accepted, a content type must match
// the pattern, and a JSON-schema input must not be empty.
func (in Input) Validate(contentType string, body []byte) error {
	var err error
	if !in.Required {
		if len(body) == 0 && contentType == "" {
			return nil
		}
		err = &InputError{Message: "Expected body and content-type to be empty, but wasn't with content-type '" + quoteOpt(contentType) + "'"}
	}
	if in.ContentType == "" {
		if err == nil { // required with no content type: a manifest we never produce
			err = &InputError{Message: "Bad configuration of the input validation rules"}
		}
		return err
	}
	if contentType == "" {
		return &InputError{Message: "Empty content-type"}
	}
	if !matchContentType(in.ContentType, contentType) {
		return &InputError{Message: "Content-type '" + contentType + "' does not match '" + in.ContentType + "'"}
	}
	if in.JSONSchema != nil && len(body) == 0 {
		return &InputError{Message: "Empty body not allowed"}
	}
	return nil
}

func quoteOpt(ct string) string {
	if ct == "" {
		return "None"
	}
	return `Some("` + ct + `")`
}

// matchContentType matches a request content type against a pattern "*/*", "t/*" or "t/s".
func matchContentType(pattern, ct string) bool {
	pt, ps, _ := strings.Cut(strings.TrimSpace(strings.SplitN(pattern, ";", 2)[0]), "/")
	if pt == "*" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	t, s, ok := strings.Cut(mt, "/")
	if !ok {
		return false
	}
	return strings.EqualFold(t, pt) && (ps == "*" || strings.EqualFold(s, ps))
}
