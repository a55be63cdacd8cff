package sdk

import (
	"context"
	"fmt"
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
	// Rand is a random source seeded by the runtime: the same numbers on every replay.
	Rand() *rand.Rand
	// UUID is a version-4 UUID drawn from Rand.
	UUID() string

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
}

type sharedContext struct{ *invocation }

func (sharedContext) sharedObject() {}

type exclusiveContext struct{ sharedContext }

func (exclusiveContext) exclusiveObject() {}

type runContext struct {
	context.Context
	id string
}

func (r runContext) InvocationID() string { return r.id }

func (inv *invocation) inv() *invocation           { return inv }
func (inv *invocation) InvocationID() string       { return inv.input.InvocationID }
func (inv *invocation) Key() string                { return inv.input.Key }
func (inv *invocation) Rand() *rand.Rand           { return inv.rand }
func (inv *invocation) Headers() map[string]string { return inv.headers }

func (inv *invocation) UUID() string {
	hi, lo := inv.rand.Uint64(), inv.rand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant RFC 4122
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}
