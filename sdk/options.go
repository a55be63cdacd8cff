package sdk

import (
	"fmt"
	"maps"
	"time"
)

// settings are what a service or handler definition tells the runtime through the discovery
// manifest. nil means "not set": the runtime's default (or, for a handler, its service's setting).
type settings struct {
	documentation        string
	metadata             map[string]string
	inactivityTimeout    *time.Duration
	abortTimeout         *time.Duration
	journalRetention     *time.Duration
	idempotencyRetention *time.Duration
	workflowRetention    *time.Duration
	ingressPrivate       *bool
	enableLazyState      *bool
	retry                *RetryPolicy
}

// HandlerOption configures one handler at its definition: WithCodec, and every Option.
type HandlerOption interface{ applyHandler(*handler) }

// ServiceOption configures a Service, Virtual Object or Workflow at its definition (NewService,
// NewObject, NewWorkflow, Reflect): every Option. A handler's own setting wins over its service's.
type ServiceOption interface{ applyService(*definition) }

// Option is a setting of a service or of one handler, sent to the runtime in the discovery
// manifest under the name the official SDKs use (sdk-go's restate.With… options, the manifest
// fields of restatedev's endpoint_manifest_schema.json). It is both a ServiceOption and a
// HandlerOption.
type Option struct{ set func(*settings) }

func (o Option) applyHandler(h *handler)    { o.set(&h.settings) }
func (o Option) applyService(d *definition) { o.set(&d.settings) }

func durationOption(field func(*settings) **time.Duration, d time.Duration) Option {
	return Option{func(s *settings) { *field(s) = &d }}
}

// WithDocumentation is the service's or handler's documentation (manifest "documentation"),
// shown by the admin API.
func WithDocumentation(doc string) Option {
	return Option{func(s *settings) { s.documentation = doc }}
}

// WithInactivityTimeout (manifest "inactivityTimeout"): how long the runtime lets an attempt stay
// silent before asking it to suspend.
func WithInactivityTimeout(d time.Duration) Option {
	return durationOption(func(s *settings) **time.Duration { return &s.inactivityTimeout }, d)
}

// WithAbortTimeout (manifest "abortTimeout"): how long after the inactivity timeout the runtime
// waits for the attempt to suspend before it aborts the stream.
func WithAbortTimeout(d time.Duration) Option {
	return durationOption(func(s *settings) **time.Duration { return &s.abortTimeout }, d)
}

// WithJournalRetention (manifest "journalRetention"): how long an ended invocation's journal is
// kept; the idempotency (or workflow) retention caps it.
func WithJournalRetention(d time.Duration) Option {
	return durationOption(func(s *settings) **time.Duration { return &s.journalRetention }, d)
}

// WithIdempotencyRetention (manifest "idempotencyRetention"): how long the result of a request
// with an idempotency key is kept, so that a retry of it attaches to the result instead of running
// again. Not valid on a workflow's run handler (use WithWorkflowRetention); on a Workflow service
// it applies to the shared handlers.
func WithIdempotencyRetention(d time.Duration) Option {
	return durationOption(func(s *settings) **time.Duration { return &s.idempotencyRetention }, d)
}

// WithWorkflowRetention (manifest "workflowCompletionRetention"): how long a workflow's result,
// state and promises are kept after its run handler ended. Valid on a workflow's run handler, or
// on a Workflow service (then it is its run handler's).
func WithWorkflowRetention(d time.Duration) Option {
	return durationOption(func(s *settings) **time.Duration { return &s.workflowRetention }, d)
}

// WithIngressPrivate (manifest "ingressPrivate"): when true, the ingress refuses the service or
// handler (400); other handlers can still call it.
func WithIngressPrivate(private bool) Option {
	return Option{func(s *settings) { s.ingressPrivate = &private }}
}

// WithEnableLazyState (manifest "enableLazyState"): when true, the runtime starts attempts
// without the key's state, and every read goes to the runtime (GetLazyState). Useful for objects
// with large state of which a handler reads little.
func WithEnableLazyState(lazy bool) Option {
	return Option{func(s *settings) { s.enableLazyState = &lazy }}
}

// WithMetadata adds key = value to the metadata of a service or handler (manifest "metadata"),
// or, given to ToTerminalError, to a terminal error's metadata.
func WithMetadata(key, value string) MetadataOption {
	return MetadataOption{map[string]string{key: value}}
}

// WithMetadataMap adds every entry of m, as WithMetadata does.
func WithMetadataMap(m map[string]string) MetadataOption { return MetadataOption{maps.Clone(m)} }

// MetadataOption is WithMetadata's option: a ServiceOption, a HandlerOption and an ErrorOption.
// Several merge.
type MetadataOption struct{ m map[string]string }

func (o MetadataOption) applyHandler(h *handler) {
	h.settings.metadata = merged(h.settings.metadata, o.m)
}
func (o MetadataOption) applyService(d *definition) {
	d.settings.metadata = merged(d.settings.metadata, o.m)
}
func (o MetadataOption) applyError(t *Terminal) { t.Metadata = merged(t.Metadata, o.m) }

func merged(dst, src map[string]string) map[string]string {
	if dst == nil && len(src) > 0 {
		dst = make(map[string]string, len(src))
	}
	maps.Copy(dst, src)
	return dst
}

// OnMaxAttempts is what the runtime does with an invocation whose attempts are exhausted.
type OnMaxAttempts string

// The manifest's retryPolicyOnMaxAttempts values.
const (
	OnMaxAttemptsPause OnMaxAttempts = "PAUSE" // keep it, paused, until an operator resumes it
	OnMaxAttemptsKill  OnMaxAttempts = "KILL"  // fail it with the last error
)

// RetryPolicy is how the runtime retries a failing invocation (not a Run: see Run's options).
// Zero fields are not sent, so the runtime's defaults apply.
type RetryPolicy struct {
	InitialInterval time.Duration // manifest retryPolicyInitialInterval
	Factor          float64       // retryPolicyExponentiationFactor
	MaxInterval     time.Duration // retryPolicyMaxInterval
	MaxAttempts     int           // retryPolicyMaxAttempts; the first attempt counts
	OnMaxAttempts   OnMaxAttempts // retryPolicyOnMaxAttempts
}

// RetryPolicyOption sets one field of an invocation's RetryPolicy. WithMaxRetryAttempts,
// WithInitialRetryInterval, WithMaxRetryInterval and WithRetryIntervalFactor are also Run options,
// as in sdk-go.
type RetryPolicyOption interface{ applyRetryPolicy(*RetryPolicy) }

// WithInvocationRetryPolicy sets how the runtime retries the service's or handler's invocations
// (manifest retryPolicy… fields):
//
//	sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(3), sdk.KillOnMaxAttempts())
func WithInvocationRetryPolicy(opts ...RetryPolicyOption) Option {
	var p RetryPolicy
	for _, o := range opts {
		o.applyRetryPolicy(&p)
	}
	return Option{func(s *settings) { s.retry = &p }}
}

type onMaxAttemptsOption OnMaxAttempts

func (o onMaxAttemptsOption) applyRetryPolicy(p *RetryPolicy) { p.OnMaxAttempts = OnMaxAttempts(o) }

// PauseOnMaxAttempts: once the attempts are exhausted, the invocation is paused.
func PauseOnMaxAttempts() RetryPolicyOption { return onMaxAttemptsOption(OnMaxAttemptsPause) }

// KillOnMaxAttempts: once the attempts are exhausted, the invocation fails with the last error.
func KillOnMaxAttempts() RetryPolicyOption { return onMaxAttemptsOption(OnMaxAttemptsKill) }

// checkSettings panics on a combination the runtime's discovery would refuse, so the mistake shows
// at definition, not at registration.
func checkSettings(service, name string, kind handlerKind, s settings) {
	switch {
	case s.workflowRetention != nil && kind != workflowHandler:
		panic(fmt.Sprintf("sdk: %s/%s: WithWorkflowRetention is only for a workflow's run handler", service, name))
	case s.idempotencyRetention != nil && kind == workflowHandler:
		panic(fmt.Sprintf("sdk: %s/%s: a workflow's run handler takes WithWorkflowRetention, not WithIdempotencyRetention", service, name))
	}
}
