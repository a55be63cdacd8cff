package deployment

import (
	"fmt"
	"slices"

	"github.com/resolute-run/resolute/sdk"
)

// Service and handler names the checker calls through ingress.
const (
	CounterName  = "Counter"
	WorkflowName = "Workflowish"
)

// Step names recorded in the execution log.
const (
	// StepAdd is the one Run step of Counter.add.
	StepAdd = "a"
	// StepFan is the Run step of Workflowish.fanout before its sends.
	StepFan = "f"
)

// FlowStep names the i-th Run step of Workflowish.run.
func FlowStep(i int) string { return fmt.Sprintf("s%d", i) }

// AddIn is the input of Counter.add: a unique op id and the delta.
type AddIn struct {
	ID    string `json:"id"`
	Delta int    `json:"delta"`
}

// AddOut is Counter.add's output: the value after the add and the token its
// Run step returned (as journaled).
type AddOut struct {
	ID    string `json:"id"`
	Value int    `json:"value"`
	Token string `json:"token"`
}

// ReadOut is the output of Counter.get and Counter.getx.
type ReadOut struct {
	Value int `json:"value"`
}

// State is a counter's K/V state, kept under one key so that a write is
// atomic: the value and the ids of the adds applied, in order.
type State struct {
	Value   int      `json:"value"`
	Applied []string `json:"applied"`
	// Deltas are the applied adds' deltas, parallel to Applied.
	Deltas []int `json:"deltas"`
}

// stateKey is the one state key of a Counter.
const stateKey = "s"

// FlowIn is the input of Workflowish.run: Steps Run steps, then a call to
// Counter/Key/add with AddIn{ID, Delta}.
type FlowIn struct {
	ID    string `json:"id"`
	Key   string `json:"key"`
	Delta int    `json:"delta"`
	Steps int    `json:"steps"`
}

// FlowOut is Workflowish.run's output: its Run tokens and the add's output.
type FlowOut struct {
	Tokens []string `json:"tokens"`
	Add    AddOut   `json:"add"`
}

// Sub is one add that Workflowish.fanout sends one-way.
type Sub struct {
	Key   string `json:"key"`
	ID    string `json:"id"`
	Delta int    `json:"delta"`
}

// FanIn is the input of Workflowish.fanout.
type FanIn struct {
	ID   string `json:"id"`
	Subs []Sub  `json:"subs"`
}

// FanOut is Workflowish.fanout's output: its Run token and the invocation
// ids of the sends.
type FanOut struct {
	Token   string   `json:"token"`
	SendIDs []string `json:"sendIds"`
}

// Endpoint serves Counter and Workflowish, recording every Run execution in
// log before the Run body returns.
func Endpoint(log *ExecLog) *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(counter(log), workflowish(log))
}

func counter(log *ExecLog) *sdk.Object {
	read := func(ctx sdk.ObjectSharedContext) (ReadOut, error) {
		s, err := sdk.Get[State](ctx, stateKey)
		return ReadOut{Value: s.Value}, err
	}
	return sdk.NewObject(CounterName).
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, in AddIn) (AddOut, error) {
			return add(ctx, log, in)
		})).
		Handler("getx", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (ReadOut, error) { return read(ctx) })).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (ReadOut, error) { return read(ctx) })).
		Handler("dump", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (State, error) {
			return sdk.Get[State](ctx, stateKey)
		}))
}

// add runs one Run step, then reads and writes the state: a kill can land in
// the body, before its result is journaled, between the step and the write,
// or after the write and before the output.
func add(ctx sdk.ObjectContext, log *ExecLog, in AddIn) (AddOut, error) {
	tok, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
		return log.Execute(in.ID, StepAdd)
	}, sdk.WithName("add"))
	if err != nil {
		return AddOut{}, err
	}
	s, err := sdk.Get[State](ctx, stateKey)
	if err != nil {
		return AddOut{}, err
	}
	s.Value += in.Delta
	s.Applied = append(slices.Clip(s.Applied), in.ID)
	s.Deltas = append(slices.Clip(s.Deltas), in.Delta)
	if err := sdk.Set(ctx, stateKey, s); err != nil {
		return AddOut{}, err
	}
	return AddOut{ID: in.ID, Value: s.Value, Token: tok}, nil
}

func workflowish(log *ExecLog) *sdk.Service {
	return sdk.NewService(WorkflowName).
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, in FlowIn) (FlowOut, error) {
			return flow(ctx, log, in)
		})).
		Handler("fanout", sdk.ServiceHandler(func(ctx sdk.Context, in FanIn) (FanOut, error) {
			return fanout(ctx, log, in)
		}))
}

// flow runs in.Steps Run steps, then calls Counter/in.Key/add.
func flow(ctx sdk.Context, log *ExecLog, in FlowIn) (FlowOut, error) {
	var out FlowOut
	for i := range in.Steps {
		step := FlowStep(i)
		tok, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
			return log.Execute(in.ID, step)
		}, sdk.WithName(step))
		if err != nil {
			return out, err
		}
		out.Tokens = append(out.Tokens, tok)
	}
	res, err := sdk.Call[AddOut](ctx, sdk.ToObject(CounterName, in.Key, "add"), AddIn{ID: in.ID, Delta: in.Delta})
	out.Add = res
	return out, err
}

// fanout runs one Run step, then sends each sub-add one-way with the sub's id
// as idempotency key, so a client can attach to it by that key.
func fanout(ctx sdk.Context, log *ExecLog, in FanIn) (FanOut, error) {
	var out FanOut
	tok, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
		return log.Execute(in.ID, StepFan)
	}, sdk.WithName(StepFan))
	if err != nil {
		return out, err
	}
	out.Token = tok
	for _, s := range in.Subs {
		h := sdk.Send(ctx, sdk.ToObject(CounterName, s.Key, "add"), AddIn{ID: s.ID, Delta: s.Delta}, sdk.WithIdempotencyKey(s.ID))
		id, err := h.InvocationID()
		if err != nil {
			return out, err
		}
		out.SendIDs = append(out.SendIDs, id)
	}
	return out, nil
}
