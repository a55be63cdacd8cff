package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
)

// Calls and sends to a Virtual Object, and an idempotent request attached to later.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://localhost:8080", client.WithBearerToken("token"))
	if err != nil {
		log.Fatal(err)
	}
	n, err := client.Call[int](ctx, c, sdk.ToObject("Counter", "alice", "add"), 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("count:", n)

	// A send with an idempotency key: sent twice, it runs once; its result is kept.
	add := sdk.ToObject("Counter", "alice", "add")
	s, err := client.Send(ctx, c, add, 5, client.WithIdempotencyKey("order-17"), client.WithDelay(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.InvocationID, s.Status)
	n, err = client.AttachIdempotent[int](ctx, c, add, "order-17") // waits for the delayed run
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("count:", n)
}

// A workflow submitted once per key, signalled through a shared handler, and read back.
func ExampleSubmitWorkflow() {
	ctx := context.Background()
	c, err := client.New("http://localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.SubmitWorkflow(ctx, c, "Signup", "ann", "ann@example.com"); err != nil {
		log.Fatal(err)
	}
	if _, ready, err := client.OutputWorkflow[string](ctx, c, "Signup", "ann"); err == nil && !ready {
		fmt.Println("still running")
	}
	if _, err := client.Call[sdk.Void](ctx, c, sdk.ToWorkflow("Signup", "ann", "approve"), "carol"); err != nil {
		log.Fatal(err)
	}
	result, err := client.AttachWorkflow[string](ctx, c, "Signup", "ann")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(result)
}

// An awakeable id handed out by a handler, completed from a webhook.
func ExampleResolveAwakeable() {
	c, err := client.New("http://localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	webhook := func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("awakeable")
		var err error
		if r.URL.Query().Get("paid") == "true" {
			err = client.ResolveAwakeable(r.Context(), c, id, "paid")
		} else {
			err = client.RejectAwakeable(r.Context(), c, id, "payment failed")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	http.HandleFunc("/webhook", webhook)
}

// Restate's error codes, from the ingress or from the handler's terminal error.
func ExampleError() {
	ctx := context.Background()
	c, err := client.New("http://localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Call[string](ctx, c, sdk.ToService("Payments", "charge"), 100)
	var e *client.Error
	switch {
	case errors.As(err, &e) && e.Terminal():
		fmt.Println("the handler failed for good:", e.Code, e.Message, sdk.ErrorCode(err))
	case errors.As(err, &e):
		fmt.Println("the ingress refused the request:", e.Status, e.Message)
	case err != nil:
		fmt.Println("no answer:", err) // network, context
	}
}
