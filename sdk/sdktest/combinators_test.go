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

// TestRunAsync races RunAsync with timers and other runs. A run that loses keeps running until
// the attempt ends, then sees its context cancelled.
func TestRunAsync(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	cancelled := make(chan struct{}, 1)
	blocked := func(rc sdk.RunContext) (string, error) {
		select {
		case <-release:
		case <-rc.Done():
			cancelled <- struct{}{}
		}
		return "blocked", nil
	}
	svc := sdk.NewService("Runs").
		Handler("runFirst", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			run := sdk.RunAsync(ctx, func(sdk.RunContext) (string, error) { return "ran", nil })
			first, err := sdk.WaitFirst(ctx, sdk.After(ctx, forever), run)
			if err != nil || first != run {
				return "", sdk.TerminalErrorf(500, "first %v, %v", first, err)
			}
			return run.Result()
		})).
		Handler("timerFirst", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.OrTimeout(ctx, sdk.RunAsync(ctx, blocked), time.Millisecond)
		})).
		Handler("all", sdk.ServiceHandler(func(ctx sdk.Context, n int) (int, error) {
			var futs []sdk.Future
			for i := range n {
				futs = append(futs, sdk.RunAsync(ctx, func(sdk.RunContext) (int, error) { return i * i, nil }))
			}
			if err := sdk.Wait(ctx, futs...); err != nil {
				return 0, err
			}
			sum := 0
			for _, f := range futs {
				v, err := f.(*sdk.RunFuture[int]).Result()
				if err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		})).
		Handler("terminal", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.RunAsync(ctx, func(sdk.RunContext) (string, error) {
				return "", sdk.TerminalErrorf(418, "teapot")
			}).Result()
		}))
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(svc))

	if got, err := sdktest.Call[string](env, sdk.ToService("Runs", "runFirst"), nil); err != nil || got != "ran" {
		t.Fatalf("runFirst: %q, %v", got, err)
	}
	_, err := sdktest.Call[string](env, sdk.ToService("Runs", "timerFirst"), nil)
	if sdk.ErrorCode(err) != 408 {
		t.Fatalf("timerFirst: %v, want the timeout", err)
	}
	select { // the losing run sees the attempt end
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the losing run's context was not cancelled when the attempt ended")
	}
	if got, err := sdktest.Call[int](env, sdk.ToService("Runs", "all"), 4); err != nil || got != 0+1+4+9 {
		t.Fatalf("all: %d, %v", got, err)
	}
	if _, err := sdktest.Call[string](env, sdk.ToService("Runs", "terminal"), nil); sdk.ErrorCode(err) != 418 {
		t.Fatalf("terminal: %v, want 418", err)
	}
}
