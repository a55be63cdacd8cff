package main

import "github.com/resolute-run/resolute/sdk"

// KillTestRunner and KillTestSingleton (contracts/KillTest.kt): a call tree that never ends, for
// a test to kill.
const (
	killRunner    = "KillTestRunner"
	killSingleton = "KillTestSingleton"
)

func init() {
	registry.add(killRunner, sdk.NewObject(killRunner).
		Handler("startCallTree", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			return sdk.Call[sdk.Void](ctx, sdk.ToObject(killSingleton, ctx.Key(), "recursiveCall"), sdk.Void{})
		})))
	registry.add(killSingleton, sdk.NewObject(killSingleton).
		// recursiveCall hands an awakeable to AwakeableHolder and, once it is resolved, calls
		// itself, which waits for this key's lock for ever.
		Handler("recursiveCall", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			a := sdk.Awakeable[sdk.Void](ctx)
			sdk.Send(ctx, sdk.ToObject(awakeableHolder, ctx.Key(), "hold"), a.ID())
			if _, err := a.Result(); err != nil {
				return sdk.Void{}, err
			}
			return sdk.Call[sdk.Void](ctx, sdk.ToObject(killSingleton, ctx.Key(), "recursiveCall"), sdk.Void{})
		})).
		Handler("isUnlocked", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, nil
		})))
}
