// Package ingress is the HTTP API clients call handlers through (the ingress port, 8080 by
// default), compatible with the official Restate server:
//
//	POST|GET /{service}/{handler}[/send]             call (200 + output) or one-way send (202)
//	POST|GET /{object-or-workflow}/{key}/{handler}[/send]
//	GET      /restate/health                          200 {"services":[…]}
//	POST     /restate/awakeables/{id}/resolve|reject  202 once the resolution is in the log
//	GET      /restate/invocation/{id}/attach|output   wait for (attach) or read an invocation's result
//	GET      /restate/invocation/{service}[/{key}]/{handler}/{idempotency-key}/attach|output
//	GET      /restate/workflow/{name}/{key}/attach|output
//
// and restate-server 1.7's newer API (api.go), the same operations under /restate/{verb}:
//
//	POST|GET /restate/call|send/{service}/[{key}/]{handler}   call or send, as above
//	GET      /restate/attach|output/{invocation_id}
//	POST     /restate/attach|output                            the invocation a JSON body names
//	POST     /restate/lookup                                   {"invocationId":…} of the invocation a body names
//	POST     /restate/scope/{scope}/call|send/…                refused (below)
//
// A body names an invocation as {"target":"invocation","invocationId":…},
// {"target":"idempotentInvocation","service":…,"key":…,"handler":…,"idempotencyKey":…} or
// {"target":"workflow","workflowName":…,"workflowKey":…}; one it cannot read is answered 500 in
// serde_json's words, as restate-server answers it (targetbody.go).
//
// A request is resolved against the registry's read view (service and handler types, input and
// output rules), validated (method, path, body size, input rules, JSON syntax for JSON inputs),
// turned into a command.Invocation and handed to a Dispatcher, which the partition router
// implements. Errors are Restate-shaped: {"code":…,"message":"…","source":"ingress"|"invocation"}
// with the header x-restate-error-source.
//
// Invocation ids: with an idempotency-key header the id is ids.Idempotent(target, keyed, key), so
// a retried request lands on the same invocation and the partition deduplicates it; a workflow's
// WORKFLOW handler gets the id ids.Workflow(service, key) (one run per workflow key, whatever the
// handler's name; empty idempotency keys are rejected, so the two never collide); Virtual Object calls get a random
// UUID in the key's partition; plain service calls a random partition key and UUID
// (crypto/rand, at the edge: the state machine never draws randomness).
//
// CORS (cors.go) wraps the whole ingress, as restate-server's does: any origin may call it from a
// web page, preflights are answered before the bearer-token guard.
//
// Handler is safe for concurrent use; it keeps no state between requests.
//
// Attach and output name an invocation by id, by the idempotency key a request to that target
// used (the same ids.Idempotent id), or as a workflow's run (ids.Workflow); the Dispatcher
// waits for or reads its result, which is answered like the original call's; output answers 470
// while the invocation runs.
//
// A send's ?delay= is read as restate-server reads it (delay.go): ISO 8601 ("PT10S", "P1DT2H")
// or jiff's friendly format ("10s", "1h 30m", "2 days", "1.5h"), days of 24 hours; a bad one is
// refused in jiff's words.
//
// Flow control (restate-server 1.7's scopes and limit keys) runs there on vqueues, experimental
// and off by default; Resolute has none and answers as restate-server does without them:
// /restate/scope/… is checked (scope.go) then refused, and a limit key (the x-restate-limit-key
// header or the limit-key query parameter) outside a scope is refused (limitkey.go); a lookup of a
// scoped target answers an id that no invocation has.
package ingress
