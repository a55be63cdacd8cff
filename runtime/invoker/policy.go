package invoker

import (
	"time"

	"github.com/resolute-run/resolute/runtime/registry"
)

// Policy is what the attempts of one handler run with: the retry policy between attempts and
// the stream timeouts. The runtime's defaults come from Config; a deployment's manifest may
// override them per service and per handler (Overrides). The admin API reports Policy as it is
// applied (Invoker.Policy), so what an operator reads is what runs.
type Policy struct {
	Retry RetryPolicy
	// InactivityTimeout and AbortTimeout: see Config.
	InactivityTimeout time.Duration
	AbortTimeout      time.Duration
	// LazyState: a keyed handler's attempts start without the key's state (the manifest's
	// enableLazyState); the SDK reads what it needs with GetLazyState commands.
	LazyState bool
}

// OnMaxAttempts names what a manifest asks for once the attempts are exhausted.
type OnMaxAttempts string

const (
	// OnMaxAttemptsUnset keeps the runtime's default.
	OnMaxAttemptsUnset OnMaxAttempts = ""
	// OnMaxAttemptsKill fails the invocation with the last error.
	OnMaxAttemptsKill OnMaxAttempts = "KILL"
	// OnMaxAttemptsPause pauses the invocation: no more attempts until an operator resumes it.
	OnMaxAttemptsPause OnMaxAttempts = "PAUSE"
)

// Overrides are a service's or handler's settings from its deployment's manifest; nil (or
// OnMaxAttemptsUnset) keeps the value it overrides.
type Overrides struct {
	RetryInitialInterval *time.Duration
	RetryMaxInterval     *time.Duration
	RetryFactor          *float64
	RetryMaxAttempts     *int
	RetryOnMaxAttempts   OnMaxAttempts
	InactivityTimeout    *time.Duration
	AbortTimeout         *time.Duration
	LazyState            *bool
}

// Then returns o with the settings of next laid over it (service overrides, then handler ones).
func (o Overrides) Then(next Overrides) Overrides {
	o.RetryInitialInterval = laid(o.RetryInitialInterval, next.RetryInitialInterval)
	o.RetryMaxInterval = laid(o.RetryMaxInterval, next.RetryMaxInterval)
	o.RetryFactor = laid(o.RetryFactor, next.RetryFactor)
	o.RetryMaxAttempts = laid(o.RetryMaxAttempts, next.RetryMaxAttempts)
	o.InactivityTimeout = laid(o.InactivityTimeout, next.InactivityTimeout)
	o.AbortTimeout = laid(o.AbortTimeout, next.AbortTimeout)
	o.LazyState = laid(o.LazyState, next.LazyState)
	if next.RetryOnMaxAttempts != OnMaxAttemptsUnset {
		o.RetryOnMaxAttempts = next.RetryOnMaxAttempts
	}
	return o
}

// laid returns over if it is set, else under.
func laid[T any](under, over *T) *T {
	if over != nil {
		return over
	}
	return under
}

// Override returns p with o applied. Values that cannot run are ignored (a non-positive
// interval or timeout, a factor below 1, a negative attempt count), as the defaults would be.
func (p Policy) Override(o Overrides) Policy {
	if o.RetryInitialInterval != nil && *o.RetryInitialInterval > 0 {
		p.Retry.InitialInterval = *o.RetryInitialInterval
	}
	if o.RetryMaxInterval != nil && *o.RetryMaxInterval > 0 {
		p.Retry.MaxInterval = *o.RetryMaxInterval
	}
	if o.RetryFactor != nil && *o.RetryFactor >= 1 {
		p.Retry.Factor = *o.RetryFactor
	}
	if o.RetryMaxAttempts != nil && *o.RetryMaxAttempts > 0 {
		p.Retry.MaxAttempts = *o.RetryMaxAttempts
	}
	if o.RetryOnMaxAttempts == OnMaxAttemptsPause || o.RetryOnMaxAttempts == OnMaxAttemptsKill {
		p.Retry.OnMaxAttempts = o.RetryOnMaxAttempts
	}
	if o.InactivityTimeout != nil && *o.InactivityTimeout >= 0 {
		// 0 is meaningful, as in restate-server: end the request stream at once, so the
		// handler suspends at every await (the SDKs' test suites' "always suspending").
		p.InactivityTimeout = *o.InactivityTimeout
	}
	if o.AbortTimeout != nil && *o.AbortTimeout > 0 {
		p.AbortTimeout = *o.AbortTimeout
	}
	if o.LazyState != nil {
		p.LazyState = *o.LazyState
	}
	return p
}

// Policy returns what the attempts of service/handler run with: the configured defaults with
// the deployment's overrides applied. An empty handler gives the service's policy.
func (i *Invoker) Policy(service, handler string) Policy {
	return i.cfg.policy().Override(i.resolver.Overrides(service, handler))
}

// Defaults returns the policy of a handler whose manifest overrides nothing.
func (i *Invoker) Defaults() Policy { return i.cfg.policy() }

// ServiceOverrides reads what a service's manifest sets for one of its handlers: the service's
// settings with the handler's laid over them. An empty or unknown handler gives the service's.
func ServiceOverrides(s registry.Service, handler string) Overrides {
	o := manifestOverrides(s.Options)
	if handler == "" {
		return o
	}
	for _, h := range s.Handlers {
		if h.Name == handler {
			return o.Then(manifestOverrides(h.Options))
		}
	}
	return o
}

// manifestOverrides reads a manifest's retry policy and timeouts (milliseconds).
func manifestOverrides(o registry.Options) Overrides {
	ms := func(v *int64) *time.Duration {
		if v == nil {
			return nil
		}
		d := time.Duration(*v) * time.Millisecond
		return &d
	}
	out := Overrides{
		RetryInitialInterval: ms(o.RetryPolicyInitialInterval),
		RetryMaxInterval:     ms(o.RetryPolicyMaxInterval),
		RetryFactor:          o.RetryPolicyExponentiationFactor,
		RetryOnMaxAttempts:   OnMaxAttempts(o.RetryPolicyOnMaxAttempts),
		InactivityTimeout:    ms(o.InactivityTimeout),
		AbortTimeout:         ms(o.AbortTimeout),
		LazyState:            o.EnableLazyState,
	}
	if o.RetryPolicyMaxAttempts != nil {
		n := int(*o.RetryPolicyMaxAttempts)
		out.RetryMaxAttempts = &n
	}
	return out
}

func (c Config) policy() Policy {
	return Policy{Retry: c.Retry, InactivityTimeout: c.InactivityTimeout, AbortTimeout: c.AbortTimeout, LazyState: c.DisableEagerState}
}
