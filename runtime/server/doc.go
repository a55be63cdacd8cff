// Package server assembles a Resolute node: the Raft host, the metadata shard (registry), the
// partitions and their actors, the invoker, and the ingress and admin HTTP servers. It owns their
// start order and their shutdown order; cmd/resolute and tests use it.
//
// Start order: Raft host → registry shard → partitions (actors first, then shards, then wait for
// leaders) → HTTP listeners. Close reverses it: listeners stop accepting, the invoker stops its
// attempts, the Raft host stops applying, then databases close. Everything acknowledged to a client
// is in the Raft log before the acknowledgement, so a crash at any point loses nothing.
package server
