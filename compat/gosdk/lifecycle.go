package main

import (
	"fmt"
	"os"
	"time"

	restate "github.com/restatedev/sdk-go"
)

// Lifecycle services (tests/compat/lifecycle_test.go): cancel, kill, pause and resume, restart as
// new, purge and retention, driven through the admin API. They mirror the TypeScript ones in
// compat/ts/service.mjs.

// goLifeParent is GoLifeParent: run(tag) publishes "go <tag> parent <invocation id>", calls
// GoLifeChild/wait(tag) and returns its answer. On a terminal error (its cancellation) it
// compensates: the effect "go <tag> parent compensated <code>" and the state "compensated" = tag,
// then returns the error. compensated() answers that state ("none" unset); it is exclusive, so it
// needs the key's lock.
func goLifeParent() restate.ServiceDefinition {
	return restate.NewObject("GoLifeParent").
		Handler("run", restate.NewObjectHandler(func(ctx restate.ObjectContext, tag string) (string, error) {
			if err := publish(ctx, fmt.Sprintf("%s parent %s", tag, ctx.Request().ID)); err != nil {
				return "", err
			}
			v, err := restate.Service[string](ctx, "GoLifeChild", "wait").Request(tag)
			if err != nil && restate.IsTerminalError(err) {
				code := restate.AsTerminalError(err).Code()
				if cerr := publishAs(ctx, "compensate", fmt.Sprintf("%s parent compensated %d", tag, code)); cerr != nil {
					return "", cerr
				}
				restate.Set(ctx, "compensated", tag)
			}
			return v, err
		})).
		Handler("compensated", restate.NewObjectHandler(func(ctx restate.ObjectContext, _ restate.Void) (string, error) {
			s, err := restate.Get[*string](ctx, "compensated")
			if err != nil || s == nil {
				return "none", err
			}
			return *s, nil
		}))
}

// goLifeChild is GoLifeChild: wait(tag) publishes "go <tag> child <invocation id>" and awaits an
// awakeable nobody resolves; a terminal error (its cancellation) is recorded as "go <tag> child
// compensated <code>" and returned. cancel(id) cancels invocation id from a handler.
func goLifeChild() restate.ServiceDefinition {
	return restate.NewService("GoLifeChild").
		Handler("wait", restate.NewServiceHandler(func(ctx restate.Context, tag string) (string, error) {
			a := restate.Awakeable[string](ctx)
			if err := publish(ctx, fmt.Sprintf("%s child %s", tag, ctx.Request().ID)); err != nil {
				return "", err
			}
			v, err := a.Result()
			if err != nil && restate.IsTerminalError(err) {
				if cerr := publishAs(ctx, "compensate", fmt.Sprintf("%s child compensated %d", tag, restate.AsTerminalError(err).Code())); cerr != nil {
					return "", cerr
				}
			}
			return v, err
		})).
		Handler("cancel", restate.NewServiceHandler(func(ctx restate.Context, id string) (string, error) {
			restate.CancelInvocation(ctx, id)
			return "cancelled", nil
		}))
}

// fragileInput is the input of GoFragile/run.
type fragileInput struct {
	Tag    string `json:"tag"`
	Marker string `json:"marker"`
}

// goFragile is GoFragile: run({tag, marker}) journals a first step (so that the invocation is
// pinned to its deployment), then fails with a retryable error while the file marker exists, then
// returns "fixed <tag>". Every attempt is the effect line "go <tag> attempt". Its retry policy
// (from discovery) pauses after 3 attempts; the test may PATCH it.
func goFragile() restate.ServiceDefinition {
	policy := restate.WithInvocationRetryPolicy(restate.WithMaxRetryAttempts(3), restate.PauseOnMaxAttempts(),
		restate.WithInitialRetryInterval(10*time.Millisecond), restate.WithMaxRetryInterval(10*time.Millisecond))
	return restate.NewService("GoFragile", policy).
		Handler("run", restate.NewServiceHandler(func(ctx restate.Context, in fragileInput) (string, error) {
			if _, err := restate.Run(ctx, func(restate.RunContext) (string, error) { return in.Tag, nil }, restate.WithName("enter")); err != nil {
				return "", err
			}
			if err := effects.record(in.Tag + " attempt"); err != nil {
				return "", err
			}
			if _, err := os.Stat(in.Marker); err == nil {
				return "", fmt.Errorf("%s: the deployment is broken (%s exists)", in.Tag, in.Marker)
			}
			return "fixed " + in.Tag, nil
		}))
}

// goStamper is a service with stamp(tag): two journaled steps, the effects "go <tag> first
// <invocation id>" and "go <tag> second <invocation id>"; it returns "<tag> first run by <id of
// the invocation whose first step ran>". GoRerun keeps journals for an hour (restart as new,
// purge); GoFleeting keeps idempotency entries and journals for 1 s; GoKept has the defaults (the
// test PATCHes its retention).
func goStamper(name string, opts ...restate.ServiceDefinitionOption) restate.ServiceDefinition {
	return restate.NewService(name, opts...).
		Handler("stamp", restate.NewServiceHandler(func(ctx restate.Context, tag string) (string, error) {
			id := ctx.Request().ID
			first, err := restate.Run(ctx, func(restate.RunContext) (string, error) {
				return id, effects.record(fmt.Sprintf("%s first %s", tag, id))
			}, restate.WithName("first"))
			if err != nil {
				return "", err
			}
			if err := publishAs(ctx, "second", fmt.Sprintf("%s second %s", tag, id)); err != nil {
				return "", err
			}
			return tag + " first run by " + first, nil
		}))
}

// publish records line once, through a journaled step named "publish".
func publish(ctx restate.Context, line string) error { return publishAs(ctx, "publish", line) }

// publishAs records line once, through a journaled step named name.
func publishAs(ctx restate.Context, name, line string) error {
	return restate.RunVoid(ctx, func(restate.RunContext) error { return effects.record(line) }, restate.WithName(name))
}
