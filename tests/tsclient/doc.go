// Package tsclient runs the official TypeScript ingress client, npm
// @restatedev/restate-sdk-clients (compat/ts), against Resolute's ingress and against
// restate-server 1.7.12, with the official TypeScript SDK services of compat/ts/service.mjs
// deployed on each: calls, sends (delayed, idempotent), idempotency keys, attach by invocation id
// and by idempotency key, output, workflow submit, attach and output, awakeables resolved and
// rejected through the client, its retry policy meeting terminal errors, flow control (scopes
// and limit keys, refused alike: restate-server runs them only with its experimental vqueues),
// and the same client in a browser's place (cross-origin requests with CORS preflights). The steps are
// compat/ts/ingressclient.mjs; every step's answer is compared with what the test expects, on
// both servers.
//
// Needs node and `npm ci --ignore-scripts` in compat/ts; without them the test skips, and fails
// under CI=true.
package tsclient
