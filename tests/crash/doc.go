// Package crash holds the crash-recovery acceptance test: a real `resolute
// server` process is killed with SIGKILL while a workload of idempotent
// one-way invocations runs against a Virtual Object served by the project's
// Go SDK in the test process, restarted on the same data directory and ports,
// and the outcome is checked through the public ingress API and what the
// handlers recorded in memory:
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
// amounts), though not the exact timing of processes. The binary is
// RESOLUTE_BIN or built from ./cmd/resolute (see package testenv).
package crash
