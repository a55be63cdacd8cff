// Package chaos is the chaos checker: it runs a real `resolute server` and
// two real deployment processes (package chaos/deployment, served by the
// project's Go SDK: one serves Counter, the other Workflowish and the
// Promised workflow, whose handlers call Counter) as subprocesses on loopback, drives a seeded random
// workload through ingress, SIGKILLs the server, one deployment, or all
// three at random moments and restarts them, lets everything drain, and
// checks what the clients saw, what the deployments recorded, and the final
// state.
//
// The workload (Config.Workers clients, each drawing from the seed): Counter
// adds (request/response, and one-way /send, half of them delayed with
// ?delay=), shared and exclusive reads, on a few hot keys and many cold
// keys; Workflowish.run (several Run steps, then a call to Counter.add);
// Workflowish.nap (a Run step, a durable sleep, a Run step, then a call to
// Counter.add; most naps sent one-way, a few called); Workflowish.fanout (a Run step, then one-way sends of adds,
// half of them delayed, each with an idempotency key); Workflowish.await (an
// awakeable whose id it writes to the execution log, a wait on it, a Run
// step, then a call to Counter.add), which the checker resolves or rejects
// over ingress, once, twice in sequence or twice at once, some as a kill
// begins; the Promised workflow, whose run waits on a durable promise that
// the client completes through a shared handler before or after submitting
// the run, sometimes twice, and whose run it submits a second time. Sleeps and delays
// are 0.1-3 s, so timers armed before a kill fall due before it, while the
// processes are down and after they are back. Every operation but some
// reads carries its unique id as idempotency-key and is retried with it
// until ingress answers 2xx, as a client holding an idempotency key does.
//
// The checks (Report.Checks, printed by Report.Table):
//
//   - kills: at least one happened (and how many requests were in flight, and
//     how many calls between services were pending);
//   - no failed requests: no invocation failure and no 4xx answer;
//   - acknowledged ops: one output, one invocation: the first 2xx answer of
//     every idempotent operation equals the answer to a final attach (a call
//     with the same idempotency key), invocation ids included;
//   - journaled Run results never recomputed: the deployment appends
//     (op, step, token) to a file before each Run body returns a unique token
//     (a write survives its SIGKILL); for every (op, step), the token in the
//     final output must be the last one recorded;
//   - final state = fold of acknowledged ops: each Counter's state lists the
//     op ids it applied; each acknowledged add is there once, nothing unknown
//     is, the value is the sum of the deltas, and each add's answer is the
//     running sum at its place;
//   - timers fire once, never early: every acknowledged sleep and delayed
//     send fired, its add is applied exactly once, and the Run step after it
//     ran no earlier than the timer was due (Report.Timers counts the timers
//     armed before a kill by when they fell due);
//   - awakeables: first acknowledged resolution wins: every await reported
//     one awakeable id; every resolution was acknowledged (202); each await
//     resolved has an output, with the value or rejection of a resolution
//     sent, no other acknowledged before that one was sent, and its Run step
//     after the wait ran no earlier than it was sent;
//   - workflows: run once per key, promise value reaches it: the first
//     completion succeeded and a second was refused, a second submission
//     of the run was not accepted again, the run's output carries the first
//     completion's value, after it was sent;
//   - linearizable: per hot key (and for the cold keys, key by key), the
//     history of adds and reads from the clients' view is checked against a
//     counter model with porcupine; an add never answered is pending;
//   - no stuck invocations: the drain ends within Config.DrainTimeout with
//     every acknowledged op answered (stuckOps), and no Run executes in the
//     quiet period after it (lateRuns).
//
// The checks are tested on histories with one planted violation each
// (check_test.go), and end to end on binaries built with a planted bug
// (TestPlantedBugs; the chaosplant_* build tags of runtime/ingress, sdk and
// chaos/deployment).
//
// With Config.Nodes 3 the server is a three-node cluster: each node's Raft
// and remoting listeners sit behind an internal/faultproxy proxy, requests
// enter by every node in turn, and the faults (ClusterKillKinds) are a kill
// of one node (restarted on its data directory), of either deployment, and
// the isolation of one node from the others (its proxies cut, then healed).
// The checks are the same.
//
// Run is the library entry point used by cmd/resolute-chaos and by the test
// in this package. Seeds replay the operations and the kill schedule, though
// not the processes' timing.
//
// Concurrency: Run owns every goroutine it starts (workers, attachers) and
// waits for them; processes are killed on return. A Report is plain data.
//
//	rep, err := chaos.Run(ctx, chaos.Config{ServerBin: srv, DeploymentBin: dep, Cycles: 4, Duration: 30 * time.Second})
//	fmt.Print(rep.Table())
package chaos
