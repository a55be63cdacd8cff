package main

import (
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// CancelTestRunner and CancelTestBlockingService (contracts/CancelTest.kt): a call tree blocked
// on a call, a sleep or an awakeable, for a test to cancel.
const (
	cancelRunner    = "CancelTestRunner"
	blockingService = "CancelTestBlockingService"
)

func init() {
	const canceledKey = "canceled"
	registry.add(cancelRunner, sdk.NewObject(cancelRunner).
		Handler("startTest", sdk.ObjectHandler(func(ctx sdk.ObjectContext, op string) (sdk.Void, error) {
			_, err := sdk.Call[sdk.Void](ctx, sdk.ToObject(blockingService, ctx.Key(), "block"), op)
			if err != nil && sdk.IsTerminal(err) && sdk.ErrorCode(err) == 409 {
				return sdk.Void{}, sdk.Set(ctx, canceledKey, true)
			}
			return sdk.Void{}, err
		})).
		Handler("verifyTest", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (bool, error) {
			return sdk.Get[bool](ctx, canceledKey)
		})))
	registry.add(blockingService, sdk.NewObject(blockingService).
		Handler("block", sdk.ObjectHandler(block)).
		Handler("isUnlocked", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, nil
		})))
}

// block hands an awakeable to AwakeableHolder, waits for it, then blocks on op: CALL (itself
// again, which waits for this key's lock forever), SLEEP or AWAKEABLE.
func block(ctx sdk.ObjectContext, op string) (sdk.Void, error) {
	a := sdk.Awakeable[sdk.Void](ctx)
	if _, err := sdk.Call[sdk.Void](ctx, sdk.ToObject(awakeableHolder, ctx.Key(), "hold"), a.ID()); err != nil {
		return sdk.Void{}, err
	}
	if _, err := a.Result(); err != nil {
		return sdk.Void{}, err
	}
	switch op {
	case "CALL":
		return sdk.Call[sdk.Void](ctx, sdk.ToObject(blockingService, ctx.Key(), "block"), op)
	case "SLEEP":
		return sdk.Void{}, sdk.Sleep(ctx, 1_000_000_000*time.Millisecond)
	case "AWAKEABLE":
		return sdk.Awakeable[sdk.Void](ctx).Result()
	}
	return sdk.Void{}, sdk.TerminalErrorf(400, "unexpected operation %q", op)
}
