// Package ingressapi sends the same HTTP requests to a `resolute server` process and to
// restate-server 1.7.12, each with a deployment of the same Go SDK services (a Service, a
// Virtual Object and a Workflow), and compares what they answer: restate-server 1.7's newer
// ingress API (/restate/call|send/…, /restate/attach|output/{id}, /restate/attach|output and
// /restate/lookup with a JSON body naming the target, and a scope's call), its bad paths and
// bodies, and the ?delay= values a send takes (ISO 8601 and jiff's friendly format) or refuses.
// Status, content type, error source and body must match, invocation ids aside (each server
// makes its own: they are replaced by the name of the request that made them).
//
// Needs restate-server (`npm ci --ignore-scripts` in compat/ts); without it the test skips, and
// fails under CI=true.
package ingressapi
