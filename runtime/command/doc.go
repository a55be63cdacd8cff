// Package command defines the entries of a partition's replicated log: what can happen to a
// partition, as plain data. The partition state machine (package statemachine) is a pure function
// of a sequence of these commands.
//
// Encoding: an entry of the Raft log is a Batch (several commands proposed together: group commit),
// encoded with msgpack. Every batch carries a format version; Decode rejects versions it does not
// know, and new fields are added with omitempty so that old logs stay readable.
//
// Time, ids and randomness enter the log here, stamped by the proposer (Batch.Time and the ids in
// the commands); the state machine never reads a clock.
package command
