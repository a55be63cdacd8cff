package main

import (
	"errors"
	"strings"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// VirtualObjectCommandInterpreter (contracts/VirtualObjectCommandInterpreter.kt) runs a list of
// commands built of awaitables (awakeables, sleeps, runs, named signals) and combinators over
// them, appending each command's result to the "results" state.
const commandInterpreter = "VirtualObjectCommandInterpreter"

// awaitableCommand is one AwaitableCommand: {"type": …, its fields}.
type awaitableCommand struct {
	Type          string `json:"type"`
	AwakeableKey  string `json:"awakeableKey,omitempty"`
	TimeoutMillis int64  `json:"timeoutMillis,omitempty"`
	Value         string `json:"value,omitempty"`
	Reason        string `json:"reason,omitempty"`
	SignalName    string `json:"signalName,omitempty"`
}

// interpreterCommandVO is one Command: {"type": …, its fields}.
type interpreterCommandVO struct {
	Type          string             `json:"type"`
	Commands      []awaitableCommand `json:"commands,omitempty"`
	Command       *awaitableCommand  `json:"command,omitempty"`
	AwakeableKey  string             `json:"awakeableKey,omitempty"`
	TimeoutMillis int64              `json:"timeoutMillis,omitempty"`
	Value         string             `json:"value,omitempty"`
	Reason        string             `json:"reason,omitempty"`
	EnvName       string             `json:"envName,omitempty"`
}

type interpretRequest struct {
	Commands []interpreterCommandVO `json:"commands"`
}

// awakeableRequest is ResolveAwakeable (Value) and RejectAwakeable (Reason).
type awakeableRequest struct {
	AwakeableKey string `json:"awakeableKey"`
	Value        string `json:"value"`
	Reason       string `json:"reason"`
}

// awaitable is an awaitable command started: its future and its result as a string.
type awaitable struct {
	fut    sdk.Future
	result func() (string, error)
}

func awakeableStateKey(key string) string { return "awk-" + key }

// start creates the awaitable c stands for.
func (c awaitableCommand) start(ctx sdk.ObjectContext) (awaitable, error) {
	switch c.Type {
	case "createAwakeable":
		a := sdk.Awakeable[string](ctx)
		return awaitable{a, a.Result}, sdk.Set(ctx, awakeableStateKey(c.AwakeableKey), a.ID())
	case "sleep":
		s := sdk.After(ctx, time.Duration(c.TimeoutMillis)*time.Millisecond)
		return awaitable{s, func() (string, error) { return "sleep", s.Done() }}, nil
	case "runReturns":
		// Some actual work, as the contract asks, so the run completes after the handler waits.
		r := sdk.RunAsync(ctx, func(rc sdk.RunContext) (string, error) {
			select {
			case <-time.After(time.Millisecond):
			case <-rc.Done():
			}
			return c.Value, nil
		})
		return awaitable{r, r.Result}, nil
	case "runThrowTerminalException":
		r := sdk.RunAsync(ctx, func(sdk.RunContext) (string, error) {
			return "", sdk.TerminalErrorf(500, "%s", c.Reason)
		})
		return awaitable{r, r.Result}, nil
	case "createSignal":
		s := sdk.Signal[string](ctx, c.SignalName)
		return awaitable{s, s.Result}, nil
	}
	return awaitable{}, sdk.TerminalErrorf(400, "unknown awaitable command %q", c.Type)
}

func startAll(ctx sdk.ObjectContext, cs []awaitableCommand) ([]awaitable, []sdk.Future, error) {
	as := make([]awaitable, len(cs))
	futs := make([]sdk.Future, len(cs))
	for i, c := range cs {
		a, err := c.start(ctx)
		if err != nil {
			return nil, nil, err
		}
		as[i], futs[i] = a, a.fut
	}
	return as, futs, nil
}

func find(as []awaitable, f sdk.Future) awaitable {
	for _, a := range as {
		if a.fut == f {
			return a
		}
	}
	panic("resolute-test-services: a combinator returned a future it was not given")
}

// firstCompleted is RestatePromise.race: the first to complete, its failure included.
func firstCompleted(ctx sdk.ObjectContext, cs []awaitableCommand) (string, error) {
	as, futs, err := startAll(ctx, cs)
	if err != nil {
		return "", err
	}
	first, err := sdk.WaitFirst(ctx, futs...)
	if err != nil {
		return "", err
	}
	return find(as, first).result()
}

// firstSucceeded is RestatePromise.any: the first to succeed, or the last failure when all fail.
func firstSucceeded(ctx sdk.ObjectContext, cs []awaitableCommand) (string, error) {
	as, futs, err := startAll(ctx, cs)
	if err != nil {
		return "", err
	}
	var last error = sdk.TerminalErrorf(500, "no awaitable to wait for")
	for f, err := range sdk.WaitEach(ctx, futs...) {
		if err != nil {
			return "", err
		}
		v, err := find(as, f).result()
		if err == nil {
			return v, nil
		}
		last = err
	}
	return "", last
}

// allSucceeded is RestatePromise.all: every value joined by "|" in command order, or the first
// failure to complete.
func allSucceeded(ctx sdk.ObjectContext, cs []awaitableCommand) (string, error) {
	as, futs, err := startAll(ctx, cs)
	if err != nil {
		return "", err
	}
	for f, err := range sdk.WaitEach(ctx, futs...) {
		if err != nil {
			return "", err
		}
		if _, err := find(as, f).result(); err != nil {
			return "", err
		}
	}
	values := make([]string, len(as))
	for i, a := range as {
		values[i], _ = a.result()
	}
	return strings.Join(values, "|"), nil
}

// allCompleted is RestatePromise.allSettled: "ok:<value>" or "err:<message>" per command, in
// command order, joined by "|".
func allCompleted(ctx sdk.ObjectContext, cs []awaitableCommand) (string, error) {
	as, futs, err := startAll(ctx, cs)
	if err != nil {
		return "", err
	}
	if err := sdk.Wait(ctx, futs...); err != nil {
		return "", err
	}
	outcomes := make([]string, len(as))
	for i, a := range as {
		if v, err := a.result(); err != nil {
			outcomes[i] = "err:" + err.Error()
		} else {
			outcomes[i] = "ok:" + v
		}
	}
	return strings.Join(outcomes, "|"), nil
}

func awaitAwakeableOrTimeout(ctx sdk.ObjectContext, key string, timeout time.Duration) (string, error) {
	a := sdk.Awakeable[string](ctx)
	if err := sdk.Set(ctx, awakeableStateKey(key), a.ID()); err != nil {
		return "", err
	}
	v, err := sdk.OrTimeout(ctx, a, timeout)
	if errors.Is(err, sdk.ErrTimeout) {
		return "", sdk.TerminalErrorf(500, "await-timeout")
	}
	return v, err
}

func completeAwakeable(ctx sdk.ObjectSharedContext, r awakeableRequest, reject bool) (sdk.Void, error) {
	id, ok, err := sdk.Lookup[string](ctx, awakeableStateKey(r.AwakeableKey))
	if err != nil {
		return sdk.Void{}, err
	}
	if !ok {
		return sdk.Void{}, sdk.TerminalErrorf(500, "awakeable is not registered yet")
	}
	if reject {
		sdk.RejectAwakeable(ctx, id, sdk.TerminalErrorf(500, "%s", r.Reason))
		return sdk.Void{}, nil
	}
	return sdk.Void{}, sdk.ResolveAwakeable(ctx, id, r.Value)
}

// interpretCommand runs one command and returns its result.
func interpretCommand(ctx sdk.ObjectContext, c interpreterCommandVO) (string, error) {
	switch c.Type {
	case "awaitAny", "awaitFirstCompleted":
		return firstCompleted(ctx, c.Commands)
	case "awaitAnySuccessful", "awaitFirstSucceededOrAllFailed":
		return firstSucceeded(ctx, c.Commands)
	case "awaitAllSucceededOrFirstFailed":
		return allSucceeded(ctx, c.Commands)
	case "awaitAllCompleted":
		return allCompleted(ctx, c.Commands)
	case "awaitOne":
		if c.Command == nil {
			return "", sdk.TerminalErrorf(400, "awaitOne without a command")
		}
		a, err := c.Command.start(ctx)
		if err != nil {
			return "", err
		}
		return a.result()
	case "awaitAwakeableOrTimeout":
		return awaitAwakeableOrTimeout(ctx, c.AwakeableKey, time.Duration(c.TimeoutMillis)*time.Millisecond)
	case "resolveAwakeable", "rejectAwakeable":
		_, err := completeAwakeable(ctx, awakeableRequest{AwakeableKey: c.AwakeableKey, Value: c.Value, Reason: c.Reason}, c.Type == "rejectAwakeable")
		return "", err
	case "getEnvVariable":
		return getEnvVariable(ctx, c.EnvName)
	}
	return "", sdk.TerminalErrorf(400, "unknown command %q", c.Type)
}

func init() {
	const resultsKey = "results"
	registry.add(commandInterpreter, sdk.NewObject(commandInterpreter).
		Handler("interpretCommands", sdk.ObjectHandler(func(ctx sdk.ObjectContext, req interpretRequest) (string, error) {
			last := ""
			for _, c := range req.Commands {
				var err error
				if last, err = interpretCommand(ctx, c); err != nil {
					return "", err
				}
				results, err := sdk.Get[[]string](ctx, resultsKey)
				if err != nil {
					return "", err
				}
				if err := sdk.Set(ctx, resultsKey, append(results, last)); err != nil {
					return "", err
				}
			}
			return last, nil
		})).
		Handler("resolveAwakeable", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, r awakeableRequest) (sdk.Void, error) {
			return completeAwakeable(ctx, r, false)
		})).
		Handler("rejectAwakeable", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, r awakeableRequest) (sdk.Void, error) {
			return completeAwakeable(ctx, r, true)
		})).
		Handler("hasAwakeable", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, key string) (bool, error) {
			_, ok, err := sdk.Lookup[string](ctx, awakeableStateKey(key))
			return ok, err
		})).
		Handler("getResults", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) ([]string, error) {
			results, err := sdk.Get[[]string](ctx, resultsKey)
			if results == nil {
				results = []string{}
			}
			return results, err
		})))
}
