package sdk

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/protocol"
)

// The manifest shape of restatedev/restate service-protocol/endpoint_manifest_schema.json.
type manifest struct {
	ProtocolMode       string            `json:"protocolMode"`
	MinProtocolVersion int               `json:"minProtocolVersion"`
	MaxProtocolVersion int               `json:"maxProtocolVersion"`
	Services           []manifestService `json:"services"`
}

type manifestService struct {
	Name     string            `json:"name"`
	Ty       string            `json:"ty"`
	Handlers []manifestHandler `json:"handlers"`
	manifestOptions
}

type manifestHandler struct {
	Name                        string         `json:"name"`
	Ty                          string         `json:"ty,omitempty"`
	Input                       manifestInput  `json:"input"`
	Output                      manifestOutput `json:"output"`
	WorkflowCompletionRetention *int64         `json:"workflowCompletionRetention,omitempty"`
	manifestOptions
}

// manifestOptions are a service's or handler's settings, as the manifest names them (durations
// in milliseconds).
type manifestOptions struct {
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

func millis(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}

func manifestOptionsOf(s settings) manifestOptions {
	o := manifestOptions{
		Documentation:        s.documentation,
		Metadata:             s.metadata,
		InactivityTimeout:    millis(s.inactivityTimeout),
		AbortTimeout:         millis(s.abortTimeout),
		JournalRetention:     millis(s.journalRetention),
		IdempotencyRetention: millis(s.idempotencyRetention),
		EnableLazyState:      s.enableLazyState,
		IngressPrivate:       s.ingressPrivate,
	}
	if p := s.retry; p != nil {
		if p.InitialInterval > 0 {
			o.RetryPolicyInitialInterval = millis(&p.InitialInterval)
		}
		if p.MaxInterval > 0 {
			o.RetryPolicyMaxInterval = millis(&p.MaxInterval)
		}
		if p.MaxAttempts > 0 {
			n := int64(p.MaxAttempts)
			o.RetryPolicyMaxAttempts = &n
		}
		if p.Factor > 0 {
			f := p.Factor
			o.RetryPolicyExponentiationFactor = &f
		}
		o.RetryPolicyOnMaxAttempts = string(p.OnMaxAttempts)
	}
	return o
}

type manifestInput struct {
	Required    bool   `json:"required"`
	ContentType string `json:"contentType"`
}

type manifestOutput struct {
	SetContentTypeIfEmpty bool   `json:"setContentTypeIfEmpty"`
	ContentType           string `json:"contentType"`
}

// manifestVersion picks the newest manifest version (v4, v3, v2) that accept names; an empty
// accept gets v4.
func manifestVersion(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return protocol.ManifestV4, true
	}
	for _, v := range []string{protocol.ManifestV4, protocol.ManifestV3, protocol.ManifestV2} {
		if strings.Contains(accept, v) {
			return v, true
		}
	}
	return "", false
}

func (e *Endpoint) discover(w http.ResponseWriter, r *http.Request) {
	ct, ok := manifestVersion(r.Header.Get("accept"))
	if !ok {
		jsonError(w, http.StatusUnsupportedMediaType, "Unsupported service discovery protocol version '%s'", r.Header.Get("accept"))
		return
	}
	w.Header().Set("content-type", ct)
	json.NewEncoder(w).Encode(e.manifest())
}

func (e *Endpoint) manifest() manifest {
	m := manifest{
		ProtocolMode:       "BIDI_STREAM",
		MinProtocolVersion: int(protocol.MinVersion),
		MaxProtocolVersion: int(protocol.MaxVersion),
		Services:           []manifestService{},
	}
	for _, name := range e.order {
		def := e.services[name]
		s := manifestService{Name: name, Ty: [...]string{"SERVICE", "VIRTUAL_OBJECT", "WORKFLOW"}[def.kind], Handlers: []manifestHandler{},
			manifestOptions: manifestOptionsOf(def.settings)}
		// The manifest has no service-wide workflow retention: it is the run handler's.
		wfRetention := def.settings.workflowRetention
		for _, hn := range def.order {
			h := def.handlers[hn]
			codec := e.codec
			if h.codec != nil {
				codec = h.codec
			}
			mh := manifestHandler{
				Name:            hn,
				Input:           manifestInput{ContentType: codec.ContentType()},
				Output:          manifestOutput{ContentType: codec.ContentType()},
				manifestOptions: manifestOptionsOf(h.settings),
			}
			switch h.kind {
			case exclusiveHandler:
				mh.Ty = "EXCLUSIVE"
			case sharedHandler:
				mh.Ty = "SHARED"
			case workflowHandler:
				mh.Ty = "WORKFLOW"
				mh.WorkflowCompletionRetention = millis(cmp.Or(h.settings.workflowRetention, wfRetention))
			}
			s.Handlers = append(s.Handlers, mh)
		}
		m.Services = append(m.Services, s)
	}
	return m
}
