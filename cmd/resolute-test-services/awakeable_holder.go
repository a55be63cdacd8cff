package main

import "github.com/resolute-run/resolute/sdk"

// AwakeableHolder (contracts/AwakeableHolder.kt) keeps one awakeable id per key for a test to
// resolve later.
const awakeableHolder = "AwakeableHolder"

func init() {
	const idKey = "id"
	registry.add(awakeableHolder, sdk.NewObject(awakeableHolder).
		Handler("hold", sdk.ObjectHandler(func(ctx sdk.ObjectContext, id string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Set(ctx, idKey, id)
		})).
		Handler("hasAwakeable", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (bool, error) {
			_, ok, err := sdk.Lookup[string](ctx, idKey)
			return ok, err
		})).
		Handler("unlock", sdk.ObjectHandler(func(ctx sdk.ObjectContext, payload string) (sdk.Void, error) {
			id, ok, err := sdk.Lookup[string](ctx, idKey)
			if err != nil {
				return sdk.Void{}, err
			}
			if !ok {
				return sdk.Void{}, sdk.TerminalErrorf(404, "No awakeable registered")
			}
			if err := sdk.ResolveAwakeable(ctx, id, payload); err != nil {
				return sdk.Void{}, err
			}
			sdk.Clear(ctx, idKey)
			return sdk.Void{}, nil
		})))
}
