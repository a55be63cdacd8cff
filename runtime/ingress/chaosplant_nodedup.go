//go:build chaosplant_nodedup

package ingress

// A planted bug for the chaos checker (see chaosplant.go): every request
// gets a new invocation, idempotency key or not.
const dedupIdempotencyKeys = false
