package deployment

import (
	"fmt"
	"slices"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Service and handler names the checker calls through ingress.
const (
	CounterName  = "Counter"
	WorkflowName = "Workflowish"
	// PromisedName is a Workflow: its run waits on a durable promise that
	// its shared handler complete resolves. The Workflowish process serves
	// it too.
	PromisedName = "Promised"
	// PromiseName is the durable promise Promised/run waits on.
	PromiseName = "v"
)

// Step names recorded in the execution log.
const (
	// StepAdd is the one Run step of Counter.add.
	StepAdd = "a"
	// StepFan is the Run step of Workflowish.fanout before its sends.
	StepFan = "f"
	// StepNapBefore and StepNapAfter are the Run steps of Workflowish.nap
	// before and after its sleep.
	StepNapBefore = "n0"
	StepNapAfter  = "n1"
	// StepAwoken is the Run step of Workflowish.await after its awakeable
	// completed.
	StepAwoken = "w1"
	// NoteAwakeable is not a Run step: Workflowish.await records its
	// awakeable's id under it (the token is the id), each time it reaches the
	// wait, so that the checker learns the id and resolves it.
	NoteAwakeable = "aw"
	// StepPromisedBefore and StepPromisedAfter are the Run steps of
	// Promised/run before and after its promise.
	StepPromisedBefore = "p0"
	StepPromisedAfter  = "p1"
)

// Stamp is what a Run step returns (and the runtime journals): the unique
// token of its execution and the wall-clock time it executed, in Unix ns.
// The checker compares the times of the steps around a timer with its due
// time: a timer never fires early.
type Stamp struct {
	Token string `json:"token"`
	At    int64  `json:"at"`
}

// FlowStep names the i-th Run step of Workflowish.run.
func FlowStep(i int) string { return fmt.Sprintf("s%d", i) }

// AddIn is the input of Counter.add: a unique op id and the delta.
type AddIn struct {
	ID    string `json:"id"`
	Delta int    `json:"delta"`
}

// AddOut is Counter.add's output: the value after the add, and the token
// and time its Run step returned (as journaled).
type AddOut struct {
	ID    string `json:"id"`
	Value int    `json:"value"`
	Token string `json:"token"`
	At    int64  `json:"at"`
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

// Sub is one add that Workflowish.fanout sends one-way, DelayMs after the
// send when not zero.
type Sub struct {
	Key     string `json:"key"`
	ID      string `json:"id"`
	Delta   int    `json:"delta"`
	DelayMs int    `json:"delayMs,omitempty"`
}

// FanIn is the input of Workflowish.fanout.
type FanIn struct {
	ID   string `json:"id"`
	Subs []Sub  `json:"subs"`
}

// FanOut is Workflowish.fanout's output: its Run token and time (the sends
// follow it), and the invocation ids of the sends.
type FanOut struct {
	Token   string   `json:"token"`
	At      int64    `json:"at"`
	SendIDs []string `json:"sendIds"`
}

// NapIn is the input of Workflowish.nap: a Run step, a durable sleep of
// SleepMs, a Run step, then a call to Counter/Key/add with AddIn{ID, Delta}.
type NapIn struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Delta   int    `json:"delta"`
	SleepMs int    `json:"sleepMs"`
}

// NapOut is Workflowish.nap's output: the stamps of the steps before and
// after the sleep, and the add's output.
type NapOut struct {
	Before Stamp  `json:"before"`
	After  Stamp  `json:"after"`
	Add    AddOut `json:"add"`
}

// AwaitIn is the input of Workflowish.await: an awakeable, a durable sleep
// of SleepMs before waiting on it (when not zero: resolutions may arrive
// before the wait, and while the invocation is suspended), a Run step once
// it completed, then a call to Counter/Key/add with AddIn{ID, Delta}.
type AwaitIn struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Delta   int    `json:"delta"`
	SleepMs int    `json:"sleepMs,omitempty"`
}

// AwaitOut is Workflowish.await's output: the awakeable's id, the value it
// was resolved with or the message it was rejected with, the stamp of the
// Run step after it, and the add's output.
type AwaitOut struct {
	Awakeable string `json:"awakeable"`
	Value     string `json:"value,omitempty"`
	Rejected  string `json:"rejected,omitempty"`
	After     Stamp  `json:"after"`
	Add       AddOut `json:"add"`
}

// PromisedIn is the input of Promised/{key}/run: a Run step, a wait on the
// durable promise PromiseName of the workflow key, a Run step, then a call
// to Counter/Key/add with AddIn{ID, Delta}. ID is the workflow key.
type PromisedIn struct {
	ID    string `json:"id"`
	Key   string `json:"key"`
	Delta int    `json:"delta"`
}

// PromisedOut is Promised/run's output: the promise's value, the stamps of
// the steps around the wait, and the add's output.
type PromisedOut struct {
	Value  string `json:"value"`
	Before Stamp  `json:"before"`
	After  Stamp  `json:"after"`
	Add    AddOut `json:"add"`
}

// CompleteOut is the output of Promised/{key}/complete: OK when it
// completed the promise, else the error completing it answered (it was
// completed already).
type CompleteOut struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Endpoint serves the named services (CounterName, WorkflowName; both if
// none are named), recording every Run execution in log before the Run
// body returns. The checker runs Counter and Workflowish in two processes,
// so that a kill hits the caller or the callee of a call between services.
func Endpoint(log *ExecLog, services ...string) (*sdk.Endpoint, error) {
	defs := map[string]sdk.ServiceDefinition{CounterName: counter(log), WorkflowName: workflowish(log), PromisedName: promised(log)}
	if len(services) == 0 {
		services = []string{CounterName, WorkflowName, PromisedName}
	}
	e := sdk.NewEndpoint()
	for _, name := range services {
		d, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("deployment: unknown service %q (want %s, %s or %s)", name, CounterName, WorkflowName, PromisedName)
		}
		e.Bind(d)
	}
	return e, nil
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
	st, err := stamp(ctx, log, in.ID, StepAdd)
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
	return AddOut{ID: in.ID, Value: s.Value, Token: st.Token, At: st.At}, nil
}

// stamp is one Run step of op: it records its execution in log and returns
// the execution's token and time, which the runtime journals.
func stamp(ctx sdk.Context, log *ExecLog, op, step string) (Stamp, error) {
	return sdk.Run(ctx, func(sdk.RunContext) (Stamp, error) {
		at := time.Now().UnixNano()
		tok, err := log.Execute(op, step)
		return Stamp{Token: tok, At: at}, err
	}, sdk.WithName(step))
}

func workflowish(log *ExecLog) *sdk.Service {
	return sdk.NewService(WorkflowName).
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, in FlowIn) (FlowOut, error) {
			return flow(ctx, log, in)
		})).
		Handler("fanout", sdk.ServiceHandler(func(ctx sdk.Context, in FanIn) (FanOut, error) {
			return fanout(ctx, log, in)
		})).
		Handler("nap", sdk.ServiceHandler(func(ctx sdk.Context, in NapIn) (NapOut, error) {
			return nap(ctx, log, in)
		})).
		Handler("await", sdk.ServiceHandler(func(ctx sdk.Context, in AwaitIn) (AwaitOut, error) {
			return await(ctx, log, in)
		})).
		// attachPromised waits for the output of Promised's run for the
		// workflow key: the checker attaches to half the runs so.
		Handler("attachPromised", sdk.ServiceHandler(func(ctx sdk.Context, key string) (PromisedOut, error) {
			return sdk.AttachWorkflow[PromisedOut](ctx, PromisedName, key).Result()
		}))
}

// flow runs in.Steps Run steps, then calls Counter/in.Key/add.
func flow(ctx sdk.Context, log *ExecLog, in FlowIn) (FlowOut, error) {
	var out FlowOut
	for i := range in.Steps {
		st, err := stamp(ctx, log, in.ID, FlowStep(i))
		if err != nil {
			return out, err
		}
		out.Tokens = append(out.Tokens, st.Token)
	}
	res, err := sdk.Call[AddOut](ctx, sdk.ToObject(CounterName, in.Key, "add"), AddIn{ID: in.ID, Delta: in.Delta})
	out.Add = res
	return out, err
}

// fanout runs one Run step, then sends each sub-add one-way (delayed by its
// DelayMs) with the sub's id as idempotency key, so a client can attach to
// it by that key.
func fanout(ctx sdk.Context, log *ExecLog, in FanIn) (FanOut, error) {
	var out FanOut
	st, err := stamp(ctx, log, in.ID, StepFan)
	if err != nil {
		return out, err
	}
	out.Token, out.At = st.Token, st.At
	for _, s := range in.Subs {
		opts := []sdk.CallOption{sdk.WithIdempotencyKey(s.ID)}
		if s.DelayMs > 0 {
			opts = append(opts, sdk.WithDelay(time.Duration(s.DelayMs)*time.Millisecond))
		}
		h := sdk.Send(ctx, sdk.ToObject(CounterName, s.Key, "add"), AddIn{ID: s.ID, Delta: s.Delta}, opts...)
		id, err := h.InvocationID()
		if err != nil {
			return out, err
		}
		out.SendIDs = append(out.SendIDs, id)
	}
	return out, nil
}

// nap runs a Run step, sleeps durably for in.SleepMs, runs a second Run
// step, then calls Counter/in.Key/add: the sleep must fire once, never
// before it is due, across kills of the server or the deployment.
func nap(ctx sdk.Context, log *ExecLog, in NapIn) (NapOut, error) {
	var out NapOut
	var err error
	if out.Before, err = stamp(ctx, log, in.ID, StepNapBefore); err != nil {
		return out, err
	}
	if err := sdk.Sleep(ctx, time.Duration(in.SleepMs)*time.Millisecond); err != nil {
		return out, err
	}
	if out.After, err = stamp(ctx, log, in.ID, StepNapAfter); err != nil {
		return out, err
	}
	out.Add, err = sdk.Call[AddOut](ctx, sdk.ToObject(CounterName, in.Key, "add"), AddIn{ID: in.ID, Delta: in.Delta})
	return out, err
}

// await creates an awakeable, records its id in log (every time it gets
// here: the id must be the same on every replay), sleeps in.SleepMs, waits
// for it, runs a Run
// step, then calls Counter/in.Key/add. A rejection is part of the output,
// not a failure: the checker resolves and rejects, and compares.
func await(ctx sdk.Context, log *ExecLog, in AwaitIn) (AwaitOut, error) {
	a := sdk.Awakeable[string](ctx)
	out := AwaitOut{Awakeable: a.ID()}
	if err := log.Note(in.ID, NoteAwakeable, a.ID()); err != nil {
		return out, err
	}
	if in.SleepMs > 0 {
		if err := sdk.Sleep(ctx, time.Duration(in.SleepMs)*time.Millisecond); err != nil {
			return out, err
		}
	}
	v, err := "planted", error(nil)
	if !plantTrusting {
		v, err = a.Result()
	}
	switch {
	case sdk.IsTerminal(err):
		out.Rejected = err.Error()
	case err != nil:
		return out, err
	default:
		out.Value = v
	}
	if out.After, err = stamp(ctx, log, in.ID, StepAwoken); err != nil {
		return out, err
	}
	out.Add, err = sdk.Call[AddOut](ctx, sdk.ToObject(CounterName, in.Key, "add"), AddIn{ID: in.ID, Delta: in.Delta})
	return out, err
}

func promised(log *ExecLog) *sdk.Workflow {
	return sdk.NewWorkflow(PromisedName).
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, in PromisedIn) (PromisedOut, error) {
			return promisedRun(ctx, log, in)
		})).
		Handler("complete", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, value string) (CompleteOut, error) {
			if err := sdk.Promise[string](ctx, PromiseName).Resolve(value); err != nil {
				if !sdk.IsTerminal(err) {
					return CompleteOut{}, err
				}
				if plantTrusting {
					return CompleteOut{OK: true}, nil
				}
				return CompleteOut{Error: err.Error()}, nil
			}
			return CompleteOut{OK: true}, nil
		}))
}

// promisedRun runs a Run step, waits on the workflow's promise, runs a Run
// step, then calls Counter/in.Key/add: once per workflow key, however often
// it is submitted.
func promisedRun(ctx sdk.WorkflowContext, log *ExecLog, in PromisedIn) (PromisedOut, error) {
	var out PromisedOut
	var err error
	if out.Before, err = stamp(ctx, log, in.ID, StepPromisedBefore); err != nil {
		return out, err
	}
	if out.Value, err = sdk.Promise[string](ctx, PromiseName).Result(); err != nil {
		return out, err
	}
	if out.After, err = stamp(ctx, log, in.ID, StepPromisedAfter); err != nil {
		return out, err
	}
	out.Add, err = sdk.Call[AddOut](ctx, sdk.ToObject(CounterName, in.Key, "add"), AddIn{ID: in.ID, Delta: in.Delta})
	return out, err
}
