// Package greeter is the counting greeter from the Restate launch post: a Virtual Object keyed by
// name that counts how often each person was greeted, and a stateless service that calls it.
//
// Greeter/{name}/greet is exclusive: calls for one name run one at a time, so the count never
// skips or repeats, even under concurrent calls and crashes. Greeter/{name}/count is shared and
// only reads. Welcome/welcome is stateless and greets through a durable call.
package greeter

import (
	"fmt"

	"github.com/resolute-run/resolute/sdk"
)

// Greeter is the Virtual Object keyed by the person's name.
var Greeter = sdk.NewObject("Greeter").
	Handler("greet", sdk.ObjectHandler(greet)).
	Handler("count", sdk.SharedHandler(count))

// Welcome is a stateless service that greets through Greeter.
var Welcome = sdk.NewService("Welcome").
	Handler("welcome", sdk.ServiceHandler(welcome))

func greet(ctx sdk.ObjectContext, greeting string) (string, error) {
	n, err := sdk.Get[int](ctx, "count")
	if err != nil {
		return "", err
	}
	n++
	if err := sdk.Set(ctx, "count", n); err != nil {
		return "", err
	}
	if greeting == "" {
		greeting = "Hello"
	}
	return fmt.Sprintf("%s %s for the %d-th time.", greeting, ctx.Key(), n), nil
}

func count(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
	return sdk.Get[int](ctx, "count")
}

func welcome(ctx sdk.Context, name string) (string, error) {
	if name == "" {
		return "", sdk.TerminalErrorf(400, "name must not be empty")
	}
	return sdk.Call[string](ctx, sdk.ToObject("Greeter", name, "greet"), "Welcome")
}

// Endpoint serves both services.
func Endpoint() *sdk.Endpoint { return sdk.NewEndpoint().Bind(Greeter, Welcome) }
