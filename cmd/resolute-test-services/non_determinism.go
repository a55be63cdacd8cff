package main

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// NonDeterministic (contracts/NonDeterministic.kt): handlers that do one thing on their first
// attempt and another on the next (counted per key by the process), so the replay does not
// match the journal. Each sleeps after the differing step, so that it suspends there in the
// alwaysSuspending suite, and then sends Counter.add(1) to its key: the counter stays put when
// the SDK catches the mismatch.
const nonDeterministic = "NonDeterministic"

// attempts counts the attempts per key.
var attempts struct {
	mu sync.Mutex
	n  map[string]int
}

// leftAction is true on the odd attempts of ctx's key.
func leftAction(ctx sdk.ObjectContext) bool {
	attempts.mu.Lock()
	defer attempts.mu.Unlock()
	if attempts.n == nil {
		attempts.n = map[string]int{}
	}
	attempts.n[ctx.Key()]++
	return attempts.n[ctx.Key()]%2 == 1
}

// nonDeterministicHandler runs step, then sleeps 100 ms and sends Counter.add(1).
func nonDeterministicHandler(step func(ctx sdk.ObjectContext) error) sdk.ObjectHandlerDef {
	return sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
		if err := step(ctx); err != nil {
			return sdk.Void{}, err
		}
		if err := sdk.Sleep(ctx, 100*time.Millisecond); err != nil {
			return sdk.Void{}, err
		}
		sdk.Send(ctx, sdk.ToObject(counter, ctx.Key(), "add"), 1)
		return sdk.Void{}, nil
	})
}

func callCounter(ctx sdk.ObjectContext, handler string) error {
	_, err := sdk.Call[sdk.Void](ctx, sdk.ToObject(counter, "abc", handler), sdk.Void{})
	return err
}

func init() {
	eitherSleepOrCall := nonDeterministicHandler(func(ctx sdk.ObjectContext) error {
		if leftAction(ctx) {
			return sdk.Sleep(ctx, 100*time.Millisecond)
		}
		return callCounter(ctx, "get")
	})
	registry.add(nonDeterministic, sdk.NewObject(nonDeterministic).
		Handler("eitherSleepOrCall", eitherSleepOrCall).
		Handler("leftSleepRightCall", eitherSleepOrCall). // the TypeScript services' name
		Handler("callDifferentMethod", nonDeterministicHandler(func(ctx sdk.ObjectContext) error {
			if leftAction(ctx) {
				return callCounter(ctx, "get")
			}
			return callCounter(ctx, "reset")
		})).
		Handler("backgroundInvokeWithDifferentTargets", nonDeterministicHandler(func(ctx sdk.ObjectContext) error {
			handler := "reset"
			if leftAction(ctx) {
				handler = "get"
			}
			sdk.Send(ctx, sdk.ToObject(counter, "abc", handler), sdk.Void{})
			return nil
		})).
		Handler("setDifferentKey", nonDeterministicHandler(func(ctx sdk.ObjectContext) error {
			key := "b"
			if leftAction(ctx) {
				key = "a"
			}
			return sdk.Set(ctx, key, "my-state")
		})).
		// setDifferentValue (TypeScript services only) sets a value drawn outside ctx.Rand.
		Handler("setDifferentValue", nonDeterministicHandler(func(ctx sdk.ObjectContext) error {
			return sdk.Set(ctx, "a", rand.Text())
		})))
}
