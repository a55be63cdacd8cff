package main

import (
	"encoding/json"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Proxy (contracts/Proxy.kt) calls or sends a payload it does not decode to any handler.
const proxy = "Proxy"

// byteArray is a payload as the contract writes bytes: a JSON array of numbers.
type byteArray []byte

func (b byteArray) MarshalJSON() ([]byte, error) {
	ints := make([]int, len(b))
	for i, c := range b {
		ints[i] = int(c)
	}
	return json.Marshal(ints)
}

func (b *byteArray) UnmarshalJSON(data []byte) error {
	var ints []int
	if err := json.Unmarshal(data, &ints); err != nil {
		return err
	}
	*b = make(byteArray, len(ints))
	for i, n := range ints {
		(*b)[i] = byte(n)
	}
	return nil
}

// proxyRequest is Proxy.ProxyRequest.
type proxyRequest struct {
	ServiceName      string    `json:"serviceName"`
	VirtualObjectKey *string   `json:"virtualObjectKey,omitempty"`
	HandlerName      string    `json:"handlerName"`
	Message          byteArray `json:"message"`
	DelayMillis      *int64    `json:"delayMillis,omitempty"`
	IdempotencyKey   *string   `json:"idempotencyKey,omitempty"`
	Scope            *string   `json:"scope,omitempty"`
	LimitKey         *string   `json:"limitKey,omitempty"`
}

// manyCallRequest is Proxy.ManyCallRequest.
type manyCallRequest struct {
	ProxyRequest  proxyRequest `json:"proxyRequest"`
	OneWayCall    bool         `json:"oneWayCall"`
	AwaitAtTheEnd bool         `json:"awaitAtTheEnd"`
}

// target and options of the request; a scope or a limit key is refused (terminal), as sdk-go's
// test services refuse scoped object calls: our SDK has neither (issue 14).
func (r proxyRequest) target() (sdk.Target, []sdk.CallOption, error) {
	if r.Scope != nil || r.LimitKey != nil {
		return sdk.Target{}, nil, sdk.TerminalErrorf(501, "scope and limitKey are not supported by this SDK")
	}
	t := sdk.ToService(r.ServiceName, r.HandlerName)
	if r.VirtualObjectKey != nil {
		t = sdk.ToObject(r.ServiceName, *r.VirtualObjectKey, r.HandlerName)
	}
	opts := []sdk.CallOption{sdk.WithCallCodec(sdk.Binary)}
	if r.IdempotencyKey != nil {
		opts = append(opts, sdk.WithIdempotencyKey(*r.IdempotencyKey))
	}
	return t, opts, nil
}

func (r proxyRequest) call(ctx sdk.Context) (*sdk.CallFuture[[]byte], error) {
	t, opts, err := r.target()
	if err != nil {
		return nil, err
	}
	return sdk.CallAsync[[]byte](ctx, t, []byte(r.Message), opts...), nil
}

func (r proxyRequest) send(ctx sdk.Context) (*sdk.SendHandle, error) {
	t, opts, err := r.target()
	if err != nil {
		return nil, err
	}
	if r.DelayMillis != nil {
		opts = append(opts, sdk.WithDelay(time.Duration(*r.DelayMillis)*time.Millisecond))
	}
	return sdk.Send(ctx, t, []byte(r.Message), opts...), nil
}

func init() {
	registry.add(proxy, sdk.NewService(proxy).
		Handler("call", sdk.ServiceHandler(func(ctx sdk.Context, r proxyRequest) (byteArray, error) {
			f, err := r.call(ctx)
			if err != nil {
				return nil, err
			}
			out, err := f.Result()
			return byteArray(out), err
		})).
		Handler("oneWayCall", sdk.ServiceHandler(func(ctx sdk.Context, r proxyRequest) (string, error) {
			s, err := r.send(ctx)
			if err != nil {
				return "", err
			}
			return s.InvocationID()
		})).
		Handler("manyCalls", sdk.ServiceHandler(func(ctx sdk.Context, rs []manyCallRequest) (sdk.Void, error) {
			var pending []*sdk.CallFuture[[]byte]
			for _, r := range rs {
				if r.OneWayCall {
					if _, err := r.ProxyRequest.send(ctx); err != nil {
						return sdk.Void{}, err
					}
					continue
				}
				f, err := r.ProxyRequest.call(ctx)
				if err != nil {
					return sdk.Void{}, err
				}
				if r.AwaitAtTheEnd {
					pending = append(pending, f)
				}
			}
			for _, f := range pending {
				if _, err := f.Result(); err != nil {
					return sdk.Void{}, err
				}
			}
			return sdk.Void{}, nil
		})))
}
