// Package storage owns the on-disk layout of a partition: the tables the partition state machine
// keeps in pebble, their key encodings and their stored values (msgpack).
//
// Tables (first key byte):
//
//	status      invocation id                      → InvocationStatus
//	journal     invocation id, index (u32 BE)      → command.Entry
//	active      invocation id                      → nothing; present while an attempt should run
//	inbox       service, key, seq (u64 BE)         → invocation id (FIFO per key)
//	lock        service, key                       → invocation id holding the key
//	state       service, key, state key            → value
//	outbox      seq (u64 BE)                       → command.OutboxMessage
//	idempotency service, key, handler, idem. key   → invocation id
//	dedup       producer partition (u32 BE)        → last applied seq
//	timers      wake time (u64 BE ms), invocation id, completion id → nothing (completion id
//	            0: a scheduled invocation starts; 0xFFFFFFFF: an ended workflow is removed)
//	promise     workflow, key, promise name         → Promise (result or listeners)
//	events      invocation id, seq (u32 BE, from 1) → JournalEvent (kept while the journal is)
//	meta        name                               → counters and the applied Raft index
//
// Strings inside keys are length-prefixed, so prefixes of composite keys never collide. Functions
// take pebble.Reader / pebble.Writer, so the state machine writes into one indexed batch per Raft
// batch (reads see the batch's own writes) and readers use snapshots or the DB directly.
package storage
