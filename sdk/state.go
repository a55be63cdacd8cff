package sdk

import "github.com/resolute-run/resolute/sdk/internal/statemachine"

// Get reads state key of the object, decoded into T; the zero T when the key is absent.
func Get[T any](ctx ObjectSharedContext, key string) (T, error) {
	v, _, err := Lookup[T](ctx, key)
	return v, err
}

// Lookup reads state key and reports whether it is present.
func Lookup[T any](ctx ObjectSharedContext, key string) (value T, ok bool, err error) {
	inv := ctx.inv()
	id, err := inv.m.GetState(key)
	inv.check(err)
	if _, err := inv.await(id); err != nil {
		return value, false, err
	}
	r, _ := inv.result(id)
	if len(r.Value) == 0 && r.Kind != statemachine.ResultValue {
		return value, false, nil
	}
	value, err = decode[T](inv.codec, r.Value)
	if err != nil {
		return value, true, TerminalErrorf(500, "decode state %q: %v", key, err)
	}
	return value, true, nil
}

// Keys lists the object's state keys, sorted; an object without state has an empty (non-nil)
// list, so it encodes as [] rather than null.
func Keys(ctx ObjectSharedContext) ([]string, error) {
	inv := ctx.inv()
	id, err := inv.m.GetStateKeys()
	inv.check(err)
	if _, err := inv.await(id); err != nil {
		return nil, err
	}
	r, _ := inv.result(id)
	if r.Keys == nil {
		return []string{}, nil
	}
	return r.Keys, nil
}

// Set writes state key.
func Set[T any](ctx ObjectContext, key string, value T) error {
	inv := ctx.inv()
	b, err := encode(inv.codec, value)
	if err != nil {
		return TerminalErrorf(500, "encode state %q: %v", key, err)
	}
	inv.check(inv.m.SetState(key, b))
	return nil
}

// Clear removes state key.
func Clear(ctx ObjectContext, key string) {
	inv := ctx.inv()
	inv.check(inv.m.ClearState(key))
}

// ClearAll removes every state key of the object.
func ClearAll(ctx ObjectContext) {
	inv := ctx.inv()
	inv.check(inv.m.ClearAllState())
}
