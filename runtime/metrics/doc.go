// Package metrics owns the server's Prometheus registry and its metric definitions, and serves
// them in the text exposition format (GET /metrics on the admin address).
//
// The runtime's parts report through narrow hooks declared where they are consumed
// (ingress.Observer, invoker.Observer, partition.Observer), implemented here by *Metrics; the
// gauges that describe state (invocations by status, timers pending, proposal queues,
// leadership) are read at scrape time from the partitions (Source), so nothing on the request
// path keeps them. The deterministic state machine (runtime/statemachine) reports nothing: the
// counting happens at its edges, in the proposer, the invoker and the ingress.
//
// Concurrency: every method is safe for concurrent use. The hooks on the request path do atomic
// adds on label children resolved in advance (ingress kinds and status classes) or cached once
// per deployment; they never allocate labels per request.
//
// The registry is the package's own, not prometheus.DefaultRegisterer: several servers run in one
// test process, and the default registry would mix their series (and panic on the second
// registration); libraries that register on the default registry do not leak into ours either.
//
// Names follow restate-server's where a metric means the same (restate_…); ours are resolute_…;
// docs/metrics.md lists them.
package metrics
