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
//   - the proposer goroutine owns the order of proposals; the shuffle goroutine delivers the
//     outbox to its target partitions. Both are started by New and stopped by Close.
package partition
