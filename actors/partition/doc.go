// Package partition runs partitions: for each one a Raft shard (package raftlog) whose state
// machine is the deterministic core (package statemachine), a proposer that batches commands into
// log entries (group commit), and a supervised protoactor-go actor that carries out the actions
// the core returns, but only while this replica is the shard's leader.
//
// Ownership and concurrency:
//   - dragonboat's apply goroutine runs the core and, after each committed batch, sends the batch's
//     actions to the partition's actor;
//   - the actor (one goroutine at a time, restarted by its supervisor after a panic) starts and
//     stops invocation attempts, forwards notifications, answers waiting callers and wakes the
//     shuffle. When it becomes leader, and after every restart, it re-derives all pending work
//     from the tables (running invocations, undelivered outbox, waiters whose invocation
//     finished), so a lost action never loses work;
//   - the partition's moving parts are loops run by child actors of the partition actor
//     (parts.go), supervised: the proposer owns the order of proposals, the completer hands
//     them their outcomes, the timer service fires due timers and the shuffle delivers the
//     outbox to its target partitions. A part that panics is restarted without losing work;
//     a part that keeps failing fails the partition actor, which restarts with fresh parts.
//
// Admission and health (admission.go, supervision.go): work from outside (ProposeWait: ingress,
// signals, admin operations) is refused with a *RefusedError, before anything is queued, while
// the proposer's queue holds MaxQueued proposals or while the partition cannot run (its actor
// stopped by the supervisor after too many panics, or unable to read its tables when it became
// leader); such a partition tries again every RecoverInterval. Recovery of attempts
// (recovery.go): a new attempt's snapshot waits for the proposals of the invocation's earlier
// attempts, and a Stale journal entry makes the actor restart the attempt of an invocation
// that still runs, so nothing running is left without an attempt.
//
// Control messages between the supervisor, the partition actors and their parts are protobuf
// (proto/resolute_partition.proto, generated into pb with
// `protoc --go_out=pb --go_opt=paths=source_relative -I proto proto/resolute_partition.proto`),
// as protoactor remote needs of messages that cross nodes; only the applied actions, which never
// leave their replica, are a Go value.
//
// Routing (route.go): the Router sends each request to its partition's leader, the local
// replica or another node's over actors/remote (RemoteLocal serves them there), waits a bounded
// time for a partition without a reachable leader and then refuses the request as unavailable.
package partition
