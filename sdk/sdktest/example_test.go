package sdktest_test

// The examples of docs/sdk.md ("Waiting for others"), compiled with the tests so that the guide
// keeps up with the API. The features themselves run in awakeables_test.go, workflows_test.go
// and combinators_test.go.

import (
	"errors"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Stand-ins for the outside world of the examples.
func requestPayment(amount int, callbackID string) error    { return nil }
func sendEmail(to, body string) error                       { return nil }
func compress(ctx sdk.RunContext, file string) (int, error) { return 0, nil }

// paid is what the payment provider's webhook receives.
type paid struct {
	AwakeableID string `json:"awakeableId"`
	Receipt     string `json:"receipt"`
	Declined    string `json:"declined"`
}

// Awakeables: hand an id to the outside world, wait for it to come back.
func Example_awakeable() {
	payments := sdk.NewService("Payments").
		Handler("charge", sdk.ServiceHandler(func(ctx sdk.Context, amount int) (string, error) {
			done := sdk.Awakeable[string](ctx)
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
				return sdk.Void{}, requestPayment(amount, done.ID())
			}); err != nil {
				return "", err
			}
			return done.Result() // the receipt, or the provider's rejection as a terminal error
		}))
	webhook := sdk.NewService("PaymentWebhook").
		Handler("paid", sdk.ServiceHandler(func(ctx sdk.Context, p paid) (sdk.Void, error) {
			if p.Declined != "" {
				sdk.RejectAwakeable(ctx, p.AwakeableID, sdk.TerminalErrorf(402, "declined: %s", p.Declined))
				return sdk.Void{}, nil
			}
			return sdk.Void{}, sdk.ResolveAwakeable(ctx, p.AwakeableID, p.Receipt)
		}))
	sdk.NewEndpoint().Bind(payments, webhook)
}

// verdict is what Approvers/answer receives.
type verdict struct {
	Invocation string `json:"invocation"`
	OK         bool   `json:"ok"`
}

// Named signals: wait for a signal by name; anyone who knows the invocation id sends it.
func Example_signal() {
	deploy := sdk.NewService("Deploy").
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, version string) (string, error) {
			sdk.Send(ctx, sdk.ToService("Approvers", "ask"), ctx.InvocationID())
			ok, err := sdk.Signal[bool](ctx, "approved").Result()
			if err != nil {
				return "", err
			}
			if !ok {
				return "", sdk.TerminalErrorf(403, "%s not approved", version)
			}
			return "deployed " + version, nil
		}))
	approvers := sdk.NewService("Approvers").
		Handler("answer", sdk.ServiceHandler(func(ctx sdk.Context, v verdict) (sdk.Void, error) {
			return sdk.Void{}, sdk.ResolveSignal(ctx, v.Invocation, "approved", v.OK)
		}))
	sdk.NewEndpoint().Bind(deploy, approvers)
}

// Workflows and durable promises: run executes once per key; shared handlers complete its
// promises, before or after run waits for them.
func Example_workflow() {
	signup := sdk.NewWorkflow("Signup").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, email string) (bool, error) {
			secret := ctx.UUID() // the same on every replay
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
				return sdk.Void{}, sendEmail(email, "click https://example.com/verify?secret="+secret)
			}); err != nil {
				return false, err
			}
			if err := sdk.Set(ctx, "status", "email sent"); err != nil {
				return false, err
			}
			clicked, err := sdk.OrTimeout(ctx, sdk.Promise[string](ctx, "clicked"), 24*time.Hour)
			if errors.Is(err, sdk.ErrTimeout) {
				return false, nil
			}
			return clicked == secret, err
		})).
		Handler("click", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, secret string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, "clicked").Resolve(secret)
		})).
		Handler("status", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (string, error) {
			return sdk.Get[string](ctx, "status")
		}))
	// Another handler starts a workflow and later waits for its result.
	onboarding := sdk.NewService("Onboarding").
		Handler("start", sdk.ServiceHandler(func(ctx sdk.Context, email string) (bool, error) {
			sdk.Send(ctx, sdk.ToWorkflow("Signup", email, "run"), email)
			return sdk.AttachWorkflow[bool](ctx, "Signup", email).Result()
		}))
	sdk.NewEndpoint().Bind(signup, onboarding)
}

// Combinators: WaitFirst, Wait, WaitEach and OrTimeout take any futures: calls, sends, timers,
// runs, awakeables, signals, promises, attached invocations.
func Example_combinators() {
	price := func(ctx sdk.Context, shop, item string) *sdk.CallFuture[int] {
		return sdk.CallAsync[int](ctx, sdk.ToService(shop, "price"), item)
	}
	quotes := sdk.NewService("Quotes").
		// The first answer, or nothing after a second.
		Handler("fastest", sdk.ServiceHandler(func(ctx sdk.Context, item string) (int, error) {
			a, b, timer := price(ctx, "ShopA", item), price(ctx, "ShopB", item), sdk.After(ctx, time.Second)
			first, err := sdk.WaitFirst(ctx, a, b, timer)
			if err != nil {
				return 0, err
			}
			if first == timer {
				return 0, sdk.TerminalErrorf(504, "no quote in time")
			}
			return first.(*sdk.CallFuture[int]).Result()
		})).
		// Every answer.
		Handler("cheapest", sdk.ServiceHandler(func(ctx sdk.Context, item string) (int, error) {
			a, b := price(ctx, "ShopA", item), price(ctx, "ShopB", item)
			if err := sdk.Wait(ctx, a, b); err != nil {
				return 0, err
			}
			pa, errA := a.Result()
			pb, errB := b.Result()
			if err := errors.Join(errA, errB); err != nil {
				return 0, err
			}
			return min(pa, pb), nil
		})).
		// Answers in the order they arrive.
		Handler("all", sdk.ServiceHandler(func(ctx sdk.Context, item string) ([]int, error) {
			var prices []int
			for f, err := range sdk.WaitEach(ctx, price(ctx, "ShopA", item), price(ctx, "ShopB", item)) {
				if err != nil {
					return nil, err
				}
				p, err := f.(*sdk.CallFuture[int]).Result()
				if err != nil {
					return nil, err
				}
				prices = append(prices, p)
			}
			return prices, nil
		})).
		// One answer, or ErrTimeout (408).
		Handler("fromA", sdk.ServiceHandler(func(ctx sdk.Context, item string) (int, error) {
			return sdk.OrTimeout(ctx, price(ctx, "ShopA", item), 5*time.Second)
		}))
	sdk.NewEndpoint().Bind(quotes)
}

// RunAsync: side effects on goroutines of their own, combined like any future.
func Example_runAsync() {
	archive := sdk.NewService("Archive").
		Handler("pack", sdk.ServiceHandler(func(ctx sdk.Context, files []string) (int, error) {
			var runs []sdk.Future
			for _, f := range files {
				runs = append(runs, sdk.RunAsync(ctx, func(rc sdk.RunContext) (int, error) {
					return compress(rc, f) // rc is cancelled when the attempt ends
				}, sdk.WithName("compress "+f)))
			}
			if err := sdk.Wait(ctx, runs...); err != nil {
				return 0, err
			}
			total := 0
			for _, r := range runs {
				n, err := r.(*sdk.RunFuture[int]).Result()
				if err != nil {
					return 0, err
				}
				total += n
			}
			return total, nil
		}))
	sdk.NewEndpoint().Bind(archive)
}

// Attach, Output and CancelInvocation: follow, peek at and cancel another invocation.
func Example_attach() {
	reports := sdk.NewService("Reports").
		Handler("build", sdk.ServiceHandler(func(ctx sdk.Context, month string) (string, error) {
			id, err := sdk.Send(ctx, sdk.ToService("Builder", "build"), month).InvocationID()
			if err != nil {
				return "", err
			}
			if report, done, err := sdk.Output[string](ctx, id); done {
				return report, err // already finished
			}
			report, err := sdk.OrTimeout(ctx, sdk.Attach[string](ctx, id), time.Hour)
			if errors.Is(err, sdk.ErrTimeout) {
				sdk.CancelInvocation(ctx, id) // its next await returns sdk.ErrCancelled
				return "", sdk.TerminalErrorf(504, "report for %s took too long", month)
			}
			return report, err
		}))
	sdk.NewEndpoint().Bind(reports)
}
