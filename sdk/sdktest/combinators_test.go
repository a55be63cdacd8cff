package sdktest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// forever is a timer that does not fire while a test runs.
const forever = time.Hour

// TestCombinators runs WaitFirst, Wait, WaitEach and OrTimeout over calls and timers through the
// embedded runtime. Which future completes first never depends on timing: a timer of an hour
// against one of a millisecond or an immediate call, or calls to one object key, which the
// runtime runs in the order they were sent.
func TestCombinators(t *testing.T) {
	callees := sdk.NewObject("Callee").
		Handler("echo", sdk.ObjectHandler(func(ctx sdk.ObjectContext, s string) (string, error) {
			return s, nil
		})).
		Handler("hang", sdk.ObjectHandler(func(ctx sdk.ObjectContext, s string) (string, error) {
			return s, sdk.Sleep(ctx, forever)
		}))
	echo := func(ctx sdk.Context, key, s string) *sdk.CallFuture[string] {
		return sdk.CallAsync[string](ctx, sdk.ToObject("Callee", key, "echo"), s)
	}
	hang := func(ctx sdk.Context, key string) *sdk.CallFuture[string] {
		return sdk.CallAsync[string](ctx, sdk.ToObject("Callee", key, "hang"), "late")
	}
	tests := []struct {
		name    string
		handler func(ctx sdk.Context, key string) (string, error)
		want    string
		code    uint16 // of the terminal error, when one is expected
	}{
		{"WaitFirst: call before timer", func(ctx sdk.Context, key string) (string, error) {
			call, timer := echo(ctx, key, "call"), sdk.After(ctx, forever)
			first, err := sdk.WaitFirst(ctx, timer, call)
			if err != nil || first != call {
				return "", sdk.TerminalErrorf(500, "first %v, %v", first, err)
			}
			return call.Result()
		}, "call", 0},
		{"WaitFirst: timer before call", func(ctx sdk.Context, key string) (string, error) {
			call, timer := hang(ctx, key), sdk.After(ctx, time.Millisecond)
			first, err := sdk.WaitFirst(ctx, call, timer)
			if err != nil || first != timer {
				return "", sdk.TerminalErrorf(500, "first %v, %v", first, err)
			}
			return "timer", nil
		}, "timer", 0},
		{"Wait for all", func(ctx sdk.Context, key string) (string, error) {
			a, b, c := echo(ctx, key+"a", "a"), echo(ctx, key+"b", "b"), sdk.After(ctx, time.Millisecond)
			if err := sdk.Wait(ctx, a, b, c); err != nil {
				return "", err
			}
			av, _ := a.Result()
			bv, _ := b.Result()
			return av + bv, nil
		}, "ab", 0},
		{"WaitEach in completion order", func(ctx sdk.Context, key string) (string, error) {
			first, second := echo(ctx, key, "1"), echo(ctx, key, "2") // one key: run in order
			var got []string
			for f, err := range sdk.WaitEach(ctx, second, first) {
				if err != nil {
					return "", err
				}
				v, err := f.(*sdk.CallFuture[string]).Result()
				if err != nil {
					return "", err
				}
				got = append(got, v)
			}
			return strings.Join(got, ","), nil
		}, "1,2", 0},
		{"OrTimeout in time", func(ctx sdk.Context, key string) (string, error) {
			return sdk.OrTimeout(ctx, echo(ctx, key, "quick"), forever)
		}, "quick", 0},
		{"OrTimeout times out", func(ctx sdk.Context, key string) (string, error) {
			return sdk.OrTimeout(ctx, hang(ctx, key), time.Millisecond)
		}, "", 408},
	}
	svc := sdk.NewService("Combinators")
	for _, tc := range tests {
		svc.Handler(handlerName(tc.name), sdk.ServiceHandler(tc.handler))
	}
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(callees, svc))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sdktest.Call[string](env, sdk.ToService("Combinators", handlerName(tc.name)), handlerName(tc.name))
			var term *sdk.Terminal
			switch {
			case tc.code != 0 && (!errors.As(err, &term) || term.Code != tc.code):
				t.Fatalf("got %q, %v; want a terminal error %d", got, err, tc.code)
			case tc.code == 0 && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// handlerName turns a test name into a handler name.
func handlerName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}
