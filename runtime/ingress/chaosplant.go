//go:build !chaosplant_nodedup

package ingress

// dedupIdempotencyKeys is false only in a server built with the
// chaosplant_nodedup tag (chaosplant_nodedup.go): a planted bug, ingress
// ignoring idempotency keys, that the chaos checker must reject (package
// chaos, TestPlantedBugs).
const dedupIdempotencyKeys = true
