// Package statemachine is the deterministic core of a partition: a pure function from (tables,
// command) to (new tables, outcome, actions).
//
// Apply reads and writes the partition's tables (package storage) through one pebble batch and
// returns, for each command, an Outcome for its proposer and a list of Actions for the partition
// leader to carry out after the batch is committed (start an attempt, forward a notification,
// answer a waiting caller, deliver the outbox). It never reads a clock, draws randomness, iterates
// a map or does IO beyond the batch: time comes from the batch, ids from the commands or are
// derived from them. A test enforces the import rule (nondeterminism_test.go).
//
// Invocation lifecycle: see storage.Phase. The state machine is a composition: Virtual Object
// semantics (key lock and inbox, access rules, K/V state) come from package objects, awakeables,
// signals and durable promises from package promises; workflow runs (once per key, removed after
// their retention) and attach/output requests are in workflow.go.
package statemachine
