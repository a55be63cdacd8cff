package sdk

import (
	"fmt"

	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// WorkflowSharedContext is the context of a workflow's shared handlers: they run concurrently
// with the workflow's run handler (and after it ended), read its state, and use its durable
// promises, typically to resolve one the run handler waits for.
type WorkflowSharedContext interface {
	ObjectSharedContext
	workflow()
}

// WorkflowContext is the context of a workflow's run handler, which executes once per workflow
// key: it may also write state.
type WorkflowContext interface {
	WorkflowSharedContext
	ObjectContext
}

type workflowSharedContext struct{ sharedContext }

func (workflowSharedContext) workflow() {}

type workflowContext struct{ exclusiveContext }

func (workflowContext) workflow() {}

// WorkflowHandlerDef is a handler of a Workflow; make one with WorkflowHandler or
// WorkflowSharedHandler.
type WorkflowHandlerDef struct{ h *handler }

// WorkflowHandler adapts fn as a workflow's run handler: it executes at most once per workflow
// key (a second submission attaches to the first).
func WorkflowHandler[I, O any](fn func(ctx WorkflowContext, input I) (O, error), opts ...HandlerOption) WorkflowHandlerDef {
	return WorkflowHandlerDef{newHandler(workflowHandler, func(inv *invocation, in I) (O, error) {
		return fn(workflowContext{exclusiveContext{sharedContext{inv}}}, in)
	}, opts)}
}

// WorkflowSharedHandler adapts fn as a shared handler of a workflow.
func WorkflowSharedHandler[I, O any](fn func(ctx WorkflowSharedContext, input I) (O, error), opts ...HandlerOption) WorkflowHandlerDef {
	return WorkflowHandlerDef{newHandler(sharedHandler, func(inv *invocation, in I) (O, error) {
		return fn(workflowSharedContext{sharedContext{inv}}, in)
	}, opts)}
}

// Workflow is a workflow service: one run handler (WorkflowHandler, conventionally named "run")
// executed once per workflow key, and shared handlers to query and signal it.
type Workflow struct{ def definition }

// NewWorkflow starts the definition of a Workflow; opts (Option) apply to all its handlers
// (WithWorkflowRetention to its run handler, WithIdempotencyRetention to the shared ones).
func NewWorkflow(name string, opts ...ServiceOption) *Workflow {
	return &Workflow{newDefinition(name, workflowService, opts)}
}

// Handler adds a handler made with WorkflowHandler or WorkflowSharedHandler.
func (w *Workflow) Handler(name string, h WorkflowHandlerDef) *Workflow {
	w.def.add(name, h.h)
	return w
}

func (w *Workflow) definition() *definition { return &w.def }

// ToWorkflow targets handler of the workflow with key.
func ToWorkflow(workflow, key, handler string) Target {
	return Target{Service: workflow, Key: key, Handler: handler}
}

// DurablePromise is a named promise of one workflow execution (one workflow key): any of its
// handlers, or a client, completes it once; the run handler typically waits for it. It
// survives suspensions and restarts, and can be completed before anyone waits.
type DurablePromise[T any] struct {
	inv  *invocation
	name string
	get  *statemachine.NotificationID // the GetPromise command, journaled on first wait
}

// Promise is the durable promise called name of the workflow ctx belongs to.
func Promise[T any](ctx WorkflowSharedContext, name string) *DurablePromise[T] {
	return &DurablePromise[T]{inv: ctx.inv(), name: name}
}

// Result waits for the promise's value; a rejection comes back as a terminal error.
func (p *DurablePromise[T]) Result() (T, error) {
	return awaitValue[T](p.inv, p.awaitID(), "promise "+p.name)
}

func (p *DurablePromise[T]) awaitID() statemachine.NotificationID {
	if p.get == nil {
		id, err := p.inv.m.GetPromise(p.name)
		p.inv.check(err)
		p.get = &id
	}
	return *p.get
}

// Peek returns the promise's value without waiting; ok is false while it is not completed. A
// rejected promise gives ok and its terminal error.
func (p *DurablePromise[T]) Peek() (value T, ok bool, err error) {
	id, err := p.inv.m.PeekPromise(p.name)
	p.inv.check(err)
	if _, err := p.inv.await(id); err != nil {
		return value, false, err
	}
	r, err := p.inv.result(id)
	switch {
	case err != nil:
		return value, true, err // rejected
	case r.Kind == statemachine.ResultVoid:
		return value, false, nil
	}
	value, err = decode[T](p.inv.codec, r.Value)
	if err != nil {
		return value, true, TerminalErrorf(500, "decode promise %s: %v", p.name, err)
	}
	return value, true, nil
}

// Resolve completes the promise with value. Completing a promise twice fails with the runtime's
// terminal error.
func (p *DurablePromise[T]) Resolve(value T) error {
	b, err := encode(p.inv.codec, value)
	if err != nil {
		return TerminalErrorf(500, "encode value for promise %s: %v", p.name, err)
	}
	return p.complete(statemachine.Result{Kind: statemachine.ResultValue, Value: b})
}

// Reject completes the promise with a failure (reason's message and ErrorCode).
func (p *DurablePromise[T]) Reject(reason error) error { return p.complete(failureOf(reason)) }

func (p *DurablePromise[T]) complete(r statemachine.Result) error {
	id, err := p.inv.m.CompletePromise(p.name, r)
	p.inv.check(err)
	if _, err := p.inv.await(id); err != nil {
		return err
	}
	if _, err := p.inv.result(id); err != nil {
		return fmt.Errorf("complete promise %s: %w", p.name, err)
	}
	return nil
}
