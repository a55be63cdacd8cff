// Package payments is a Stripe-style payment API on durable execution: a payment is one
// invocation of Payments/pay, made idempotent by the caller's idempotency key, and carried out
// as a saga against an external provider (a warehouse, a card processor and a carrier behind one
// HTTP API, see Provider and FakeProvider) whose every call runs inside sdk.Run, so it is
// journaled and not repeated by a replay.
//
// Payments/pay (input Order):
//  1. reserves the items' stock             compensation: release the stock
//  2. charges the card (a decline is 402)    compensation: refund the charge
//  3. requests the shipment, handing the carrier an awakeable id,
//     and waits for the carrier's label     compensation: cancel the shipment
//
// and answers the Payment. When a step fails for good (the card is declined, the carrier
// rejects the awakeable) or the invocation is cancelled (PATCH /invocations/{id}/cancel on the
// admin API: the waiting step sees sdk.ErrCancelled, a terminal 409), the compensations of the
// steps started so far run in reverse order, each inside sdk.Run, and pay fails with that
// error. A compensation is registered before its step, and names the action it undoes by the
// action's idempotency key, because a step may have acted although it ended in an error (a
// cancellation can win the wait for a step's result to be journaled).
//
// Exactly once, end to end: the ingress answers a request whose idempotency-key header it has
// seen with the first request's result without running pay again; inside pay, each provider
// call carries an idempotency key made of the payment id (drawn from the deterministic random
// generator, so the same on every replay) and the step, so a call that is repeated because the
// server crashed after the provider acted but before the step was journaled is answered by the
// provider with its first result instead of acting twice.
package payments

import (
	"context"
	"fmt"
	"slices"

	"github.com/resolute-run/resolute/sdk"
)

// Order is what the client pays for.
type Order struct {
	Customer string   `json:"customer"`
	Items    []string `json:"items"`
	Amount   int64    `json:"amount"` // in cents
	Currency string   `json:"currency"`
	Address  string   `json:"address"`
}

// Payment is what Payments/pay answers.
type Payment struct {
	ID       string `json:"id"` // pay_…
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Charge   string `json:"charge"` // the provider's ch_… id
	Label    string `json:"label"`  // the carrier's shipping label
}

// StatusSucceeded is the status of a Payment that went through.
const StatusSucceeded = "succeeded"

// Provider is the external API the saga drives. Every method takes an idempotency key: a call
// repeated with the same key must answer the first call's result without acting again. An undo
// (ReleaseStock, Refund, CancelShipment) names the action it undoes by that action's idempotency
// key: it undoes the action if it was made, and otherwise does nothing and makes the provider
// refuse the action should it still come, so that a saga can undo a step whose outcome it never
// learnt. Errors that a retry cannot fix are terminal (sdk.TerminalError); any other error is
// retried.
type Provider interface {
	ReserveStock(ctx context.Context, key string, items []string) (string, error) // reservation id
	ReleaseStock(ctx context.Context, key, reserveKey string) error
	Charge(ctx context.Context, key, customer string, amount int64, currency string) (string, error) // charge id
	Refund(ctx context.Context, key, chargeKey string) error
	Ship(ctx context.Context, key string, items []string, address, awakeable string) (string, error) // shipment id
	CancelShipment(ctx context.Context, key, shipKey string) error
}

// Service is the Payments service.
func Service(p Provider) *sdk.Service {
	s := saga{p: p}
	return sdk.NewService("Payments").Handler("pay", sdk.ServiceHandler(s.pay))
}

// Endpoint serves the Payments service.
func Endpoint(p Provider) *sdk.Endpoint { return sdk.NewEndpoint().Bind(Service(p)) }

type saga struct{ p Provider }

// compensations are the undo steps of the steps started so far, run last first.
type compensations []func() error

// run runs every compensation, last first, and returns cause: the failure or cancellation that
// ended the saga. A compensation that fails for good (the provider refused the undo: a terminal
// error) stops there and is returned with the cause. Errors a retry can fix never come back
// here: they end the attempt, the runtime retries it, and the replay skips the journaled undos.
func (c compensations) run(cause error) error {
	for _, undo := range slices.Backward(c) {
		if err := undo(); err != nil {
			return fmt.Errorf("compensate after %v: %w", cause, err)
		}
	}
	return cause
}

func (s saga) pay(ctx sdk.Context, o Order) (Payment, error) {
	if o.Amount <= 0 || len(o.Items) == 0 {
		return Payment{}, sdk.TerminalErrorf(400, "an order needs items and a positive amount")
	}
	id := "pay_" + ctx.UUID()
	key := func(step string) string { return id + "/" + step }
	var undo compensations
	// Each compensation is registered before its step runs: a step can act at the provider and
	// still end in an error here (a cancellation that arrives while the step's result is being
	// journaled wins the await), and its undo must run all the same. An undo of an action that
	// was never made does nothing.
	compensate := func(name string, fn func(rc sdk.RunContext) error) {
		undo = append(undo, func() error {
			_, err := step(ctx, name, func(rc sdk.RunContext) (sdk.Void, error) { return sdk.Void{}, fn(rc) })
			return err
		})
	}

	compensate("release stock", func(rc sdk.RunContext) error {
		return s.p.ReleaseStock(rc, key("release"), key("reserve"))
	})
	if _, err := step(ctx, "reserve stock", func(rc sdk.RunContext) (string, error) {
		return s.p.ReserveStock(rc, key("reserve"), o.Items)
	}); err != nil {
		return Payment{}, undo.run(err)
	}

	compensate("refund", func(rc sdk.RunContext) error {
		return s.p.Refund(rc, key("refund"), key("charge"))
	})
	charge, err := step(ctx, "charge", func(rc sdk.RunContext) (string, error) {
		return s.p.Charge(rc, key("charge"), o.Customer, o.Amount, o.Currency)
	})
	if err != nil {
		return Payment{}, undo.run(err)
	}

	label := sdk.Awakeable[string](ctx)
	compensate("cancel shipment", func(rc sdk.RunContext) error {
		return s.p.CancelShipment(rc, key("cancel-shipment"), key("ship"))
	})
	if _, err := step(ctx, "ship", func(rc sdk.RunContext) (string, error) {
		return s.p.Ship(rc, key("ship"), o.Items, o.Address, label.ID())
	}); err != nil {
		return Payment{}, undo.run(err)
	}
	l, err := label.Result() // the carrier's webhook; sdk.ErrCancelled when cancelled
	if err != nil {
		return Payment{}, undo.run(err)
	}
	return Payment{ID: id, Status: StatusSucceeded, Amount: o.Amount, Currency: o.Currency, Charge: charge, Label: l}, nil
}

// step runs fn, a provider call, inside sdk.Run: its result (or its terminal error) is journaled
// and a replay returns it without calling the provider. An error that is not terminal fails the
// attempt (sdk.Run does not return) and the runtime retries.
func step[T any](ctx sdk.Context, name string, fn func(sdk.RunContext) (T, error)) (T, error) {
	return sdk.Run(ctx, fn, sdk.WithName(name))
}
