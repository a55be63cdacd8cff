package pgwire_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/pgwire"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/tests/testenv"
)

// stateRows is a Source holding rows of the state table only: the engine is real (DuckDB), the
// partitions behind it are not needed to test the wire (runtime/server's TestPgWire runs a
// real server).
type stateRows [][]any

func (s stateRows) PartitionRows(_ context.Context, rd introspect.Read) ([]introspect.Rows, error) {
	var out []introspect.Rows
	if slices.Contains(rd.Tables, introspect.TableState) {
		out = append(out, introspect.Rows{Table: introspect.TableState, Values: s})
	}
	return out, nil
}
func (stateRows) Services() []registry.Service       { return nil }
func (stateRows) Deployments() []registry.Deployment { return nil }

// state: partition_key, scope, service_name, service_key, key, key_length, value_utf8, value,
// value_length.
var state = stateRows{
	{uint64(1), nil, "Counter", "a", "count", uint64(5), "5", []byte("5"), uint64(1)},
	{uint64(1), nil, "Counter", "a", "note", uint64(4), "it's", []byte("it's"), uint64(4)},
	{uint64(2), nil, "Counter", "b", "count", uint64(5), "7", []byte("7"), uint64(1)},
}

// start serves a real engine over the wire on a free port and returns a connection string.
func start(t *testing.T, cfg pgwire.Config) (*pgwire.Server, string) {
	t.Helper()
	e, err := introspect.Open(state, introspect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgwire.Listen("127.0.0.1:0", e, cfg)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		e.Close()
	})
	return s, "postgres://resolute@" + s.Addr().String() + "/resolute?sslmode=disable&connect_timeout=10"
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestTypes: each DuckDB type reaches pgx with its Postgres type: in text as PostgreSQL
// writes it (simple protocol), and decoded from binary to the value it holds (extended
// protocol, where pgx asks for binary).
func TestTypes(t *testing.T) {
	_, dsn := start(t, pgwire.Config{})
	c := connect(t, dsn)
	ctx := context.Background()
	// The parameters a PostgreSQL 15 server in UTC reports (pgx needs the first).
	for k, want := range map[string]string{"standard_conforming_strings": "on", "server_version": "15.0", "TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres"} {
		if got := c.PgConn().ParameterStatus(k); got != want {
			t.Errorf("parameter %s = %q, want %q", k, got, want)
		}
	}
	for _, tt := range []struct {
		expr string
		oid  uint32
		text string // "NULL" for a NULL
		want any    // as pgx decodes the binary value (times in UTC, numerics as text)
	}{
		{`'it''s'`, pgtype.TextOID, "it's", "it's"},
		{`true`, pgtype.BoolOID, "t", true},
		{`7::SMALLINT`, pgtype.Int2OID, "7", int16(7)},
		{`-7::INTEGER`, pgtype.Int4OID, "-7", int32(-7)},
		{`42::BIGINT`, pgtype.Int8OID, "42", int64(42)},
		{`4294967295::UINTEGER`, pgtype.Int8OID, "4294967295", int64(4294967295)},
		{`18446744073709551615::UBIGINT`, pgtype.NumericOID, "18446744073709551615", "18446744073709551615"},
		{`-3.05::DECIMAL(10,2)`, pgtype.NumericOID, "-3.05", "-3.05"},
		{`1.5::DOUBLE`, pgtype.Float8OID, "1.5", 1.5},
		{`TIMESTAMPTZ '2024-01-02 03:04:05.678+00'`, pgtype.TimestamptzOID, "2024-01-02 03:04:05.678+00", "2024-01-02T03:04:05.678Z"},
		{`TIMESTAMPTZ '2024-01-02 03:04:05+00'`, pgtype.TimestamptzOID, "2024-01-02 03:04:05+00", "2024-01-02T03:04:05Z"},
		{`DATE '2024-01-02'`, pgtype.DateOID, "2024-01-02", "2024-01-02T00:00:00Z"},
		{`TIME '03:04:05.5'`, pgtype.TimeOID, "03:04:05.5", pgtype.Time{Microseconds: (3*3600+4*60+5)*1e6 + 5e5, Valid: true}},
		{`TIMETZ '03:04:05+02'`, pgtype.TextOID, "01:04:05+00", "01:04:05+00"}, // DuckDB hands it over in UTC
		{`'\x01\xff'::BLOB`, pgtype.ByteaOID, `\x01ff`, []byte{1, 0xff}},
		{`INTERVAL '1 day 2 hours'`, pgtype.IntervalOID, "1 day 02:00:00", pgtype.Interval{Days: 1, Microseconds: 2 * 3600e6, Valid: true}},
		{`INTERVAL '86400 seconds'`, pgtype.IntervalOID, "24:00:00", pgtype.Interval{Microseconds: 86400e6, Valid: true}},
		{`['a', NULL, 'b c']`, pgtype.TextArrayOID, `{a,NULL,"b c"}`, []any{"a", nil, "b c"}},
		{`[1, 2]::UINTEGER[]`, pgtype.Int8ArrayOID, "{1,2}", []any{int64(1), int64(2)}},
		{`NULL::VARCHAR`, pgtype.TextOID, "NULL", nil},
		{`NULL::TIMESTAMPTZ`, pgtype.TimestamptzOID, "NULL", nil},
		{`{'a': 1}`, pgtype.TextOID, `{"a":1}`, `{"a":1}`},
		{`[[1, 2], [3]]`, pgtype.TextOID, "{{1,2},{3}}", "{{1,2},{3}}"},
	} {
		q := "SELECT " + tt.expr + " AS v"
		rs, err := c.PgConn().Exec(ctx, q).ReadAll()
		if err != nil {
			t.Errorf("%s (simple): %v", q, err)
			continue
		}
		if oid := rs[0].FieldDescriptions[0].DataTypeOID; oid != tt.oid {
			t.Errorf("%s: type %d, want %d", q, oid, tt.oid)
		}
		if got := text(rs[0].Rows[0][0]); got != tt.text {
			t.Errorf("%s: text %q, want %q", q, got, tt.text)
		}
		var got any
		if err := c.QueryRow(ctx, q).Scan(&got); err != nil {
			t.Errorf("%s (extended): %v", q, err)
			continue
		}
		if got = normalize(got); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: binary value %#v, want %#v", q, got, tt.want)
		}
	}
}

func text(raw []byte) string {
	if raw == nil {
		return "NULL"
	}
	return string(raw)
}

func normalize(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case pgtype.Numeric:
		j, _ := x.MarshalJSON()
		return string(j)
	}
	return v
}

// TestParams: Restate's introspection queries with parameters through the extended protocol
// (untyped parameters as pgx sends them, typed binary ones as pgconn can send them, pgx's
// client-side interpolation through the simple protocol), and several statements in one
// simple query.
func TestParams(t *testing.T) {
	_, dsn := start(t, pgwire.Config{})
	c := connect(t, dsn)
	ctx := context.Background()
	stateOf := `SELECT key, value_utf8 FROM state WHERE service_name = $1 AND service_key = $2 ORDER BY key`
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		rows, _ := c.Query(ctx, stateOf, mode, "Counter", "a")
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var k, v string
			err := r.Scan(&k, &v)
			return k + "=" + v, err
		})
		if want := []string{"count=5", "note=it's"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("%v: state of Counter/a %q (%v), want %q", mode, got, err, want)
		}
		// A quote in a parameter stays inside its literal; a number is compared as one.
		var key string
		if err := c.QueryRow(ctx, `SELECT key FROM state WHERE value_utf8 = $1`, mode, "it's").Scan(&key); err != nil || key != "note" {
			t.Errorf("%v: key of value it's: %q %v", mode, key, err)
		}
		var n int64
		if err := c.QueryRow(ctx, `SELECT count(*) FROM state WHERE partition_key = $1`, mode, 1).Scan(&n); err != nil || n != 2 {
			t.Errorf("%v: rows of partition 1: %d %v", mode, n, err)
		}
	}

	// A batch: statements pipelined before one Sync.
	b := &pgx.Batch{}
	var countA, countB string
	b.Queue(`SELECT value_utf8 FROM state WHERE service_key = $1 AND key = 'count'`, "a").QueryRow(func(r pgx.Row) error { return r.Scan(&countA) })
	b.Queue(`SELECT value_utf8 FROM state WHERE service_key = $1 AND key = 'count'`, "b").QueryRow(func(r pgx.Row) error { return r.Scan(&countB) })
	if err := c.SendBatch(ctx, b).Close(); err != nil || countA != "5" || countB != "7" {
		t.Errorf("batch: counts %q %q (%v), want 5 and 7", countA, countB, err)
	}

	// Types named at Parse: binary parameters.
	sd, err := c.PgConn().Prepare(ctx, "typed", `SELECT key FROM state WHERE partition_key = $1 AND value = $2`, []uint32{pgtype.Int8OID, pgtype.ByteaOID})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sd.ParamOIDs, []uint32{pgtype.Int8OID, pgtype.ByteaOID}) || len(sd.Fields) != 1 || sd.Fields[0].Name != "key" {
		t.Fatalf("described: params %v, fields %v", sd.ParamOIDs, sd.Fields)
	}
	part := binary.BigEndian.AppendUint64(nil, 2)
	res := c.PgConn().ExecPrepared(ctx, "typed", [][]byte{part, []byte("7")}, []int16{1, 1}, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 || string(res.Rows[0][0]) != "count" {
		t.Errorf("typed binary parameters: %q %v", res.Rows, res.Err)
	}
	// Too few parameters: refused, and the connection goes on.
	res = c.PgConn().ExecPrepared(ctx, "typed", [][]byte{part}, []int16{1}, nil).Read()
	if code := pgCode(res.Err); code != "08P01" {
		t.Errorf("one parameter of two: %v, want 08P01", res.Err)
	}

	// Simple protocol: each statement's result in order; a failing one ends the query.
	rs, err := c.PgConn().Exec(ctx, `SELECT 1 AS a; SET x = 1; SELECT 'b;' AS b -- ;
	;`).ReadAll()
	if err != nil || len(rs) != 3 || string(rs[0].Rows[0][0]) != "1" || rs[1].CommandTag.String() != "SET" || string(rs[2].Rows[0][0]) != "b;" {
		t.Errorf("three statements: %v %v", rs, err)
	}
	rs, err = c.PgConn().Exec(ctx, `SELECT 1 AS a; SELEC 2; SELECT 3`).ReadAll()
	if pgCode(err) != "42601" || len(rs) != 1 || string(rs[0].Rows[0][0]) != "1" {
		t.Errorf("second of three fails: %d results %v, want the first's rows only and a syntax error", len(rs), err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("after the failed query: %v", err)
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return fmt.Sprintf("not a PgError: %v", err)
}

// TestErrors: refused queries are ErrorResponses with a SQLSTATE and the engine's message,
// through both protocols, and the connection answers the next query.
func TestErrors(t *testing.T) {
	_, dsn := start(t, pgwire.Config{})
	c := connect(t, dsn)
	ctx := context.Background()
	for _, tt := range []struct{ q, code, msg string }{
		{`SELEC 1`, "42601", `syntax error at or near "SELEC"`},
		{`SELECT * FROM sys_nope`, "42P01", "Table with name sys_nope does not exist"},
		{`SELECT nope FROM state`, "42703", `Referenced column "nope" not found`},
		{`SELECT 'a'::INTEGER`, "22P02", "Could not convert string 'a'"},
		{`SELECT 1; SELECT 2`, "42601", "multiple commands"},
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			if tt.msg == "multiple commands" && mode == pgx.QueryExecModeSimpleProtocol {
				continue // two statements are fine in a simple query
			}
			var n int
			err := c.QueryRow(ctx, tt.q, mode).Scan(&n)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != tt.code || !strings.Contains(pe.Message, tt.msg) || pe.Severity != "ERROR" {
				t.Errorf("%v %s: %v, want %s %q", mode, tt.q, err, tt.code, tt.msg)
			}
			if err := c.QueryRow(ctx, "SELECT 2", mode).Scan(&n); err != nil || n != 2 {
				t.Errorf("%v after %s: %d %v", mode, tt.q, n, err)
			}
		}
	}
}

// TestConnLimit: one connection above MaxConns is refused with 53300, as PostgreSQL refuses
// one above max_connections; a closed one makes room.
func TestConnLimit(t *testing.T) {
	_, dsn := start(t, pgwire.Config{MaxConns: 2})
	ctx := context.Background()
	a := connect(t, dsn)
	connect(t, dsn)
	if _, err := pgx.Connect(ctx, dsn); pgCode(err) != "53300" {
		t.Fatalf("third connection: %v, want 53300", err)
	}
	a.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Close(ctx)
			break
		}
		if pgCode(err) != "53300" || time.Now().After(deadline) {
			t.Fatalf("after closing one: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClose: Close ends idle connections (psql-wire alone leaves them open).
func TestClose(t *testing.T) {
	s, dsn := start(t, pgwire.Config{})
	c := connect(t, dsn)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing target
		t.Fatal("Close did not return with a connection open")
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("a connection still answers after Close")
	}
}

// psqlPath finds psql: in PATH, else the newest /usr/lib/postgresql/*/bin (Debian's packages).
// Without it the test skips, or fails when CI=true.
func psqlPath(t *testing.T) string {
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	paths, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	slices.Sort(paths)
	testenv.RequirePrereq(t, len(paths) > 0, "psql (apt-get install postgresql-client)")
	return paths[len(paths)-1]
}

// psql runs psql with unaligned output, | between fields and NULL for NULLs.
func psql(t *testing.T, addr string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(psqlPath(t), append([]string{"-X", "-A", "-F", "|", "-P", "null=NULL", "-h", host, "-p", port, "-U", "resolute", "-d", "resolute"}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PGSSLMODE=prefer")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestPsql: psql prints timestamps, bytea, intervals, arrays and NULLs as against PostgreSQL;
// an error is printed with its SQLSTATE's message and the next command runs.
func TestPsql(t *testing.T) {
	s, _ := start(t, pgwire.Config{})
	out, errOut, err := psql(t, s.Addr().String(),
		"-c", `SELECT TIMESTAMPTZ '2024-01-02 03:04:05.678+00' AS ts, '\x01\xff'::BLOB AS b, INTERVAL '1 day 2 hours' AS i, ['a', 'b c'] AS l, NULL AS n, 3::UBIGINT AS u`,
		"-c", `SELEC 1`,
		"-c", `SELECT key, value_utf8 FROM state WHERE service_key = 'a' ORDER BY key`)
	want := "ts|b|i|l|n|u\n2024-01-02 03:04:05.678+00|\\x01ff|1 day 02:00:00|{a,\"b c\"}|NULL|3\n(1 row)\n" +
		"key|value_utf8\ncount|5\nnote|it's\n(2 rows)\n"
	if out != want {
		t.Errorf("psql printed\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(errOut, `ERROR:  Parser Error: syntax error at or near "SELEC"`) {
		t.Errorf("psql's error output: %s (%v)", errOut, err)
	}
}

// TestPsqlMetaCommands: psql's catalog commands list the introspection tables (\dt, with a
// pattern too), the schema and the database, as PostgreSQL's (psql prints their NULLs empty); its
// regular-expression operators match anywhere in the string, as PostgreSQL's ~ does.
func TestPsqlMetaCommands(t *testing.T) {
	s, _ := start(t, pgwire.Config{})
	out, errOut, err := psql(t, s.Addr().String(), "-c", `\dt`, "-c", `\dt sys_in*`, "-c", `\dn`, "-c", `\l`,
		"-c", `SELECT 'pg_catalog' ~ 'catalog' AS a, 'pg_catalog' !~ '^pg_' AS b, 'abc' ~ '^b' AS c, 'x' ~~ 'x' AS d, '~ ''q''' AS e`)
	if err != nil || errOut != "" {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	var names, tables []string
	for _, tb := range introspect.Tables {
		names = append(names, tb.Name)
	}
	slices.Sort(names)
	for _, n := range names {
		tables = append(tables, "main|"+n+"|table|resolute")
	}
	want := "List of relations\nSchema|Name|Type|Owner\n" + strings.Join(tables, "\n") + fmt.Sprintf("\n(%d rows)\n", len(tables)) +
		"List of relations\nSchema|Name|Type|Owner\nmain|sys_inbox|table|resolute\nmain|sys_invocation|table|resolute\nmain|sys_invocation_status|table|resolute\n(3 rows)\n" +
		"List of schemas\nName|Owner\nmain|resolute\n(1 row)\n" +
		"List of databases\nName|Owner|Encoding|Collate|Ctype|ICU Locale|Locale Provider|Access privileges\nmemory|resolute|UTF8|C|C||libc|\n(1 row)\n" +
		"a|b|c|d|e\nt|f|f|t|~ 'q'\n(1 row)\n"
	if out != want {
		t.Errorf("psql printed\n%s\nwant\n%s", out, want)
	}
}

// TestPassword: with Passwords, a client gives one of them (any user name) or is refused with
// 28P01.
func TestPassword(t *testing.T) {
	_, dsn := start(t, pgwire.Config{Passwords: []string{"old-token", "new-token"}})
	ctx := context.Background()
	with := func(pw string) string { return strings.Replace(dsn, "resolute@", "anyone:"+pw+"@", 1) }
	for _, pw := range []string{"", "new-tokenx", "new-toke"} {
		if _, err := pgx.Connect(ctx, with(pw)); pgCode(err) != "28P01" {
			t.Errorf("password %q: %v, want 28P01", pw, err)
		}
	}
	for _, pw := range []string{"old-token", "new-token"} {
		c, err := pgx.Connect(ctx, with(pw))
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if err := c.Ping(ctx); err != nil {
			t.Errorf("password %q: %v", pw, err)
		}
		c.Close(ctx)
	}
}

// TestCancel: a cancel request (what psql sends on Ctrl-C, pgx when a query's context ends)
// stops the connection's running query with 57014, and the connection goes on; also when the
// server is full (the request comes on a connection of its own).
func TestCancel(t *testing.T) {
	for _, tt := range []struct {
		name     string
		maxConns int
	}{{"room", 0}, {"full", 1}} {
		t.Run(tt.name, func(t *testing.T) { testCancel(t, tt.maxConns) })
	}
}

func testCancel(t *testing.T, maxConns int) {
	_, dsn := start(t, pgwire.Config{MaxConns: maxConns})
	c := connect(t, dsn)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		// Hours of work for DuckDB; through the simple protocol it runs once, at once.
		_, err := c.Exec(ctx, `SELECT sum(i * 2) FROM range(1000000000000) t(i)`, pgx.QueryExecModeSimpleProtocol)
		done <- err
	}()
	// The request may come before the query runs (then it does nothing, as in PostgreSQL):
	// send one until the query ends.
	guard := time.After(60 * time.Second) // a hang guard, not a timing target
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-guard:
			t.Fatal("the query still runs after a minute of cancel requests")
		case <-time.After(20 * time.Millisecond):
			if err := c.PgConn().CancelRequest(ctx); err != nil {
				t.Fatalf("cancel request: %v", err)
			}
		}
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || pe.Message != "canceling statement due to user request" {
		t.Fatalf("cancelled query: %v, want PostgreSQL's 57014", err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after the cancelled query: %d %v", n, err)
	}
}

// counting is an engine that counts its queries; describing adds a Describer that answers
// without a query.
type counting struct {
	*introspect.Engine
	queries atomic.Int64
}

func (c *counting) Query(ctx context.Context, q string) (*introspect.Result, error) {
	c.queries.Add(1)
	return c.Engine.Query(ctx, q)
}

// queryOnly hides the engine's Describe: a Querier that is not a Describer.
type queryOnly struct{ c *counting }

func (q queryOnly) Query(ctx context.Context, sql string) (*introspect.Result, error) {
	return q.c.Query(ctx, sql)
}

// TestDescribe: an extended-protocol statement is described by running it once more, unless
// the engine is a Describer; executing it again runs it once.
func TestDescribe(t *testing.T) {
	for _, tt := range []struct {
		name            string
		describer       bool
		first, repeated int64
	}{{"by running", false, 2, 1}, {"by Describer", true, 1, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := introspect.Open(state, introspect.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			cq := &counting{Engine: e} // a Describer: the engine's Describe reads no partition
			var q pgwire.Querier = cq
			if !tt.describer {
				q = queryOnly{cq}
			}
			s, err := pgwire.Listen("127.0.0.1:0", q, pgwire.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := connect(t, "postgres://resolute@"+s.Addr().String()+"/resolute?sslmode=disable")
			ctx := context.Background()
			var v string
			for i, want := range []int64{tt.first, tt.first + tt.repeated} {
				if err := c.QueryRow(ctx, `SELECT value_utf8 FROM state WHERE service_key = $1 AND key = 'count'`, "b").Scan(&v); err != nil || v != "7" {
					t.Fatalf("execution %d: %q %v", i+1, v, err)
				}
				if n := cq.queries.Load(); n != want {
					t.Errorf("after execution %d: %d queries, want %d", i+1, n, want)
				}
			}
		})
	}
}
