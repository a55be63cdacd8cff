package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// ObjectInterpreterL0..L2 and ServiceInterpreterHelper (contracts/interpreter.kt): objects that
// run a program of numbered commands, each layer calling only the next one (no deadlock).
const (
	interpreterLayers = 3
	interpreterHelper = "ServiceInterpreterHelper"
)

// Command kinds of the interpreter's programs.
const (
	cmdSetState                          = 1
	cmdGetState                          = 2
	cmdClearState                        = 3
	cmdIncrementStateCounter             = 4
	cmdIncrementStateCounterIndirectly   = 5
	cmdSleep                             = 6
	cmdCallService                       = 7
	cmdCallSlowService                   = 8
	cmdIncrementViaDelayedCall           = 9
	cmdSideEffect                        = 10
	cmdThrowingSideEffect                = 11
	cmdSlowSideEffect                    = 12
	cmdRecoverTerminalCall               = 13
	cmdRecoverTerminalMaybeUnAwaited     = 14
	cmdAwaitPromise                      = 15
	cmdResolveAwakeable                  = 16
	cmdRejectAwakeable                   = 17
	cmdIncrementStateCounterViaAwakeable = 18
	cmdCallNextLayerObject               = 19
)

// program is interpreter.kt's Program.
type program struct {
	Commands []interpreterCommand `json:"commands"`
}

// interpreterCommand is one InterpreterCommand: kind and the fields of that kind.
type interpreterCommand struct {
	Kind     int      `json:"kind"`
	Key      int      `json:"key,omitempty"`
	Duration int      `json:"duration,omitempty"`
	Index    int      `json:"index,omitempty"`
	Sleep    int      `json:"sleep,omitempty"`
	Program  *program `json:"program,omitempty"`
}

// interpreterID is InterpreterId: which object of which layer.
type interpreterID struct {
	Layer int    `json:"layer"`
	Key   string `json:"key"`
}

type echoLaterRequest struct {
	Sleep     int    `json:"sleep"`
	Parameter string `json:"parameter"`
}

type awakeableDanceRequest struct {
	Interpreter interpreterID `json:"interpreter"`
	TxPromiseID string        `json:"txPromiseId"`
}

func interpreterName(layer int) string { return fmt.Sprintf("ObjectInterpreterL%d", layer) }

// pending is a result a later AwaitPromise command waits for: get waits, expected (when set) is
// what it must give.
type pending struct {
	get      func() (string, error)
	expected *string
}

func ptr(s string) *string { return &s }

// interpreter runs one program on one object.
type interpreter struct {
	ctx     sdk.ObjectContext
	id      interpreterID
	pending map[int]pending
}

func (in *interpreter) helper(handler string) sdk.Target {
	return sdk.ToService(interpreterHelper, handler)
}

func (in *interpreter) run(p program) error {
	for i, c := range p.Commands {
		if err := in.step(i, c, p); err != nil {
			return err
		}
	}
	return nil
}

func (in *interpreter) step(i int, c interpreterCommand, p program) error {
	ctx := in.ctx
	switch c.Kind {
	case cmdSetState:
		return sdk.Set(ctx, fmt.Sprintf("key-%d", c.Key), fmt.Sprintf("value-%d", c.Key))
	case cmdGetState:
		_, err := sdk.Get[string](ctx, fmt.Sprintf("key-%d", c.Key))
		return err
	case cmdClearState:
		sdk.Clear(ctx, fmt.Sprintf("key-%d", c.Key))
	case cmdIncrementStateCounter:
		return incrementCounter(ctx)
	case cmdSleep:
		return sdk.Sleep(ctx, time.Duration(c.Duration)*time.Millisecond)
	case cmdCallService:
		expected := fmt.Sprintf("hello-%d", i)
		f := sdk.CallAsync[string](ctx, in.helper("echo"), expected)
		in.pending[i] = pending{get: f.Result, expected: &expected}
	case cmdCallSlowService:
		expected := fmt.Sprintf("hello-%d", i)
		f := sdk.CallAsync[string](ctx, in.helper("echoLater"), echoLaterRequest{Sleep: c.Sleep, Parameter: expected})
		in.pending[i] = pending{get: f.Result, expected: &expected}
	case cmdIncrementViaDelayedCall:
		sdk.Send(ctx, in.helper("incrementIndirectly"), in.id, sdk.WithDelay(time.Duration(c.Duration)*time.Millisecond))
	case cmdIncrementStateCounterIndirectly:
		sdk.Send(ctx, in.helper("incrementIndirectly"), in.id)
	case cmdSideEffect:
		expected := fmt.Sprintf("hello-%d", i)
		got, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return expected, nil })
		if err != nil {
			return err
		}
		if got != expected {
			return sdk.TerminalErrorf(500, "RPC failure %s != %s", got, expected)
		}
	case cmdSlowSideEffect:
		_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
			time.Sleep(time.Millisecond)
			return sdk.Void{}, nil
		})
		return err
	case cmdThrowingSideEffect:
		_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
			if rand.IntN(2) == 1 {
				return sdk.Void{}, fmt.Errorf("undefined is not a number, but it still has feelings")
			}
			return sdk.Void{}, nil
		})
		return err
	case cmdRecoverTerminalCall:
		_, err := sdk.Call[string](ctx, in.helper("terminalFailure"), sdk.Void{})
		if !sdk.IsTerminal(err) {
			return sdk.TerminalErrorf(500, "Test assertion failed, was expected to get a terminal error.")
		}
	case cmdRecoverTerminalMaybeUnAwaited:
		f := sdk.CallAsync[string](ctx, in.helper("terminalFailure"), sdk.Void{})
		in.pending[i] = pending{get: func() (string, error) {
			if _, err := f.Result(); sdk.IsTerminal(err) {
				return "terminal", nil
			} else if err != nil {
				return "", err
			}
			return "", sdk.TerminalErrorf(500, "unexpectedly succeeded")
		}, expected: ptr("terminal")}
	case cmdAwaitPromise:
		return in.await(c.Index, p)
	case cmdResolveAwakeable:
		a := sdk.Awakeable[string](ctx)
		in.pending[i] = pending{get: a.Result, expected: ptr("ok")}
		sdk.Send(ctx, in.helper("resolveAwakeable"), a.ID())
	case cmdRejectAwakeable:
		a := sdk.Awakeable[string](ctx)
		in.pending[i] = pending{get: func() (string, error) {
			if _, err := a.Result(); sdk.IsTerminal(err) {
				return "rejected", nil
			} else if err != nil {
				return "", err
			}
			return "", sdk.TerminalErrorf(500, "unexpectedly succeeded")
		}, expected: ptr("rejected")}
		sdk.Send(ctx, in.helper("rejectAwakeable"), a.ID())
	case cmdIncrementStateCounterViaAwakeable:
		tx := sdk.Awakeable[string](ctx)
		sdk.Send(ctx, in.helper("incrementViaAwakeableDance"), awakeableDanceRequest{Interpreter: in.id, TxPromiseID: tx.ID()})
		theirs, err := tx.Result()
		if err != nil {
			return err
		}
		return sdk.ResolveAwakeable(ctx, theirs, "ok")
	case cmdCallNextLayerObject:
		if c.Program == nil {
			return sdk.TerminalErrorf(400, "command %d: no program for the next layer", i)
		}
		f := sdk.CallAsync[sdk.Void](ctx, sdk.ToObject(interpreterName(in.id.Layer+1), strconv.Itoa(c.Key), "interpret"), *c.Program)
		in.pending[i] = pending{get: func() (string, error) { _, err := f.Result(); return "", err }}
	default:
		return sdk.TerminalErrorf(400, "command %d: unknown kind %d", i, c.Kind)
	}
	return nil
}

// await waits for the result of command index and checks it.
func (in *interpreter) await(index int, p program) error {
	pd, ok := in.pending[index]
	if !ok {
		return sdk.TerminalErrorf(500, "ObjectInterpreter: can not find a promise for the id %d.", index)
	}
	delete(in.pending, index)
	got, err := pd.get()
	if err != nil {
		return err
	}
	if pd.expected != nil && got != *pd.expected {
		return sdk.TerminalErrorf(500, "Awaited promise mismatch. got %q expected %q ; command %+v", got, *pd.expected, p.Commands[index])
	}
	return nil
}

const interpreterCounter = "counter"

func incrementCounter(ctx sdk.ObjectContext) error {
	n, err := sdk.Get[int](ctx, interpreterCounter)
	if err != nil {
		return err
	}
	return sdk.Set(ctx, interpreterCounter, n+1)
}

// incrementProgram is the program the helper sends back to an interpreter.
var incrementProgram = program{Commands: []interpreterCommand{{Kind: cmdIncrementStateCounter}}}

func init() {
	for layer := range interpreterLayers {
		name := interpreterName(layer)
		registry.add(name, sdk.NewObject(name).
			Handler("counter", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
				return sdk.Get[int](ctx, interpreterCounter)
			})).
			Handler("interpret", sdk.ObjectHandler(func(ctx sdk.ObjectContext, p program) (sdk.Void, error) {
				in := &interpreter{ctx: ctx, id: interpreterID{Layer: layer, Key: ctx.Key()}, pending: map[int]pending{}}
				return sdk.Void{}, in.run(p)
			})))
	}
	registry.add(interpreterHelper, sdk.NewService(interpreterHelper).
		Handler("ping", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, nil
		})).
		Handler("echo", sdk.ServiceHandler(func(ctx sdk.Context, s string) (string, error) {
			return s, nil
		})).
		Handler("echoLater", sdk.ServiceHandler(func(ctx sdk.Context, r echoLaterRequest) (string, error) {
			return r.Parameter, sdk.Sleep(ctx, time.Duration(r.Sleep)*time.Millisecond)
		})).
		Handler("terminalFailure", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", sdk.TerminalErrorf(500, "bye")
		})).
		Handler("incrementIndirectly", sdk.ServiceHandler(func(ctx sdk.Context, id interpreterID) (sdk.Void, error) {
			sdk.Send(ctx, sdk.ToObject(interpreterName(id.Layer), id.Key, "interpret"), incrementProgram)
			return sdk.Void{}, nil
		})).
		Handler("resolveAwakeable", sdk.ServiceHandler(func(ctx sdk.Context, id string) (sdk.Void, error) {
			return sdk.Void{}, sdk.ResolveAwakeable(ctx, id, "ok")
		})).
		Handler("rejectAwakeable", sdk.ServiceHandler(func(ctx sdk.Context, id string) (sdk.Void, error) {
			sdk.RejectAwakeable(ctx, id, sdk.TerminalErrorf(500, "error"))
			return sdk.Void{}, nil
		})).
		Handler("incrementViaAwakeableDance", sdk.ServiceHandler(func(ctx sdk.Context, r awakeableDanceRequest) (sdk.Void, error) {
			a := sdk.Awakeable[string](ctx)
			if err := sdk.ResolveAwakeable(ctx, r.TxPromiseID, a.ID()); err != nil {
				return sdk.Void{}, err
			}
			if _, err := a.Result(); err != nil {
				return sdk.Void{}, err
			}
			sdk.Send(ctx, sdk.ToObject(interpreterName(r.Interpreter.Layer), r.Interpreter.Key, "interpret"), incrementProgram)
			return sdk.Void{}, nil
		})))
}
