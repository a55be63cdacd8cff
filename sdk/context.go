package sdk

import (
	"context"
	"log/slog"
	"math/rand/v2"
)

// Context is what every handler gets: the invocation's identity and request, deterministic
// randomness, and (through the package functions Run, Call, Send, Sleep, …) durable actions.
//
// A Context belongs to its handler's goroutine: do not use it from other goroutines.
type Context interface {
	context.Context
	// InvocationID is the inv_… id of this invocation.
	InvocationID() string
	// Headers are the headers the invocation was started with.
	Headers() map[string]string
	// Rand is a random source seeded by the runtime: the same numbers on every replay. The seed is
	// StartMessage.random_seed (protocol V6+) or derived from the invocation id (V5), and the
	// generator is the official SDKs' (xoshiro256++), so the same seed gives the same numbers.
	Rand() *rand.Rand
	// UUID is a version-4 UUID drawn from Rand.
	UUID() string
	// Log is a logger (the endpoint's, see Endpoint.WithLogger, with the invocation id) that is
	// silent while the handler replays its journal, so each line is written once, by the attempt
	// that did the step, and writes normally from the first new step on.
	Log() *slog.Logger

	inv() *invocation
}

// ObjectSharedContext is the context of a shared Virtual Object handler: it may read state.
type ObjectSharedContext interface {
	Context
	// Key is the object's key.
	Key() string
	sharedObject()
}

// ObjectContext is the context of an exclusive Virtual Object handler: it may also write state.
type ObjectContext interface {
	ObjectSharedContext
	exclusiveObject()
}

// RunContext is given to Run closures. It has no durable actions: a side effect must not start others.
type RunContext interface {
	context.Context
	InvocationID() string
	// Log is the endpoint's logger with the invocation id (a Run closure never runs on replay).
	Log() *slog.Logger
}

type sharedContext struct{ *invocation }

func (sharedContext) sharedObject() {}

type exclusiveContext struct{ sharedContext }

func (exclusiveContext) exclusiveObject() {}

type runContext struct {
	context.Context
	id  string
	log *slog.Logger
}

func (r runContext) InvocationID() string { return r.id }

func (inv *invocation) inv() *invocation           { return inv }
func (inv *invocation) InvocationID() string       { return inv.input.InvocationID }
func (inv *invocation) Key() string                { return inv.input.Key }
func (inv *invocation) Rand() *rand.Rand           { return inv.rand }
func (inv *invocation) Headers() map[string]string { return inv.headers }

func (inv *invocation) UUID() string { return uuidFrom(inv.rand) }
