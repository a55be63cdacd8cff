package sdk

import "fmt"

type handlerKind int

const (
	serviceHandler handlerKind = iota
	exclusiveHandler
	sharedHandler
	workflowHandler // a workflow's run handler
)

// serviceKind is what a definition is: discovery's service type.
type serviceKind int

const (
	plainService serviceKind = iota
	objectService
	workflowService
)

// handler is a typed handler function erased to bytes in, bytes out.
type handler struct {
	kind     handlerKind
	codec    Codec // nil: the endpoint's codec
	call     func(inv *invocation, c Codec, input []byte) ([]byte, error)
	settings settings
}

func (h *handler) invoke(inv *invocation, input []byte) ([]byte, error) {
	return h.call(inv, inv.codec, input)
}

type codecOption struct{ c Codec }

func (o codecOption) applyHandler(h *handler) { h.codec = o.c }

// WithCodec makes a handler use c instead of the endpoint's codec, for its input and output and
// for the state, run results and call payloads it handles.
func WithCodec(c Codec) HandlerOption { return codecOption{c} }

// ServiceHandlerDef is a handler of a Service; make one with ServiceHandler.
type ServiceHandlerDef struct{ h *handler }

// ObjectHandlerDef is a handler of a Virtual Object; make one with ObjectHandler or SharedHandler.
type ObjectHandlerDef struct{ h *handler }

// ServiceHandler adapts fn as a Service handler.
func ServiceHandler[I, O any](fn func(ctx Context, input I) (O, error), opts ...HandlerOption) ServiceHandlerDef {
	return ServiceHandlerDef{newHandler(serviceHandler, func(inv *invocation, in I) (O, error) { return fn(inv, in) }, opts)}
}

// ObjectHandler adapts fn as an exclusive Virtual Object handler: one at a time per key, may
// read and write state.
func ObjectHandler[I, O any](fn func(ctx ObjectContext, input I) (O, error), opts ...HandlerOption) ObjectHandlerDef {
	return ObjectHandlerDef{newHandler(exclusiveHandler, func(inv *invocation, in I) (O, error) {
		return fn(exclusiveContext{sharedContext{inv}}, in)
	}, opts)}
}

// SharedHandler adapts fn as a shared Virtual Object handler: runs concurrently with others,
// may only read state.
func SharedHandler[I, O any](fn func(ctx ObjectSharedContext, input I) (O, error), opts ...HandlerOption) ObjectHandlerDef {
	return ObjectHandlerDef{newHandler(sharedHandler, func(inv *invocation, in I) (O, error) {
		return fn(sharedContext{inv}, in)
	}, opts)}
}

func newHandler[I, O any](kind handlerKind, fn func(*invocation, I) (O, error), opts []HandlerOption) *handler {
	h := &handler{kind: kind}
	h.call = func(inv *invocation, c Codec, raw []byte) ([]byte, error) {
		in, err := decode[I](c, raw)
		if err != nil {
			return nil, TerminalErrorf(400, "Failed to deserialize input: %v", err)
		}
		out, err := fn(inv, in)
		if err != nil {
			return nil, err
		}
		b, err := encode(c, out)
		if err != nil {
			return nil, TerminalErrorf(500, "Failed to serialize output: %v", err)
		}
		return b, nil
	}
	for _, o := range opts {
		o.applyHandler(h)
	}
	return h
}

// ServiceDefinition is a Service or a Virtual Object, ready to be bound to an Endpoint.
type ServiceDefinition interface {
	definition() *definition
}

type definition struct {
	name     string
	kind     serviceKind
	handlers map[string]*handler
	order    []string
	settings settings
}

func newDefinition(name string, kind serviceKind, opts []ServiceOption) definition {
	d := definition{name: name, kind: kind, handlers: map[string]*handler{}}
	for _, o := range opts {
		o.applyService(&d)
	}
	return d
}

func (d *definition) add(name string, h *handler) {
	if _, dup := d.handlers[name]; dup {
		panic(fmt.Sprintf("sdk: %s has two handlers named %q", d.name, name))
	}
	checkSettings(d.name, name, h.kind, h.settings)
	d.handlers[name] = h
	d.order = append(d.order, name)
}

// Service is a set of stateless handlers.
type Service struct{ def definition }

// NewService starts the definition of a Service; opts (Option) apply to all its handlers.
func NewService(name string, opts ...ServiceOption) *Service {
	return &Service{newDefinition(name, plainService, opts)}
}

// Handler adds a handler made with ServiceHandler.
func (s *Service) Handler(name string, h ServiceHandlerDef) *Service {
	s.def.add(name, h.h)
	return s
}

func (s *Service) definition() *definition { return &s.def }

// Object is a Virtual Object: handlers keyed by an object key, with durable state per key.
type Object struct{ def definition }

// NewObject starts the definition of a Virtual Object; opts (Option) apply to all its handlers.
func NewObject(name string, opts ...ServiceOption) *Object {
	return &Object{newDefinition(name, objectService, opts)}
}

// Handler adds a handler made with ObjectHandler (exclusive) or SharedHandler.
func (o *Object) Handler(name string, h ObjectHandlerDef) *Object {
	o.def.add(name, h.h)
	return o
}

func (o *Object) definition() *definition { return &o.def }
