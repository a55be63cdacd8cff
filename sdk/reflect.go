package sdk

import (
	"fmt"
	"reflect"
)

// Reflect defines a service from the exported methods of rcvr, beside the builders (NewService,
// NewObject, NewWorkflow), with sdk-go's restate.Reflect rules:
//
//   - The service is named after rcvr's type, or by its ServiceName() string method.
//   - Each exported method whose first parameter is a handler context becomes a handler named
//     like the method, with one of the signatures (ctx), (ctx, I) returning nothing, O, error or
//     (O, error); a missing I or O is Void. Other methods are skipped.
//   - The context type decides the kind: Context makes a Service; ObjectContext (exclusive) and
//     ObjectSharedContext (shared) a Virtual Object; WorkflowContext (the run handler, one only)
//     and WorkflowSharedContext a Workflow. Mixing kinds panics, as does a context method with a
//     signature outside the list.
//
// opts apply to the service (as NewService's). Beyond sdk-go, a HandlerOptions() map[string][]HandlerOption
// method on rcvr gives options to single handlers (keyed by method name).
//
//	type Counter struct{}
//
//	func (Counter) Add(ctx sdk.ObjectContext, n int) (int, error) { … }
//	func (Counter) Get(ctx sdk.ObjectSharedContext) (int, error) { … }
//
//	sdk.NewEndpoint().Bind(sdk.Reflect(Counter{}))
func Reflect(rcvr any, opts ...ServiceOption) ServiceDefinition {
	typ, val := reflect.TypeOf(rcvr), reflect.ValueOf(rcvr)
	name := reflect.Indirect(val).Type().Name()
	if n, ok := rcvr.(interface{ ServiceName() string }); ok {
		name = n.ServiceName()
	}
	var handlerOpts map[string][]HandlerOption
	if h, ok := rcvr.(interface {
		HandlerOptions() map[string][]HandlerOption
	}); ok {
		handlerOpts = h.HandlerOptions()
	}
	var def *definition
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if !m.IsExported() || m.Type.NumIn() < 2 {
			continue
		}
		kind, svc, ok := contextKind(m.Type.In(1))
		if !ok {
			continue
		}
		if def == nil {
			d := newDefinition(name, svc, opts)
			def = &d
		} else if def.kind != svc {
			panic(fmt.Sprintf("sdk: Reflect %s.%s: its context makes a %s, the other methods a %s", name, m.Name, kindName[svc], kindName[def.kind]))
		}
		if kind == workflowHandler {
			for _, h := range def.handlers {
				if h.kind == workflowHandler {
					panic(fmt.Sprintf("sdk: Reflect %s.%s: a workflow has one run handler (WorkflowContext), the others take WorkflowSharedContext", name, m.Name))
				}
			}
		}
		h := reflectHandler(name, kind, m, val)
		for _, o := range handlerOpts[m.Name] {
			o.applyHandler(h)
		}
		def.add(m.Name, h)
	}
	if def == nil {
		panic(fmt.Sprintf("sdk: Reflect %s: no exported method takes a handler context", name))
	}
	return reflected{def}
}

var kindName = [...]string{plainService: "Service", objectService: "Virtual Object", workflowService: "Workflow"}

type reflected struct{ def *definition }

func (r reflected) definition() *definition { return r.def }

var (
	typeOfContext               = reflect.TypeFor[Context]()
	typeOfObjectContext         = reflect.TypeFor[ObjectContext]()
	typeOfObjectSharedContext   = reflect.TypeFor[ObjectSharedContext]()
	typeOfWorkflowContext       = reflect.TypeFor[WorkflowContext]()
	typeOfWorkflowSharedContext = reflect.TypeFor[WorkflowSharedContext]()
	typeOfError                 = reflect.TypeFor[error]()
	typeOfVoid                  = reflect.TypeFor[Void]()
)

// contextKind maps a handler's context parameter type to its handler and service kinds.
func contextKind(t reflect.Type) (handlerKind, serviceKind, bool) {
	switch t {
	case typeOfContext:
		return serviceHandler, plainService, true
	case typeOfObjectContext:
		return exclusiveHandler, objectService, true
	case typeOfObjectSharedContext:
		return sharedHandler, objectService, true
	case typeOfWorkflowContext:
		return workflowHandler, workflowService, true
	case typeOfWorkflowSharedContext:
		return sharedHandler, workflowService, true
	}
	return 0, 0, false
}

// contextValue is the context a handler of kind in a service of svc gets.
func contextValue(inv *invocation, kind handlerKind, svc serviceKind) reflect.Value {
	switch {
	case kind == serviceHandler:
		return reflect.ValueOf(Context(inv))
	case kind == exclusiveHandler:
		return reflect.ValueOf(ObjectContext(exclusiveContext{sharedContext{inv}}))
	case kind == workflowHandler:
		return reflect.ValueOf(WorkflowContext(workflowContext{exclusiveContext{sharedContext{inv}}}))
	case svc == workflowService:
		return reflect.ValueOf(WorkflowSharedContext(workflowSharedContext{sharedContext{inv}}))
	default:
		return reflect.ValueOf(ObjectSharedContext(sharedContext{inv}))
	}
}

// reflectHandler erases method m (of receiver rcvr) to bytes in, bytes out, as newHandler does
// for a typed function.
func reflectHandler(service string, kind handlerKind, m reflect.Method, rcvr reflect.Value) *handler {
	mt := m.Type
	var in reflect.Type
	switch mt.NumIn() {
	case 2:
	case 3:
		in = mt.In(2)
	default:
		panic(fmt.Sprintf("sdk: Reflect %s.%s: a handler takes a context and at most one input", service, m.Name))
	}
	var out reflect.Type
	hasErr := false
	switch {
	case mt.NumOut() == 0:
	case mt.NumOut() == 1 && mt.Out(0) == typeOfError:
		hasErr = true
	case mt.NumOut() == 1:
		out = mt.Out(0)
	case mt.NumOut() == 2 && mt.Out(1) == typeOfError:
		out, hasErr = mt.Out(0), true
	default:
		panic(fmt.Sprintf("sdk: Reflect %s.%s: a handler returns nothing, O, error or (O, error)", service, m.Name))
	}
	_, svc, _ := contextKind(mt.In(1))
	h := &handler{kind: kind}
	h.call = func(inv *invocation, c Codec, raw []byte) ([]byte, error) {
		args := []reflect.Value{rcvr, contextValue(inv, kind, svc)}
		if in != nil {
			p := reflect.New(in)
			if in != typeOfVoid && len(raw) > 0 {
				if err := c.Unmarshal(raw, p.Interface()); err != nil {
					return nil, TerminalErrorf(400, "Failed to deserialize input: %v", err)
				}
			}
			args = append(args, p.Elem())
		}
		res := m.Func.Call(args)
		if hasErr {
			if e := res[len(res)-1]; !e.IsNil() {
				return nil, e.Interface().(error)
			}
		}
		if out == nil || out == typeOfVoid {
			return nil, nil
		}
		b, err := c.Marshal(res[0].Interface())
		if err != nil {
			return nil, TerminalErrorf(500, "Failed to serialize output: %v", err)
		}
		return b, nil
	}
	return h
}
