package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"regexp"
	"strings"

	"github.com/resolute-run/resolute/runtime/protocol"
)

var (
	serviceNameRE = regexp.MustCompile(`^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9._-]*$`)
	handlerNameRE = regexp.MustCompile(`^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$`)
)

// manifestContentTypes maps the accepted content types to their manifest version.
var manifestContentTypes = map[string]int{
	protocol.ManifestV1: 1,
	protocol.ManifestV2: 2,
	protocol.ManifestV3: 3,
	protocol.ManifestV4: 4,
}

// AcceptHeader is the Accept value of a discovery request: every manifest version we read.
var AcceptHeader = strings.Join([]string{protocol.ManifestV1, protocol.ManifestV2, protocol.ManifestV3, protocol.ManifestV4}, ", ")

// ManifestVersion returns the manifest version (1..4) of a discovery response content type.
func ManifestVersion(contentType string) (int, error) {
	if contentType == "" {
		return 0, badResponse("no content type header was specified, expected one of %q", AcceptHeader)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, &Error{Code: CodeBadResponse, Message: fmt.Sprintf("bad content type header %q", contentType), Err: err}
	}
	v, ok := manifestContentTypes[mt]
	if !ok {
		return 0, badResponse("bad content type header %q, expected one of %q", contentType, AcceptHeader)
	}
	return v, nil
}

// rawManifest detects missing required fields, which the public struct cannot express.
type rawManifest struct {
	ProtocolMode       *ProtocolMode `json:"protocolMode"`
	MinProtocolVersion *int64        `json:"minProtocolVersion"`
	MaxProtocolVersion *int64        `json:"maxProtocolVersion"`
	LambdaCompression  string        `json:"lambdaCompression"`
	Services           *[]Service    `json:"services"`
}

// ParseManifest decodes and validates a discovery response body with its content type. It is
// pure and never panics, whatever the input.
func ParseManifest(body []byte, contentType string) (Manifest, error) {
	version, err := ManifestVersion(contentType)
	if err != nil {
		return Manifest{}, err
	}
	var raw rawManifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Manifest{}, &Error{Code: CodeBadResponse, Message: fmt.Sprintf("cannot decode the discovery response %s", snippet(body)), Err: err}
	}
	if dec.More() {
		return Manifest{}, badResponse("trailing data after the discovery response JSON")
	}
	m, err := raw.toManifest()
	if err != nil {
		return Manifest{}, err
	}
	m.Version = version
	if err := Validate(m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func (r rawManifest) toManifest() (Manifest, error) {
	switch {
	case r.ProtocolMode == nil:
		return Manifest{}, badResponse("missing protocol mode")
	case r.MinProtocolVersion == nil || r.MaxProtocolVersion == nil:
		return Manifest{}, badResponse("missing minProtocolVersion or maxProtocolVersion")
	case r.Services == nil:
		return Manifest{}, badResponse("missing services")
	}
	min, max := *r.MinProtocolVersion, *r.MaxProtocolVersion
	const maxVersion = 1<<31 - 1
	if min < 1 || min > maxVersion || max < 1 || max > maxVersion {
		return Manifest{}, badResponse("protocol versions must be in [1, %d], got [%d, %d]", maxVersion, min, max)
	}
	return Manifest{
		ProtocolMode:       *r.ProtocolMode,
		MinProtocolVersion: int(min),
		MaxProtocolVersion: int(max),
		LambdaCompression:  r.LambdaCompression,
		Services:           *r.Services,
	}, nil
}

// Validate checks a decoded manifest against the rules the runtime relies on.
func Validate(m Manifest) error {
	if m.ProtocolMode != BidiStream && m.ProtocolMode != RequestResponse {
		return badResponse("unknown protocol mode %q", m.ProtocolMode)
	}
	if m.MinProtocolVersion > m.MaxProtocolVersion {
		return badResponse("expected min protocol version to be <= max protocol version, got min %d, max %d", m.MinProtocolVersion, m.MaxProtocolVersion)
	}
	if m.MaxProtocolVersion < int(protocol.MinVersion) || m.MinProtocolVersion > int(protocol.MaxVersion) {
		return &Error{Code: CodeUnsupportedProtocol, Message: fmt.Sprintf(
			"unsupported service protocol versions: [%d, %d]. Supported versions by this runtime are [%d, %d]. Please upgrade the SDK and try registering again",
			m.MinProtocolVersion, m.MaxProtocolVersion, protocol.MinVersion, protocol.MaxVersion)}
	}
	if m.LambdaCompression != "" && m.LambdaCompression != "zstd" {
		return badResponse("unknown lambdaCompression %q", m.LambdaCompression)
	}
	seen := make(map[string]bool, len(m.Services))
	for _, s := range m.Services {
		if err := validateService(s); err != nil {
			return err
		}
		if seen[strings.ToLower(s.Name)] {
			return badResponse("service %q appears twice", s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
	}
	return nil
}

func validateService(s Service) error {
	if !serviceNameRE.MatchString(s.Name) {
		return badResponse("bad service name %q: must match %s", s.Name, serviceNameRE)
	}
	if lower := strings.ToLower(s.Name); strings.HasPrefix(lower, "restate") || lower == "openapi" {
		return badResponse("cannot register service %q as it contains a reserved name", s.Name)
	}
	switch s.Ty {
	case PlainService, VirtualObject, Workflow:
	default:
		return badResponse("service %q: bad service type %q", s.Name, s.Ty)
	}
	if err := validateOptions(s.Name, s.Options); err != nil {
		return err
	}
	seen := make(map[string]bool, len(s.Handlers))
	workflows := 0
	for _, h := range s.Handlers {
		if err := validateHandler(s, h); err != nil {
			return err
		}
		if seen[h.Name] {
			return badResponse("service %q: handler %q appears twice", s.Name, h.Name)
		}
		seen[h.Name] = true
		if t, _ := h.EffectiveType(s.Ty); t == WorkflowHandler {
			workflows++
		}
	}
	if s.Ty == Workflow && workflows != 1 {
		return badResponse("workflow %q must have exactly one handler of type WORKFLOW, has %d", s.Name, workflows)
	}
	return nil
}

func validateHandler(s Service, h Handler) error {
	if !handlerNameRE.MatchString(h.Name) {
		return badResponse("service %q: bad handler name %q: must match %s", s.Name, h.Name, handlerNameRE)
	}
	t, ok := h.EffectiveType(s.Ty)
	if !ok {
		return badResponse("service %q handler %q: invalid combination of service type %s and handler type %q", s.Name, h.Name, s.Ty, h.Ty)
	}
	if h.WorkflowCompletionRetention != nil && t != WorkflowHandler {
		return badResponse("service %q handler %q: workflowCompletionRetention is only valid for WORKFLOW handlers", s.Name, h.Name)
	}
	if h.IdempotencyRetention != nil && t == WorkflowHandler {
		return badResponse("service %q handler %q: idempotencyRetention is not valid for WORKFLOW handlers", s.Name, h.Name)
	}
	if h.Input != nil && h.Input.ContentType != nil {
		if err := ValidateInputContentType(*h.Input.ContentType); err != nil {
			return badResponse("service %q handler %q: input content type %q is not valid: %v", s.Name, h.Name, *h.Input.ContentType, err)
		}
	}
	if h.Output != nil && h.Output.ContentType != nil && !validHeaderValue(*h.Output.ContentType) {
		return badResponse("service %q handler %q: output content type %q is not a valid header value", s.Name, h.Name, *h.Output.ContentType)
	}
	return validateOptions(s.Name+"/"+h.Name, h.Options)
}

func validateOptions(where string, o Options) error {
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"inactivityTimeout", o.InactivityTimeout}, {"abortTimeout", o.AbortTimeout},
		{"journalRetention", o.JournalRetention}, {"idempotencyRetention", o.IdempotencyRetention},
		{"retryPolicyInitialInterval", o.RetryPolicyInitialInterval}, {"retryPolicyMaxInterval", o.RetryPolicyMaxInterval},
		{"retryPolicyMaxAttempts", o.RetryPolicyMaxAttempts},
	} {
		if f.v != nil && *f.v < 0 {
			return badResponse("%s: %s must not be negative", where, f.name)
		}
	}
	switch o.RetryPolicyOnMaxAttempts {
	case "", "PAUSE", "KILL":
	default:
		return badResponse("%s: unknown retryPolicyOnMaxAttempts %q", where, o.RetryPolicyOnMaxAttempts)
	}
	return nil
}

// ValidateInputContentType checks an input content type pattern: "type/subtype", "type/*" or
// "*/*", optionally with parameters.
func ValidateInputContentType(ct string) error {
	ct, _, _ = strings.Cut(ct, ";")
	t, sub, ok := strings.Cut(strings.TrimSpace(ct), "/")
	switch {
	case !ok || t == "" || sub == "":
		return fmt.Errorf("must contain one /")
	case t == "*" && sub != "*":
		return fmt.Errorf("the wildcard format */subType is not supported")
	case strings.Contains(sub, "/"):
		return fmt.Errorf("must contain one /")
	}
	return nil
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return v != ""
}

func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
