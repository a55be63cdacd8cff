// Package introspect answers SQL over the runtime's tables, with restate-server's table and
// column names (sys_invocation, sys_journal, sys_journal_events, state, sys_inbox, sys_promise,
// sys_idempotency, sys_service, sys_deployment, sys_keyed_service_status), so that queries
// written for Restate and the official CLI run unchanged.
//
// The engine is DuckDB, embedded (github.com/duckdb/duckdb-go/v2): a real SQL engine whose
// Postgres-like dialect is close to the DataFusion dialect restate-server speaks, rather than
// a hand-written one. Each query runs on a connection of its own: the tables it names are
// created there as temporary tables and filled from the partitions (each partition's rows from
// one pebble snapshot, read where the partition is led: Source), the query runs, and the
// connection is closed. Snapshots are read beside the log's apply loop and never block it.
//
// Rows are produced by PartitionRows from a partition's storage and by RegistryRows from the
// registry; Result carries a query's answer, which WriteJSON and WriteArrow encode as
// restate-server's POST /query does.
package introspect
