// Package pgwire serves the introspection SQL (runtime/introspect) over the PostgreSQL wire
// protocol, as earlier restate-server releases did on port 9071, so that psql and any
// Postgres driver connect: `psql -h 127.0.0.1 -p 9071 -c "SELECT id, status FROM sys_invocation"`.
// The protocol is github.com/jeroenrinzema/psql-wire's.
//
// Both query protocols are answered. A simple query may hold several statements, run in order
// up to the first that fails. An extended-protocol statement is described when it is parsed
// (its result columns and, by their highest $n, its parameters, of unspecified type), and runs
// at each Execute with its parameters written into its text as literals: the engine takes SQL
// text only. Values travel in text or binary as the client asks, DuckDB's types mapped to
// Postgres's (typeFor): VARCHAR to text, integers to int2/int4/int8 (unsigned ones to the
// next wider type, UBIGINT and 128-bit ones to numeric), DECIMAL to numeric, TIMESTAMPTZ to
// timestamptz, INTERVAL to interval, BLOB to bytea, lists of those to arrays, the rest to
// text. Text is written as PostgreSQL writes it (DateStyle ISO, TimeZone UTC, IntervalStyle
// postgres, bytea as \x hex).
//
// Engine errors become ErrorResponses with a SQLSTATE (42601 for syntax errors, 42P01 for an
// unknown table, 42703 for an unknown column, XX000 for the engine's own failures) and the
// connection goes on. Session settings and transaction control (SET, BEGIN, COMMIT, …) are
// accepted and do nothing: every query reads its own snapshot and nothing is written.
//
// Concurrency: psql-wire runs a goroutine per connection; connections are bounded
// (Config.MaxConns, one more is refused with 53300) and queries by the engine's own bound on
// queries running at once. A cancel request (BackendKeyData's process id and secret) stops
// its connection's running query with 57014. Close ends running queries and every
// connection, and waits for their goroutines.
package pgwire
