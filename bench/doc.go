// Command bench is Resolute's benchmark suite: the same scenarios, deployment
// and load generator against Resolute's server and the official
// restate-server, side by side, with the ratio Resolute/Restate for every
// figure.
//
//	go run ./bench [--scenarios noop,counter,...] [--servers resolute,restate]
//	    [--deployments go,ts] [--duration 5s] [--warmup 1s] [--size tiny|default]
//	    [--out results.md] [--json results.json] [--work-dir DIR --keep]
//
// Scenarios: fsync (the disk's own limit), noop, counter, workflow10, fanout,
// sleepers, awakeable (resolutions over HTTP of suspended invocations' awakeables),
// workflows-waiting (RSS with 10,000 workflows suspended on durable promises),
// recovery; and, only when named, retention (an hour of idempotent calls against a
// short retention, with the data directory's size sampled and judged flat or growing);
// bench/README.md describes each and holds the latest results.
//
// It owns: fresh processes per (server, deployment) pair — the server
// (resolute binary from --resolute-bin, $RESOLUTE_BIN or built from
// ./cmd/resolute; restate-server from compat/ts/node_modules) and the
// deployment (bench/deployment with our Go SDK, or compat/ts/bench.mjs with
// the official TypeScript SDK), each in its own process group, killed on exit;
// a closed-loop HTTP/1.1 load generator with warm-up excluded; machine
// description; markdown and JSON reports.
//
// Both deployments serve the same services (Bench: noop, leaf, steps, fanout,
// sleep, block; Counter: add, addAfterSteps; Awakeable: wait; the workflow WaitingWorkflow:
// run, resolve) and the same control API on a second port (GET /stats,
// GET /awakeables, GET /waiting, POST /reset, POST /release), through which
// the harness counts distinct invocations that started sleeping, woke, or
// entered a blocked Run body, reads the awakeable ids handlers published and
// the values they returned, and sees which waiting attempts have suspended.
//
// Concurrency: scenarios run one at a time; within a load case, workers are
// goroutines that only share atomic counters and a mutex-guarded latency
// slice. A scenario that fails becomes an error row, never a crash of the
// suite. TestScenariosTiny runs every scenario at the tiny size and checks
// only that none fails: benchmarks are never pass/fail on their figures.
package main
