package main

import "github.com/resolute-run/resolute/sdk"

// MapObject (contracts/MapObject.kt): each entry in a state key of its own.
const mapObject = "MapObject"

// mapEntry is MapObject.Entry.
type mapEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func init() {
	registry.add(mapObject, sdk.NewObject(mapObject).
		Handler("set", sdk.ObjectHandler(func(ctx sdk.ObjectContext, e mapEntry) (sdk.Void, error) {
			return sdk.Void{}, sdk.Set(ctx, e.Key, e.Value)
		})).
		Handler("get", sdk.ObjectHandler(func(ctx sdk.ObjectContext, key string) (string, error) {
			return sdk.Get[string](ctx, key)
		})).
		Handler("clearAll", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) ([]mapEntry, error) {
			keys, err := sdk.Keys(ctx)
			if err != nil {
				return nil, err
			}
			entries := make([]mapEntry, 0, len(keys))
			for _, k := range keys {
				v, err := sdk.Get[string](ctx, k)
				if err != nil {
					return nil, err
				}
				entries = append(entries, mapEntry{Key: k, Value: v})
			}
			sdk.ClearAll(ctx)
			return entries, nil
		})))
}
