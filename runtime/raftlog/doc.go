// Package raftlog owns the replicated logs: one dragonboat NodeHost per process and, on it, one
// Raft shard per partition plus one for cluster metadata. Each shard's state machine is an on-disk
// state machine over its own pebble (v2) database: applying a batch of log entries and recording
// the applied index is one atomic pebble batch.
//
// The deterministic logic lives behind the Applier interface (the partition state machine, the
// registry); this package only moves bytes between dragonboat and pebble. Writes are committed
// without fsync: dragonboat's log is already durable, it replays entries after the applied index
// found at Open, and it calls Sync (a pebble flush) before it records a snapshot and compacts the
// log, so compaction never drops an entry whose effect pebble could still lose.
//
// Snapshots: every Config.SnapshotEntries entries dragonboat takes a metadata-only snapshot and
// compacts the log, keeping Config.CompactionOverhead entries before it. A full snapshot (every
// key of the database, in order) is written only when streamed to a replica behind the
// compacted log, which replaces its whole database with it (RecoverFromSnapshot), writing the keys
// in bounded batches as they arrive: a snapshot never sits whole in memory. A marker key says a
// recovery is under way; the applied index is written only with the last batch, and Open empties
// a database that still holds the marker (a crash mid-recovery), so dragonboat recovers again.
//
// Nodes: without Config.Peers the host is a single node (replica id 1 on every shard, an
// in-process transport unless Config.RaftAddress is set). With Peers (node id → Raft address of
// every initial member, the same on every node) it is one node of a cluster over TCP: its replica
// id on every shard is its node id, and InitialReplicas places each shard on
// min(ReplicationFactor, n) initial members by a fixed rule (Config.EveryNodeShards on all).
// StartReplica starts this node's replica if it has one (a restart rejoins from its own log); a
// node replacing another is a new node id, added with AddReplica and started with JoinShard,
// which rebuilds it from a streamed snapshot and the log (Config.Join: every replica of a node
// added after the cluster formed starts so). LeaderID, RequestLeaderTransfer and Shards serve
// routing and a health view.
//
// Leader placement (placement.go): each shard's preferred leader is the first of its placement
// order (InitialReplicas, a member replacing a removed one in its place). A placement loop on
// every cluster node, started by NewHost and stopped by Close, asks for the leadership of each
// shard it is the preferred leader of once its replica is caught up (a ReadIndex through it
// completes), one shard per check, with a doubling backoff: leaders spread over the nodes and
// come back to a node that returns.
//
// Concurrency: dragonboat calls Update, Sync and the snapshot methods from its own goroutines, one
// at a time per shard. Propose may be called from any goroutine.
package raftlog
