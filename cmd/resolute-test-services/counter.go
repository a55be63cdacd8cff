package main

import "github.com/resolute-run/resolute/sdk"

// Counter (contracts/Counter.kt): a number per key.
const counter = "Counter"

// counterUpdate is Counter.CounterUpdateResponse.
type counterUpdate struct {
	OldValue int64 `json:"oldValue"`
	NewValue int64 `json:"newValue"`
}

func init() {
	const countKey = "counter"
	add := func(ctx sdk.ObjectContext, n int64) (counterUpdate, error) {
		old, err := sdk.Get[int64](ctx, countKey)
		if err != nil {
			return counterUpdate{}, err
		}
		return counterUpdate{OldValue: old, NewValue: old + n}, sdk.Set(ctx, countKey, old+n)
	}
	registry.add(counter, sdk.NewObject(counter).
		Handler("reset", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			sdk.Clear(ctx, countKey)
			return sdk.Void{}, nil
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int64, error) {
			return sdk.Get[int64](ctx, countKey)
		})).
		Handler("add", sdk.ObjectHandler(add)).
		Handler("addThenFail", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int64) (sdk.Void, error) {
			if _, err := add(ctx, n); err != nil {
				return sdk.Void{}, err
			}
			return sdk.Void{}, sdk.TerminalErrorf(500, "%s", ctx.Key())
		})))
}
