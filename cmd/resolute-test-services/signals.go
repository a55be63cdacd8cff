package main

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// SignalTest (sdk-typescript's restate-e2e-services signals.ts, which its vitest
// signals.test.ts drives; not part of the sdk-tests contracts): named signals waited for,
// resolved and rejected, raced against a timeout, and a stream of signals of one name (each
// wait for the name gets the next signal sent with it).
const signalTest = "SignalTest"

// signalTarget is resolveSignal's and rejectSignal's request.
type signalTarget struct {
	InvocationID string          `json:"invocationId"`
	Name         string          `json:"name"`
	Value        json.RawMessage `json:"value"`
	Reason       string          `json:"reason"`
}

// streamItem is one signal of a stream: a value, or the end.
type streamItem struct {
	Done  bool   `json:"done"`
	Value string `json:"value,omitempty"`
}

type streamRequest struct {
	InvocationID string   `json:"invocationId"`
	Values       []string `json:"values"`
}

// maxStreamItems bounds readStream, should a wait for "stream" ever get an item it got before
// (our SDK once kept the first signal of a name: the stream gave its first item for ever).
const maxStreamItems = 10_000

func init() {
	const streamName = "stream"
	registry.add(signalTest, sdk.NewService(signalTest).
		Handler("waitForSignal", sdk.ServiceHandler(func(ctx sdk.Context, name string) (json.RawMessage, error) {
			return sdk.Signal[json.RawMessage](ctx, name).Result()
		})).
		Handler("resolveSignal", sdk.ServiceHandler(func(ctx sdk.Context, r signalTarget) (sdk.Void, error) {
			return sdk.Void{}, sdk.ResolveSignal(ctx, r.InvocationID, r.Name, r.Value)
		})).
		Handler("rejectSignal", sdk.ServiceHandler(func(ctx sdk.Context, r signalTarget) (sdk.Void, error) {
			sdk.RejectSignal(ctx, r.InvocationID, r.Name, sdk.TerminalErrorf(500, "%s", r.Reason))
			return sdk.Void{}, nil
		})).
		Handler("waitForTwoSignals", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (map[string]string, error) {
			a, b := sdk.Signal[string](ctx, "signalA"), sdk.Signal[string](ctx, "signalB")
			if err := sdk.Wait(ctx, a, b); err != nil {
				return nil, err
			}
			av, err := a.Result()
			if err != nil {
				return nil, err
			}
			bv, err := b.Result()
			return map[string]string{"a": av, "b": bv}, err
		})).
		Handler("raceSignalVsTimeout", sdk.ServiceHandler(func(ctx sdk.Context, timeoutMillis int64) (string, error) {
			v, err := sdk.OrTimeout(ctx, sdk.Signal[string](ctx, "mySignal"), time.Duration(timeoutMillis)*time.Millisecond)
			if errors.Is(err, sdk.ErrTimeout) {
				return "timeout", nil
			}
			return v, err
		})).
		Handler("readStream", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) ([]string, error) {
			values := []string{}
			for len(values) < maxStreamItems {
				item, err := sdk.Signal[streamItem](ctx, streamName).Result()
				if err != nil || item.Done {
					return values, err
				}
				values = append(values, item.Value)
			}
			return nil, sdk.TerminalErrorf(500, "signal stream longer than %d items", maxStreamItems)
		})).
		Handler("appendToStream", sdk.ServiceHandler(func(ctx sdk.Context, r streamRequest) (sdk.Void, error) {
			for _, v := range r.Values {
				if err := sdk.ResolveSignal(ctx, r.InvocationID, streamName, streamItem{Value: v}); err != nil {
					return sdk.Void{}, err
				}
			}
			return sdk.Void{}, nil
		})).
		Handler("endStream", sdk.ServiceHandler(func(ctx sdk.Context, r streamRequest) (sdk.Void, error) {
			return sdk.Void{}, sdk.ResolveSignal(ctx, r.InvocationID, streamName, streamItem{Done: true})
		})))
}
