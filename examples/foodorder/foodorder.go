// Package foodorder is a food delivery order as a durable workflow: it waits for the restaurant
// to confirm through an awakeable (which the restaurant's webhook resolves over the ingress), and
// for the courier to report the delivery through a durable promise (resolved by the shared
// handler "delivered"). Either wait may last hours and survive any number of restarts.
//
// FoodOrder/{order}/run (the workflow, once per order id):
//  1. creates an awakeable;
//  2. sends the order to the restaurant with the awakeable's id (a side effect, once) and
//     records the id in the order's status;
//  3. waits for the restaurant's webhook: POST /restate/awakeables/{id}/resolve with a
//     Confirmation, or /reject (the order then fails with the restaurant's reason);
//  4. books a courier (a side effect, once) and waits for the promise "delivered";
//  5. tells the customer (a side effect, once) and returns the Receipt.
//
// FoodOrder/{order}/status (shared) reads the status, including the awakeable id while the
// restaurant has not answered. FoodOrder/{order}/delivered (shared) resolves the promise with
// the courier's name.
package foodorder

import (
	"fmt"
	"io"
	"strings"

	"github.com/resolute-run/resolute/sdk"
)

// Order is what the customer submits.
type Order struct {
	Restaurant string   `json:"restaurant"`
	Items      []string `json:"items"`
	Address    string   `json:"address"`
}

// Confirmation is what the restaurant's webhook resolves the awakeable with.
type Confirmation struct {
	ReadyInMinutes int `json:"readyInMinutes"`
}

// Receipt is the workflow's result.
type Receipt struct {
	Order          string `json:"order"`
	ReadyInMinutes int    `json:"readyInMinutes"`
	Courier        string `json:"courier"`
}

// Phases of an order, in order.
const (
	AwaitingRestaurant = "awaiting restaurant"
	AwaitingCourier    = "awaiting courier"
	Delivered          = "delivered"
	Failed             = "failed"
)

// Status is what FoodOrder/{order}/status answers.
type Status struct {
	Phase string `json:"phase"`
	// RestaurantAwakeable is the awakeable the restaurant resolves, while Phase is
	// AwaitingRestaurant.
	RestaurantAwakeable string `json:"restaurantAwakeable,omitempty"`
	Courier             string `json:"courier,omitempty"`
	Reason              string `json:"reason,omitempty"` // why the order failed
}

// deliveredPromise is the durable promise the courier's report resolves.
const deliveredPromise = "delivered"

// Workflow is the FoodOrder workflow. Its side effects (the messages to the restaurant, the
// courier service and the customer) are lines written to out, one write each; out must accept
// concurrent writes (os.Stdout does).
func Workflow(out io.Writer) *sdk.Workflow {
	o := orders{out: out}
	return sdk.NewWorkflow("FoodOrder").
		Handler("run", sdk.WorkflowHandler(o.run)).
		Handler("status", sdk.WorkflowSharedHandler(status)).
		Handler("delivered", sdk.WorkflowSharedHandler(delivered))
}

// Endpoint serves the workflow.
func Endpoint(out io.Writer) *sdk.Endpoint { return sdk.NewEndpoint().Bind(Workflow(out)) }

type orders struct{ out io.Writer }

func (o orders) run(ctx sdk.WorkflowContext, order Order) (Receipt, error) {
	id := ctx.Key()
	confirmed := sdk.Awakeable[Confirmation](ctx)
	if err := o.tell(ctx, "restaurant", "order %s for %s: %s to %s; confirm by resolving awakeable %s",
		id, order.Restaurant, strings.Join(order.Items, ", "), order.Address, confirmed.ID()); err != nil {
		return Receipt{}, err
	}
	if err := sdk.Set(ctx, "status", Status{Phase: AwaitingRestaurant, RestaurantAwakeable: confirmed.ID()}); err != nil {
		return Receipt{}, err
	}
	c, err := confirmed.Result()
	if err != nil {
		// The restaurant rejected the order (a terminal error): the order fails for good.
		return Receipt{}, fail(ctx, err)
	}
	if err := o.tell(ctx, "courier", "order %s: pick up at %s in %d minutes, deliver to %s",
		id, order.Restaurant, c.ReadyInMinutes, order.Address); err != nil {
		return Receipt{}, err
	}
	if err := sdk.Set(ctx, "status", Status{Phase: AwaitingCourier}); err != nil {
		return Receipt{}, err
	}
	courier, err := sdk.Promise[string](ctx, deliveredPromise).Result()
	if err != nil {
		return Receipt{}, fail(ctx, err)
	}
	if err := o.tell(ctx, "customer", "order %s delivered by %s", id, courier); err != nil {
		return Receipt{}, err
	}
	if err := sdk.Set(ctx, "status", Status{Phase: Delivered, Courier: courier}); err != nil {
		return Receipt{}, err
	}
	return Receipt{Order: id, ReadyInMinutes: c.ReadyInMinutes, Courier: courier}, nil
}

// fail records why the order failed (a rejection by the restaurant, or a cancellation) and
// returns err, the handler's terminal error.
func fail(ctx sdk.WorkflowContext, err error) error {
	if serr := sdk.Set(ctx, "status", Status{Phase: Failed, Reason: err.Error()}); serr != nil {
		return serr
	}
	return err
}

// tell sends a message to whom, once: the write runs inside sdk.Run, so a replay after a
// suspension or a crash returns the journaled outcome instead of writing again.
func (o orders) tell(ctx sdk.Context, whom, format string, args ...any) error {
	_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
		_, err := fmt.Fprintf(o.out, "to %s: "+format+"\n", append([]any{whom}, args...)...)
		return sdk.Void{}, err
	}, sdk.WithName("tell "+whom))
	return err
}

func status(ctx sdk.WorkflowSharedContext, _ sdk.Void) (Status, error) {
	return sdk.Get[Status](ctx, "status")
}

// delivered is the courier's report. Reporting twice fails with the runtime's terminal error
// for a promise completed already.
func delivered(ctx sdk.WorkflowSharedContext, courier string) (sdk.Void, error) {
	if courier == "" {
		return sdk.Void{}, sdk.TerminalErrorf(400, "the courier's name must not be empty")
	}
	return sdk.Void{}, sdk.Promise[string](ctx, deliveredPromise).Resolve(courier)
}
