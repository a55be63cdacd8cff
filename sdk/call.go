package sdk

import (
	"time"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Target names a handler to call: a Service handler or a Virtual Object handler with its key.
type Target struct {
	Service string
	Key     string
	Handler string
}

// ToService targets handler of a Service.
func ToService(service, handler string) Target { return Target{Service: service, Handler: handler} }

// ToObject targets handler of the Virtual Object service with key.
func ToObject(object, key, handler string) Target {
	return Target{Service: object, Key: key, Handler: handler}
}

// CallOption configures Call, CallAsync and Send.
type CallOption func(*callOptions)

type callOptions struct {
	headers        map[string]string
	idempotencyKey string
	delay          time.Duration
	codec          Codec // nil: the handler's
}

// WithHeaders adds headers to the callee's request.
func WithHeaders(h map[string]string) CallOption { return func(o *callOptions) { o.headers = h } }

// WithIdempotencyKey makes the call idempotent: the same target and key run once.
func WithIdempotencyKey(k string) CallOption { return func(o *callOptions) { o.idempotencyKey = k } }

// WithDelay delays a Send; calls ignore it.
func WithDelay(d time.Duration) CallOption { return func(o *callOptions) { o.delay = d } }

// WithCallCodec encodes the call's input and decodes its result with c instead of the handler's
// codec: with Binary, a []byte input is sent as it is and CallAsync[[]byte] gets the callee's
// output bytes (a proxy forwarding payloads it does not decode).
func WithCallCodec(c Codec) CallOption { return func(o *callOptions) { o.codec = c } }

func (inv *invocation) request(t Target, input any, opts []CallOption) (statemachine.CallRequest, callOptions) {
	o := callOptions{codec: inv.codec}
	for _, opt := range opts {
		opt(&o)
	}
	if o.codec == nil {
		o.codec = inv.codec
	}
	b, err := encode(o.codec, input)
	if err != nil {
		err = TerminalErrorf(500, "encode input of %s/%s: %v", t.Service, t.Handler, err)
		inv.m.Fail(err, "")
		inv.check(err)
	}
	req := statemachine.CallRequest{
		Service: t.Service, Handler: t.Handler, Key: t.Key, Parameter: b, IdempotencyKey: o.idempotencyKey,
	}
	for _, k := range sortedKeys(o.headers) {
		req.Headers = append(req.Headers, statemachine.Header{Key: k, Value: o.headers[k]})
	}
	return req, o
}

// CallFuture is the pending result of CallAsync.
type CallFuture[O any] struct {
	inv           *invocation
	codec         Codec // decodes the result
	invID, result statemachine.NotificationID
}

// Call calls t with input and waits for its result. A callee's terminal error is returned as a
// terminal error with the same code.
func Call[O any](ctx Context, t Target, input any, opts ...CallOption) (O, error) {
	return CallAsync[O](ctx, t, input, opts...).Result()
}

// CallAsync starts a call and returns its future; several can be awaited together with Wait or
// WaitFirst.
func CallAsync[O any](ctx Context, t Target, input any, opts ...CallOption) *CallFuture[O] {
	inv := ctx.inv()
	req, o := inv.request(t, input, opts)
	invID, result, err := inv.m.Call(req)
	inv.check(err)
	return &CallFuture[O]{inv: inv, codec: o.codec, invID: invID, result: result}
}

func (f *CallFuture[O]) awaitID() statemachine.NotificationID { return f.result }

// Result waits for the callee's result.
func (f *CallFuture[O]) Result() (O, error) {
	var zero O
	if _, err := f.inv.await(f.result); err != nil {
		return zero, err
	}
	r, err := f.inv.result(f.result)
	if err != nil {
		return zero, err
	}
	v, err := decode[O](f.codec, r.Value)
	if err != nil {
		return zero, TerminalErrorf(500, "decode call result: %v", err)
	}
	return v, nil
}

// InvocationID waits for the callee's invocation id.
func (f *CallFuture[O]) InvocationID() (string, error) {
	return invocationID(f.inv, f.invID)
}

func invocationID(inv *invocation, id statemachine.NotificationID) (string, error) {
	if _, err := inv.await(id); err != nil {
		return "", err
	}
	r, err := inv.result(id)
	return r.InvocationID, err
}

// SendHandle is a one-way call that was sent.
type SendHandle struct {
	inv *invocation
	id  statemachine.NotificationID
}

// Send invokes t with input without waiting for its result (WithDelay to invoke it later).
func Send(ctx Context, t Target, input any, opts ...CallOption) *SendHandle {
	inv := ctx.inv()
	req, o := inv.request(t, input, opts)
	var at uint64
	if o.delay > 0 {
		at = uint64(time.Now().Add(o.delay).UnixMilli())
	}
	id, err := inv.m.Send(req, at)
	inv.check(err)
	return &SendHandle{inv: inv, id: id}
}

// InvocationID waits for the callee's invocation id.
func (s *SendHandle) InvocationID() (string, error) { return invocationID(s.inv, s.id) }

func (s *SendHandle) awaitID() statemachine.NotificationID { return s.id }

// SleepFuture is a durable timer started with After.
type SleepFuture struct {
	inv *invocation
	id  statemachine.NotificationID
}

// After starts a durable timer firing after d.
func After(ctx Context, d time.Duration) *SleepFuture {
	inv := ctx.inv()
	id, err := inv.m.Sleep(uint64(time.Now().Add(d).UnixMilli()), "")
	inv.check(err)
	return &SleepFuture{inv: inv, id: id}
}

// Sleep waits durably for d: the invocation may suspend meanwhile.
func Sleep(ctx Context, d time.Duration) error { return After(ctx, d).Done() }

// Done waits for the timer.
func (s *SleepFuture) Done() error {
	_, err := s.inv.await(s.id)
	return err
}

func (s *SleepFuture) awaitID() statemachine.NotificationID { return s.id }
