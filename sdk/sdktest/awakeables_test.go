package sdktest_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// completion is what the Completer service does to an awakeable (ID) or to a named signal of an
// invocation (Invocation, Name): resolve it with each of Values in turn, then, if RejectCode is
// set, reject it with that code and Message.
type completion struct {
	ID         string   `json:"id,omitempty"`
	Invocation string   `json:"invocation,omitempty"`
	Name       string   `json:"name,omitempty"`
	Values     []string `json:"values,omitempty"`
	RejectCode uint16   `json:"rejectCode,omitempty"`
	Message    string   `json:"message,omitempty"`
}

// completer carries out completions one after another, from a handler of its own.
var completer = sdk.NewService("Completer").
	Handler("complete", sdk.ServiceHandler(func(ctx sdk.Context, cs []completion) (sdk.Void, error) {
		for _, c := range cs {
			if err := c.do(ctx); err != nil {
				return sdk.Void{}, err
			}
		}
		return sdk.Void{}, nil
	}))

func (c completion) do(ctx sdk.Context) error {
	for _, v := range c.Values {
		var err error
		if c.Name != "" {
			err = sdk.ResolveSignal(ctx, c.Invocation, c.Name, v)
		} else {
			err = sdk.ResolveAwakeable(ctx, c.ID, v)
		}
		if err != nil {
			return err
		}
	}
	if c.RejectCode != 0 {
		reason := sdk.TerminalErrorf(c.RejectCode, "%s", c.Message)
		if c.Name != "" {
			sdk.RejectSignal(ctx, c.Invocation, c.Name, reason)
		} else {
			sdk.RejectAwakeable(ctx, c.ID, reason)
		}
	}
	return nil
}

// complete asks the Completer, one-way, to carry out cs in order.
func complete(ctx sdk.Context, cs ...completion) { sdk.Send(ctx, toCompleter, cs) }

var toCompleter = sdk.ToService("Completer", "complete")

// inProcessCase is a handler run through the embedded runtime and what its caller must get: the
// string want, or a terminal error with code and a message containing msg.
type inProcessCase struct {
	name    string
	handler func(ctx sdk.Context, _ sdk.Void) (string, error)
	want    string
	code    uint16
	msg     string
}

// runInProcess binds each case as a handler of service name next to the Completer, calls each
// one through the ingress, and checks its answer.
func runInProcess(t *testing.T, name string, tests []inProcessCase) {
	t.Helper()
	svc := sdk.NewService(name)
	for _, tc := range tests {
		svc.Handler(handlerName(tc.name), sdk.ServiceHandler(tc.handler))
	}
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(completer, svc))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sdktest.Call[string](env, sdk.ToService(name, handlerName(tc.name)), nil)
			var term *sdk.Terminal
			switch {
			case tc.code != 0 && (!errors.As(err, &term) || term.Code != tc.code || !strings.Contains(err.Error(), tc.msg)):
				t.Fatalf("got %q, %v; want a terminal error %d %q", got, err, tc.code, tc.msg)
			case tc.code == 0 && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestAwakeablesBetweenHandlers: an awakeable resolved or rejected by another handler, sent its
// id one-way or called with it before the await; the first resolution wins; a rejection keeps
// its code and message.
func TestAwakeablesBetweenHandlers(t *testing.T) {
	runInProcess(t, "Awakeables", []inProcessCase{
		{name: "resolved by a one-way send", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: a.ID(), Values: []string{"sent"}})
			return a.Result()
		}, want: "sent"},
		{name: "resolved by a call before the await", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			if _, err := sdk.Call[sdk.Void](ctx, toCompleter, []completion{{ID: a.ID(), Values: []string{"early"}}}); err != nil {
				return "", err
			}
			return a.Result()
		}, want: "early"},
		{name: "resolved twice the first wins", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			// done is resolved after a's three completions, so a's result is read once all of
			// them have reached this invocation.
			a, done := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: a.ID(), Values: []string{"first", "second"}, RejectCode: 400, Message: "third"},
				completion{ID: done.ID(), Values: []string{"done"}})
			if _, err := done.Result(); err != nil {
				return "", err
			}
			return a.Result()
		}, want: "first"},
		{name: "rejected with a code", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: a.ID(), RejectCode: 418, Message: "no tea"})
			return a.Result()
		}, code: 418, msg: "no tea"},
		{name: "two awakeables each get their own value", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a, b := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			if a.ID() == b.ID() {
				return "", sdk.TerminalErrorf(500, "two awakeables share the id %s", a.ID())
			}
			complete(ctx, completion{ID: b.ID(), Values: []string{"b"}})
			complete(ctx, completion{ID: a.ID(), Values: []string{"a"}})
			av, err := a.Result()
			if err != nil {
				return "", err
			}
			bv, err := b.Result()
			return av + bv, err
		}, want: "ab"},
		{name: "resolved with a value of another type", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[int](ctx)
			complete(ctx, completion{ID: a.ID(), Values: []string{"not a number"}})
			n, err := a.Result()
			return fmt.Sprint(n), err
		}, code: 500, msg: "decode awakeable"},
	})
}

// TestSignals: named signals sent by another handler (one-way, or called before the await), to
// this invocation by itself, by name (two names never mix), rejected with a code.
func TestSignals(t *testing.T) {
	runInProcess(t, "Signals", []inProcessCase{
		{name: "sent by another handler", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			s := sdk.Signal[string](ctx, "go")
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "go", Values: []string{"went"}})
			return s.Result()
		}, want: "went"},
		{name: "sent before the await", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			c := completion{Invocation: ctx.InvocationID(), Name: "go", Values: []string{"early"}}
			if _, err := sdk.Call[sdk.Void](ctx, toCompleter, []completion{c}); err != nil {
				return "", err
			}
			return sdk.Signal[string](ctx, "go").Result()
		}, want: "early"},
		{name: "sent to itself", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			if err := sdk.ResolveSignal(ctx, ctx.InvocationID(), "self", "me"); err != nil {
				return "", err
			}
			return sdk.Signal[string](ctx, "self").Result()
		}, want: "me"},
		{name: "each name gets its own value", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "b", Values: []string{"B"}})
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "a", Values: []string{"A"}})
			a, err := sdk.Signal[string](ctx, "a").Result()
			if err != nil {
				return "", err
			}
			b, err := sdk.Signal[string](ctx, "b").Result()
			return a + b, err
		}, want: "AB"},
		{name: "sent twice the first wins", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "go", Values: []string{"first", "second"}},
				completion{Invocation: ctx.InvocationID(), Name: "done", Values: []string{"done"}})
			if _, err := sdk.Signal[string](ctx, "done").Result(); err != nil {
				return "", err
			}
			return sdk.Signal[string](ctx, "go").Result()
		}, want: "first"},
		{name: "a stream: each wait gets the next of the name", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "s", Values: []string{"a", "b"}},
				completion{Invocation: ctx.InvocationID(), Name: "done", Values: []string{"done"}})
			// Both "s" arrived before "done": they wait in a queue, not only one after the other.
			if _, err := sdk.Signal[string](ctx, "done").Result(); err != nil {
				return "", err
			}
			first := sdk.Signal[string](ctx, "s")
			a, err := first.Result()
			if err != nil {
				return "", err
			}
			b, err := sdk.Signal[string](ctx, "s").Result()
			if err != nil {
				return "", err
			}
			again, err := first.Result() // a future keeps what it took
			return a + b + again, err
		}, want: "aba"},
		{name: "rejected with a code", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "go", RejectCode: 451, Message: "forbidden"})
			return sdk.Signal[string](ctx, "go").Result()
		}, code: 451, msg: "forbidden"},
	})
}

// TestCombinatorsOverAwakeables: WaitFirst, Wait and OrTimeout over awakeables and signals. Only
// the futures the test completes can complete, so which one wins never depends on timing.
func TestCombinatorsOverAwakeables(t *testing.T) {
	runInProcess(t, "AwakeableCombinators", []inProcessCase{
		{name: "WaitFirst returns the resolved awakeable", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a, b := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: b.ID(), Values: []string{"b"}})
			first, err := sdk.WaitFirst(ctx, a, b)
			if err != nil {
				return "", err
			}
			if first != b {
				return "", sdk.TerminalErrorf(500, "WaitFirst returned %v, want the resolved awakeable", first)
			}
			return b.Result()
		}, want: "b"},
		{name: "WaitFirst of a signal and an awakeable", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a, s := sdk.Awakeable[string](ctx), sdk.Signal[string](ctx, "s")
			complete(ctx, completion{Invocation: ctx.InvocationID(), Name: "s", Values: []string{"signal"}})
			first, err := sdk.WaitFirst(ctx, a, s)
			if err != nil {
				return "", err
			}
			if first != s {
				return "", sdk.TerminalErrorf(500, "WaitFirst returned %v, want the signal", first)
			}
			return s.Result()
		}, want: "signal"},
		{name: "Wait for every awakeable", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a, b, c := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: c.ID(), Values: []string{"c"}})
			complete(ctx, completion{ID: a.ID(), Values: []string{"a"}})
			complete(ctx, completion{ID: b.ID(), Values: []string{"b"}})
			if err := sdk.Wait(ctx, a, b, c); err != nil {
				return "", err
			}
			var got string
			for _, x := range []*sdk.AwakeableFuture[string]{a, b, c} {
				v, err := x.Result()
				if err != nil {
					return "", err
				}
				got += v
			}
			return got, nil
		}, want: "abc"},
		{name: "OrTimeout resolved in time", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: a.ID(), Values: []string{"in time"}})
			return sdk.OrTimeout(ctx, a, forever)
		}, want: "in time"},
		{name: "OrTimeout never resolved", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.OrTimeout(ctx, sdk.Awakeable[string](ctx), time.Millisecond)
		}, code: 408, msg: "Timeout"},
		{name: "OrTimeout rejected in time", handler: func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			complete(ctx, completion{ID: a.ID(), RejectCode: 409, Message: "taken"})
			return sdk.OrTimeout(ctx, a, forever)
		}, code: 409, msg: "taken"},
	})
}

// TestAwakeablesOverIngress: awakeables resolved and rejected from outside, over the ingress API
// (POST /restate/awakeables/{id}/resolve|reject). Each resolution is in the log when it is
// answered 202, so resolutions made one after another reach the handler in that order: WaitEach
// follows it, and of two resolutions of one awakeable the first wins.
func TestAwakeablesOverIngress(t *testing.T) {
	published := make(chan []string, 4)
	publish := func(ctx sdk.Context, ids ...string) error {
		_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
			published <- ids
			return sdk.Void{}, nil
		})
		return err
	}
	svc := sdk.NewService("Outside").
		Handler("each", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a, b, c := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			if err := publish(ctx, a.ID(), b.ID(), c.ID()); err != nil {
				return "", err
			}
			var got []string
			for f, err := range sdk.WaitEach(ctx, a, b, c) {
				if err != nil {
					return "", err
				}
				v, err := f.(*sdk.AwakeableFuture[string]).Result()
				if err != nil {
					return "", err
				}
				got = append(got, v)
			}
			return strings.Join(got, ","), nil
		})).
		Handler("after", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			// Reads a once done is resolved: after every earlier completion of a.
			a, done := sdk.Awakeable[string](ctx), sdk.Awakeable[string](ctx)
			if err := publish(ctx, a.ID(), done.ID()); err != nil {
				return "", err
			}
			if _, err := done.Result(); err != nil {
				return "", err
			}
			return a.Result()
		}))
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(svc))
	awaitIDs := func() []string {
		t.Helper()
		select {
		case ids := <-published:
			return ids
		case <-time.After(time.Minute):
			t.Fatal("no awakeable ids published")
			return nil
		}
	}

	t.Run("WaitEach follows the order of resolution", func(t *testing.T) {
		answer := callAsync(env, "each")
		ids := awaitIDs()
		for _, r := range []struct{ id, value string }{{ids[2], "c"}, {ids[0], "a"}, {ids[1], "b"}} {
			resolve(t, env, r.id, "resolve", fmt.Sprintf("%q", r.value))
		}
		if got, err := answer.wait(); err != nil || got != "c,a,b" {
			t.Fatalf("got %q, %v; want \"c,a,b\"", got, err)
		}
	})
	t.Run("resolved twice the first wins", func(t *testing.T) {
		answer := callAsync(env, "after")
		ids := awaitIDs()
		resolve(t, env, ids[0], "resolve", `"first"`)
		resolve(t, env, ids[0], "reject", "second")
		resolve(t, env, ids[1], "resolve", `"done"`)
		if got, err := answer.wait(); err != nil || got != "first" {
			t.Fatalf("got %q, %v; want \"first\"", got, err)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		answer := callAsync(env, "after")
		ids := awaitIDs()
		resolve(t, env, ids[0], "reject", "sold out")
		resolve(t, env, ids[0], "resolve", `"too late"`)
		resolve(t, env, ids[1], "resolve", `"done"`)
		got, err := answer.wait()
		if sdk.ErrorCode(err) != 500 || !strings.Contains(fmt.Sprint(err), "sold out") {
			t.Fatalf("got %q, %v; want the rejection, 500 sold out", got, err)
		}
	})
}

// answer is the result of a call made on another goroutine.
type answer struct {
	value chan string
	err   chan error
}

// callAsync calls Outside/handler through the ingress on another goroutine.
func callAsync(env *sdktest.Env, handler string) answer {
	a := answer{value: make(chan string, 1), err: make(chan error, 1)}
	go func() {
		v, err := sdktest.Call[string](env, sdk.ToService("Outside", handler), nil)
		a.value <- v
		a.err <- err
	}()
	return a
}

func (a answer) wait() (string, error) { return <-a.value, <-a.err }

// resolve POSTs /restate/awakeables/{id}/{op} with body and expects 202.
func resolve(t *testing.T, env *sdktest.Env, id, op, body string) {
	t.Helper()
	resp, err := http.Post(env.IngressURL()+"/restate/awakeables/"+id+"/"+op, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%s %s: status %d %s, want 202", op, id, resp.StatusCode, b)
	}
}

// TestCancelInvocation: a handler cancels another one that waits on an awakeable. The waiter's
// await returns sdk.ErrCancelled; later awaits work normally, so it cleans up (a journaled run,
// whose result it reads) before it returns the cancellation, which its caller sees as 409.
func TestCancelInvocation(t *testing.T) {
	svc := sdk.NewService("Cancel").
		Handler("waiter", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			sdk.Send(ctx, sdk.ToService("Cancel", "canceller"), ctx.InvocationID())
			v, err := a.Result()
			if !errors.Is(err, sdk.ErrCancelled) {
				return "", sdk.TerminalErrorf(500, "got %q, %v; want the cancellation", v, err)
			}
			note, cleanupErr := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "cleaned up", nil })
			if cleanupErr != nil || note != "cleaned up" {
				return "", sdk.TerminalErrorf(500, "clean-up after the cancellation: %q, %v", note, cleanupErr)
			}
			return "", err
		})).
		Handler("canceller", sdk.ServiceHandler(func(ctx sdk.Context, id string) (sdk.Void, error) {
			sdk.CancelInvocation(ctx, id)
			return sdk.Void{}, nil
		}))
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(svc))
	got, err := sdktest.Call[string](env, sdk.ToService("Cancel", "waiter"), nil)
	if sdk.ErrorCode(err) != 409 || !strings.Contains(fmt.Sprint(err), "Cancelled") {
		t.Fatalf("waiter: %q, %v; want 409 Cancelled", got, err)
	}
}
