// Package goclient runs Resolute's Go ingress client (sdk/client) against a `resolute server`
// process and against restate-server 1.7.12 side by side, each with a deployment of Go SDK
// services defined in the test (a Service, a Virtual Object, a Workflow and an awakeable holder):
// calls and sends (delayed, idempotent), headers and a bearer token, a custom codec, attach and
// output by invocation id, by idempotency key (Service and Virtual Object forms) and by workflow
// key, workflow submit, awakeables resolved and rejected, and the errors of each, with their
// codes. Every step records the value or the error the client returned and the HTTP requests it
// made; both runs must match the same expectations.
//
// Needs restate-server (`npm ci --ignore-scripts` in compat/ts); without it the test skips, and
// fails under CI=true.
package goclient
