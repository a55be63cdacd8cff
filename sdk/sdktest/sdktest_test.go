package sdktest_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

func TestEmbeddedServer(t *testing.T) {
	var charged atomic.Int64
	account := sdk.NewObject("Account").
		Handler("deposit", sdk.ObjectHandler(func(ctx sdk.ObjectContext, amount int) (int, error) {
			if amount <= 0 {
				return 0, sdk.TerminalErrorf(422, "amount must be positive, got %d", amount)
			}
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (bool, error) { charged.Add(1); return true, nil }); err != nil {
				return 0, err
			}
			balance, err := sdk.Get[int](ctx, "balance")
			if err != nil {
				return 0, err
			}
			return balance + amount, sdk.Set(ctx, "balance", balance+amount)
		}))
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(account))

	for i, want := range []int{5, 12} {
		got, err := sdktest.Call[int](env, sdk.ToObject("Account", "acc-1", "deposit"), want-[]int{0, 5}[i])
		if err != nil || got != want {
			t.Fatalf("deposit %d: %d, %v", i, got, err)
		}
	}
	// Same idempotency key: executed once, same answer.
	for range 2 {
		got, err := sdktest.Call[int](env, sdk.ToObject("Account", "acc-2", "deposit"), 7, sdktest.WithIdempotencyKey("once"))
		if err != nil || got != 7 {
			t.Fatalf("idempotent deposit: %d, %v", got, err)
		}
	}
	if charged.Load() != 3 {
		t.Fatalf("side effect ran %d times, want 3", charged.Load())
	}
	_, err := sdktest.Call[int](env, sdk.ToObject("Account", "acc-1", "deposit"), -1)
	var term *sdk.Terminal
	if !errors.As(err, &term) || term.Code != 422 {
		t.Fatalf("negative deposit: %v", err)
	}
	if id, err := sdktest.Send(env, sdk.ToObject("Account", "acc-3", "deposit"), 1); err != nil || len(id) != 38 {
		t.Fatalf("send: %q %v", id, err)
	}
}
