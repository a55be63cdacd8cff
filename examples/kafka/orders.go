// Package kafka is the order-events example of Restate's Kafka post: every change of an order is
// an event on the Kafka topic orders, keyed by the order id, and a subscription turns each event
// into a call of the Virtual Object of that order, in the order the events were produced.
//
//   - Order/{order}/onEvent (exclusive; the subscription's sink, callable by RPC too): applies
//     the event to the order's status, created → paid → shipped → delivered, and keeps every
//     event in the order's history with its Kafka offset (from the invocation's headers). An
//     event that does not follow (paid twice, shipped before paid, an unknown type) is kept in
//     the history as ignored and changes nothing. On paid, shipped and delivered it sends
//     Notifications/notify one way.
//   - Order/{order}/get (shared): the status and the history.
//   - Notifications/notify (service): publishes the notice to the Kafka topic notifications
//     (Publish: a journaled sdk.Run around an idempotent producer, keyed by the order id, with
//     a deterministic event id in a header) and then mails the customer (another sdk.Run). If
//     the mail fails, the invocation is retried and the notice is not published again: the
//     first Run's result is in the journal.
//
// Events for one order are handled one at a time and in offset order (one key, one Kafka
// partition, one Virtual Object); orders do not wait for each other.
package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/sdk"
)

// Order statuses, in the order they follow each other.
const (
	Created   = "created"
	Paid      = "paid"
	Shipped   = "shipped"
	Delivered = "delivered"
)

// next is the status each status moves on from.
var next = map[string]string{"": Created, Created: Paid, Paid: Shipped, Shipped: Delivered}

// Event is one record's value on the topic orders (JSON), keyed by the order id.
type Event struct {
	Type     string `json:"type"`               // created, paid, shipped or delivered
	Customer string `json:"customer,omitempty"` // with created
}

// Step is one event in an order's history.
type Step struct {
	Event       string `json:"event"`
	KafkaOffset string `json:"kafkaOffset,omitempty"` // absent for an RPC
	Ignored     string `json:"ignored,omitempty"`     // why the event changed nothing
}

// View is what Order/{order}/get answers (and what the object keeps in its state "order").
type View struct {
	Status   string `json:"status"`
	Customer string `json:"customer,omitempty"`
	History  []Step `json:"history"`
}

// Notice is what Notifications/notify publishes and mails.
type Notice struct {
	Order    string `json:"order"`
	Status   string `json:"status"`
	Customer string `json:"customer"`
}

// Order is the Virtual Object keyed by the order id.
var Order = sdk.NewObject("Order").
	Handler("onEvent", sdk.ObjectHandler(onEvent)).
	Handler("get", sdk.SharedHandler(get))

func onEvent(ctx sdk.ObjectContext, e Event) (View, error) {
	v, err := sdk.Get[View](ctx, "order")
	if err != nil {
		return View{}, err
	}
	step := Step{Event: e.Type, KafkaOffset: ctx.Headers()["kafka.offset"]}
	switch want, ok := next[v.Status]; {
	case !ok:
		step.Ignored = "the order is " + v.Status
	case e.Type != want:
		step.Ignored = fmt.Sprintf("the order is %q, the next event is %s", v.Status, want)
	default:
		v.Status = e.Type
		if e.Type == Created {
			v.Customer = e.Customer
		}
	}
	v.History = append(v.History, step)
	if err := sdk.Set(ctx, "order", v); err != nil {
		return View{}, err
	}
	if step.Ignored == "" && e.Type != Created {
		sdk.Send(ctx, sdk.ToService("Notifications", "notify"), Notice{Order: ctx.Key(), Status: v.Status, Customer: v.Customer})
	}
	return v, nil
}

func get(ctx sdk.ObjectSharedContext, _ sdk.Void) (View, error) {
	v, err := sdk.Get[View](ctx, "order")
	if err == nil && v.History == nil {
		v.History = []Step{}
	}
	return v, err
}

// Mailer sends a notice to a customer. An error is retried (the invocation is).
type Mailer interface {
	Mail(n Notice) error
}

// Config is what Notifications needs: a producer (franz-go, idempotent as by default), the
// topic for notices, and the mailer.
type Config struct {
	Producer *kgo.Client
	Topic    string
	Mailer   Mailer
}

// Notifications is the service that tells the outside world.
func Notifications(cfg Config) *sdk.Service {
	return sdk.NewService("Notifications").
		Handler("notify", sdk.ServiceHandler(func(ctx sdk.Context, n Notice) (Published, error) {
			p, err := Publish(ctx, cfg.Producer, "publish", &kgo.Record{
				Topic: cfg.Topic, Key: []byte(n.Order), Value: fmt.Appendf(nil, `{"order":%q,"status":%q}`, n.Order, n.Status),
			})
			if err != nil {
				return Published{}, err
			}
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (bool, error) {
				return true, cfg.Mailer.Mail(n)
			}, sdk.WithName("mail")); err != nil {
				return Published{}, err
			}
			return p, nil
		}))
}

// Endpoint serves Order and Notifications.
func Endpoint(cfg Config) *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(Order, Notifications(cfg))
}
