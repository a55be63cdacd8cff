package sdk

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// RunOption configures Run and RunAsync: WithName and the retry options.
type RunOption interface{ applyRun(*runOptions) }

type runOptions struct {
	name        string
	maxAttempts *uint
	maxDuration *time.Duration
	initial     *time.Duration
	factor      *float32
	maxInterval *time.Duration
}

type runOption func(*runOptions)

func (f runOption) applyRun(o *runOptions) { f(o) }

func runOptionsOf(opts []RunOption) runOptions {
	var o runOptions
	for _, opt := range opts {
		opt.applyRun(&o)
	}
	return o
}

// WithName names a Run in the journal (shown by the runtime's tools).
func WithName(name string) RunOption { return runOption(func(o *runOptions) { o.name = name }) }

// retryOption is a retry setting of both Run and WithInvocationRetryPolicy, as in sdk-go.
type retryOption struct {
	run    func(*runOptions)
	policy func(*RetryPolicy)
}

func (r retryOption) applyRun(o *runOptions)          { r.run(o) }
func (r retryOption) applyRetryPolicy(p *RetryPolicy) { r.policy(p) }

// RetryOption is a retry setting for Run (or RunAsync) and for WithInvocationRetryPolicy.
type RetryOption interface {
	RunOption
	RetryPolicyOption
}

// WithMaxRetryAttempts bounds the attempts, the first one included. For a Run: once a retryable
// error of the n-th attempt, its failure becomes terminal and is journaled. For
// WithInvocationRetryPolicy: the runtime's retryPolicyMaxAttempts.
func WithMaxRetryAttempts(n uint) RetryOption {
	return retryOption{func(o *runOptions) { o.maxAttempts = &n }, func(p *RetryPolicy) { p.MaxAttempts = int(n) }}
}

// WithInitialRetryInterval is the delay before the first retry (a Run's default 50ms once any
// retry option is set).
func WithInitialRetryInterval(d time.Duration) RetryOption {
	return retryOption{func(o *runOptions) { o.initial = &d }, func(p *RetryPolicy) { p.InitialInterval = d }}
}

// WithRetryIntervalFactor multiplies the delay after each retry (a Run's default 2).
func WithRetryIntervalFactor(f float32) RetryOption {
	return retryOption{func(o *runOptions) { o.factor = &f }, func(p *RetryPolicy) { p.Factor = float64(f) }}
}

// WithMaxRetryInterval caps the delay between retries (a Run's default 2s).
func WithMaxRetryInterval(d time.Duration) RetryOption {
	return retryOption{func(o *runOptions) { o.maxInterval = &d }, func(p *RetryPolicy) { p.MaxInterval = d }}
}

// WithMaxRetryDuration bounds the time a Run spends retrying (its attempts and the delays between
// them); after it, the Run's failure becomes terminal and is journaled. A Run option only.
func WithMaxRetryDuration(d time.Duration) RunOption {
	return runOption(func(o *runOptions) { o.maxDuration = &d })
}

// bounded reports whether any retry option is set: then the Run retries with its own policy
// (sdk-shared-core's RetryPolicy::Exponential); otherwise without bound, at the runtime's pace.
func (o *runOptions) bounded() bool {
	return o.maxAttempts != nil || o.maxDuration != nil || o.initial != nil || o.factor != nil || o.maxInterval != nil
}

// nextRetry is sdk-shared-core's RetryPolicy::next_retry: after attempts failed attempts that
// took elapsed in all, the delay before the next one, or false when there is none.
func (o *runOptions) nextRetry(attempts uint32, elapsed time.Duration) (time.Duration, bool) {
	if o.maxAttempts != nil && uint32(*o.maxAttempts) <= attempts {
		return 0, false
	}
	if o.maxDuration != nil && *o.maxDuration <= elapsed {
		return 0, false
	}
	initial, factor, maxInterval := 50*time.Millisecond, 2.0, 2*time.Second
	if o.initial != nil {
		initial = *o.initial
	}
	if o.factor != nil {
		factor = float64(*o.factor)
	}
	if o.maxInterval != nil {
		maxInterval = *o.maxInterval
	}
	d := float64(initial) * math.Pow(factor, float64(attempts-1))
	if d > float64(maxInterval) || math.IsInf(d, 0) || math.IsNaN(d) {
		return maxInterval, true
	}
	return time.Duration(d), true
}

// Run executes fn once and journals its result: on replay, fn is not called again and the
// journaled result is returned. A terminal error from fn is journaled too and returned again on
// replay; any other error fails this attempt, and the runtime retries the invocation, which runs
// fn again. With retry options (WithMaxRetryAttempts, WithMaxRetryDuration, …) the SDK sets the
// delay of each retry, and once the attempts or the duration are used up, fn's error becomes a
// terminal failure (its RetryableError code, else 500) journaled as the Run's result:
//
//	receipt, err := sdk.Run(ctx, charge, sdk.WithName("charge"), sdk.WithMaxRetryAttempts(5))
//	// err is terminal after 5 failed attempts
//
// Retries happen across attempts, as in the official SDKs (sdk-shared-core): the attempt ends with
// an ErrorMessage carrying next_retry_delay, and the next attempt's StartMessage counts the retries
// (retry_count_since_last_stored_entry) and their time (duration_since_last_stored_entry).
func Run[T any](ctx Context, fn func(ctx RunContext) (T, error), opts ...RunOption) (T, error) {
	o := runOptionsOf(opts)
	inv := ctx.inv()
	id, execute, err := inv.m.Run(o.name)
	if err != nil || !execute {
		inv.check(err)
	}
	if !execute && rerunJournaledRuns {
		_, _ = fn(runContext{inv, inv.InvocationID(), inv.runLogger()}) // a planted bug, see chaosplant.go
	}
	if execute {
		// The RunCommand goes out together with its proposed result (one write), so the runtime
		// can journal both in one log entry: one commit per step instead of two.
		inv.check(inv.m.ProposeRun(id, inv.execute(id, &o, func() ([]byte, error) {
			v, err := fn(runContext{inv, inv.InvocationID(), inv.runLogger()})
			if err != nil {
				return nil, err
			}
			return encode(inv.codec, v)
		})))
	}
	var zero T
	if _, err := inv.await(id); err != nil {
		return zero, err
	}
	r, err := inv.result(id)
	if err != nil {
		return zero, err
	}
	v, err := decode[T](inv.codec, r.Value)
	if err != nil {
		return zero, TerminalErrorf(500, "decode result of run %q: %v", o.name, err)
	}
	return v, nil
}

// execute calls fn and turns its outcome into a proposal; a retryable error ends the attempt.
func (inv *invocation) execute(id statemachine.NotificationID, o *runOptions, fn func() ([]byte, error)) statemachine.Result {
	inv.inRun = true
	start := time.Now()
	b, err := fn()
	inv.inRun = false
	return inv.outcome(id, o, b, err, time.Since(start))
}

// outcome turns what a Run closure returned (in elapsed) into a proposal. A retryable error ends
// the attempt, unless the run's retry options are used up: then it is proposed as a terminal
// failure, as sdk-shared-core's propose_run_completion does.
func (inv *invocation) outcome(id statemachine.NotificationID, o *runOptions, b []byte, err error, elapsed time.Duration) statemachine.Result {
	var t *Terminal
	switch {
	case errors.As(err, &t):
		return statemachine.Result{Kind: statemachine.ResultFailure, Failure: t.failure()}
	case err == nil:
		return statemachine.Result{Kind: statemachine.ResultValue, Value: b}
	}
	code, msg := retryableCode(err), retryableMessage(err)
	failed := &statemachine.CodedError{Code: code, Err: fmt.Errorf("run %q: %s", o.name, msg), Command: -1}
	if !o.bounded() {
		inv.m.Fail(failed, "")
		inv.check(failed)
	}
	info := inv.m.RunRetryInfo(id)
	// Whole milliseconds, as the official SDKs report attempt_duration to the shared core.
	delay, retry := o.nextRetry(info.Count+1, time.Duration(info.DurationMillis)*time.Millisecond+elapsed.Truncate(time.Millisecond))
	if !retry {
		return statemachine.Result{Kind: statemachine.ResultFailure, Failure: statemachine.Failure{Code: uint32(code), Message: msg}}
	}
	ms := uint64(delay.Milliseconds())
	inv.m.FailRetryAfter(failed, "", &ms)
	inv.check(failed)
	panic("unreachable") // check unwinds on failed
}

// RunFuture is a side effect started with RunAsync.
type RunFuture[T any] struct {
	inv  *invocation
	id   statemachine.NotificationID
	name string
}

// RunAsync starts fn on its own goroutine and returns its future, to wait for with Result or to
// combine with WaitFirst, Wait, WaitEach or OrTimeout. Like Run, fn runs once: on replay the
// journaled result is returned. fn's context is cancelled when the attempt ends (a handler that
// returns or suspends without waiting for it), and the attempt ends only after fn returned: a
// long fn should watch ctx.Done(). fn must not use the handler's context. It takes Run's
// options, retry options included.
func RunAsync[T any](ctx Context, fn func(ctx RunContext) (T, error), opts ...RunOption) *RunFuture[T] {
	o := runOptionsOf(opts)
	inv := ctx.inv()
	id, execute, err := inv.m.Run(o.name)
	inv.check(err)
	if execute {
		codec := inv.codec
		inv.startRun(id, &o, func(rc RunContext) ([]byte, error) {
			v, err := fn(rc)
			if err != nil {
				return nil, err
			}
			return encode(codec, v)
		})
	}
	return &RunFuture[T]{inv: inv, id: id, name: o.name}
}

// Result waits for the run's result; a terminal error from fn comes back as a terminal error.
func (f *RunFuture[T]) Result() (T, error) {
	return awaitValue[T](f.inv, f.id, fmt.Sprintf("result of run %q", f.name))
}

func (f *RunFuture[T]) awaitID() statemachine.NotificationID { return f.id }
