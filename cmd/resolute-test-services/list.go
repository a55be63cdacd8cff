package main

import "github.com/resolute-run/resolute/sdk"

// ListObject (contracts/ListObject.kt): a list of strings per key, in one state entry.
const listObject = "ListObject"

func init() {
	const listKey = "list"
	get := func(ctx sdk.ObjectContext) ([]string, error) {
		list, err := sdk.Get[[]string](ctx, listKey)
		if list == nil {
			list = []string{} // [] rather than null
		}
		return list, err
	}
	registry.add(listObject, sdk.NewObject(listObject).
		Handler("append", sdk.ObjectHandler(func(ctx sdk.ObjectContext, value string) (sdk.Void, error) {
			list, err := get(ctx)
			if err != nil {
				return sdk.Void{}, err
			}
			return sdk.Void{}, sdk.Set(ctx, listKey, append(list, value))
		})).
		Handler("get", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) ([]string, error) {
			return get(ctx)
		})).
		Handler("clear", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) ([]string, error) {
			list, err := get(ctx)
			if err != nil {
				return nil, err
			}
			sdk.Clear(ctx, listKey)
			return list, nil
		})))
}
