// Package misbehave tests the real server against deployments that break the service protocol:
// truncated frames, unknown or forbidden message types, out-of-order messages, journal
// mismatches, hangs, bad HTTP answers and dropped connections. Each fake deployment is a raw
// http.Handler that speaks frames by hand (deployment.go); most misbehave a few times and then
// behave, so the test checks that the invocation is retried to success, that a /send
// acknowledged before the misbehaviour still completes, and that a healthy service keeps
// answering meanwhile. Terminal cases check for a clear error instead.
package misbehave
