// Package crash holds the crash-recovery acceptance tests: real `resolute
// server` processes killed with SIGKILL, restarted on the same data directory
// and ports, and the outcome checked through the public ingress API and what
// the handlers recorded.
//
// TestCrashRecovery kills the server while a workload of idempotent one-way
// invocations runs against a Virtual Object served by the project's Go SDK in
// the test process:
//
//   - every acknowledged invocation (202 to /send with an idempotency-key)
//     completes, and re-sending an unacknowledged one answers 202;
//   - no Run body runs again once its result is journaled: the token a step
//     returned in the final result is the one its last execution produced;
//   - no state write is lost or applied twice: per key, the balance is the sum
//     of its operations' amounts and the count their number;
//   - the server exits with status 0 on SIGTERM.
//
// The kill schedule is drawn from a seed that the test prints;
// RESOLUTE_CRASH_SEED=<seed> replays the schedule (thresholds, order,
// amounts), though not the exact timing of processes.
//
// TestTimersAndCallsAcrossKills runs two deployment processes (the test
// binary re-executed, see TestMain): Front (sleeps, delayed sends, calls) and
// Tally (the callee). It arms sleeps and delayed sends (from a handler and
// through the ingress ?delay=) due before, during and after a SIGKILL of the
// server, and kills in turn the server, the callee's deployment and the
// caller's deployment while calls between them are in flight:
//
//   - every sleep and delayed send fires exactly once (one invocation, its
//     effect counted once in Tally's state) and not before it is due;
//   - every call completes with its callee's journaled result, applied once;
//   - a handler attempt or a Run body is repeated only when a kill of the
//     server or of its own deployment fell in between, and the journaled
//     result of every Run is its last execution's.
//
// Deployment processes append their events to files (one write per event,
// which a SIGKILL does not lose). The server binary is RESOLUTE_BIN, or built
// once from ./cmd/resolute by TestMain (see package testenv).
package crash
