// Package snapshot holds the tests of Raft snapshots and log compaction through the whole
// server: with a snapshot every few entries, dragonboat snapshots and compacts every shard's log
// while invocations run, and
//
//   - a restart on the same data directory starts from the snapshot and the compacted log with
//     every pebble table byte-identical and every result, state and status as before;
//   - every shard's snapshot, exported and imported into an empty data directory, rebuilds the
//     databases byte-identical (the full SaveSnapshot and RecoverFromSnapshot path of a single
//     node) and the node answers as the original did;
//   - a `resolute server` process killed (SIGKILL) while it snapshots, several times under load,
//     loses nothing it acknowledged, runs no journaled step again and keeps each object's state
//     consistent.
//
// The mechanism itself (snapshot files, compaction, replay after lost writes, an empty replica
// rebuilt from a streamed snapshot) is tested in runtime/raftlog.
package snapshot
