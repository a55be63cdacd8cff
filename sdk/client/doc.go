// Package client calls Restate services from ordinary Go code (a web handler, a command, a job)
// through the ingress of Resolute or of restate-server: the Go counterpart of the official
// TypeScript `@restatedev/restate-sdk-clients`.
//
// Targets, codecs and Void are the SDK's own (sdk.ToService, sdk.ToObject, sdk.ToWorkflow,
// sdk.Codec, sdk.JSON, sdk.Void), and the operations are named as the SDK names them inside a
// handler, with a context.Context and the Client in front:
//
//	c, err := client.New("http://localhost:8080", client.WithBearerToken(token))
//	n, err := client.Call[int](ctx, c, sdk.ToObject("Counter", "alice", "add"), 1,
//		client.WithIdempotencyKey("order-17"))
//	s, err := client.Send(ctx, c, sdk.ToService("Mailer", "welcome"), "alice",
//		client.WithDelay(time.Hour))
//	v, err := client.Attach[string](ctx, c, s.InvocationID)
//
//	s, err = client.SubmitWorkflow(ctx, c, "Signup", "alice", form)
//	out, err := client.AttachWorkflow[Account](ctx, c, "Signup", "alice")
//	out, ready, err := client.OutputWorkflow[Account](ctx, c, "Signup", "alice")
//
//	err = client.ResolveAwakeable(ctx, c, awakeableID, "approved")
//	err = client.RejectAwakeable(ctx, c, awakeableID, "declined")
//
// Call waits for the handler's result, Send returns once the invocation is durably accepted,
// Attach waits for an invocation's result and Output reads it without waiting. Each is one HTTP
// request, unless WithRetry gives a policy: then the requests that are safe to repeat (with an
// idempotency key, a workflow's submit, attach and output) are retried after network failures
// and the ingress's 408, 425, 429 and 5xx answers, as the official TypeScript client does. An invocation is named by its id (Attach, Output), by the
// idempotency key it was sent with (AttachIdempotent, OutputIdempotent) or, for a workflow's run,
// by the workflow's key (AttachWorkflow, OutputWorkflow).
//
// Errors: a non-2xx answer is an *Error with the HTTP status and Restate's code, message and
// source, as the ingress wrote them; a handler's terminal failure (Source "invocation") also
// unwraps to an *sdk.Terminal, so sdk.IsTerminal and sdk.ErrorCode see it. Network failures and
// context cancellation come back wrapped as they are (errors.Is(err, context.Canceled)).
//
// Concurrency: a Client is safe for concurrent use; it holds no state besides its options and
// its http.Client.
package client
