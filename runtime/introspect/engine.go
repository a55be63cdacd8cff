package introspect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
)

// Source gives the engine its rows.
type Source interface {
	// PartitionRows reads rd's partition tables from every partition rd needs
	// (Read.Partitions), each partition's tables from one snapshot.
	PartitionRows(ctx context.Context, rd Read) ([]Rows, error)
	// Services and Deployments are the registry's view.
	Services() []registry.Service
	Deployments() []registry.Deployment
}

// Config tunes the engine.
type Config struct {
	// MaxConcurrent bounds the queries running at once (DefaultMaxConcurrent if 0); a query
	// waits for its turn until its context ends.
	MaxConcurrent int
	// MemoryLimit is DuckDB's memory_limit ("1GB" if empty).
	MemoryLimit string
	// Threads is DuckDB's thread count (2 if 0).
	Threads int
}

// DefaultMaxConcurrent is the default bound on queries running at once.
const DefaultMaxConcurrent = 4

// Engine runs SQL over the runtime's tables.
type Engine struct {
	db    *sql.DB
	src   Source
	turns chan struct{}
}

// Open starts an in-memory DuckDB that cannot read or write files, load extensions or change
// its configuration.
func Open(src Source, cfg Config) (*Engine, error) {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MemoryLimit == "" {
		cfg.MemoryLimit = "1GB"
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 2
	}
	dsn := fmt.Sprintf("?threads=%d&memory_limit=%s&enable_external_access=false&autoinstall_known_extensions=false&autoload_known_extensions=false&lock_configuration=true",
		cfg.Threads, cfg.MemoryLimit)
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("introspect: open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	// Every query's temporary tables live on its connection; closing it (no idle connections
	// are kept) drops them.
	db.SetMaxIdleConns(0)
	if err := registerFunctions(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("introspect: register functions: %w", err)
	}
	return &Engine{db: db, src: src, turns: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// Close closes the database.
func (e *Engine) Close() error { return e.db.Close() }

// ResultColumn is a column of a query's answer: its name and DuckDB type.
type ResultColumn struct {
	Name string
	Type string
}

// Result is a query's answer. Values are as database/sql scans them from DuckDB: nil, string,
// bool, int8…int64, uint8…uint64, float32/64, *big.Int (HUGEINT), time.Time, []byte,
// duckdb.Interval, duckdb.Decimal, []any (lists), map[string]any (structs).
type Result struct {
	Columns []ResultColumn
	Rows    [][]any
}

// QueryError is a query the engine refused: it does not parse, names what does not exist, or
// mistypes something. Other errors are the engine's or the partitions'.
type QueryError struct{ Err error }

func (e *QueryError) Error() string { return e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// Query runs q over a fresh view of the tables it names.
func (e *Engine) Query(ctx context.Context, q string) (*Result, error) {
	return e.run(ctx, q, true)
}

// Describe tells q's columns without reading any partition: q runs over empty tables (a
// PostgreSQL client describes a prepared statement before it executes it).
func (e *Engine) Describe(ctx context.Context, q string) ([]ResultColumn, error) {
	res, err := e.run(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return res.Columns, nil
}

// run runs q over tables filled (or, without fill, left empty).
func (e *Engine) run(ctx context.Context, q string, fill bool) (*Result, error) {
	select {
	case e.turns <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("introspect: waiting for a turn: %w", ctx.Err())
	}
	defer func() { <-e.turns }()

	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("introspect: connect: %w", err)
	}
	defer conn.Close()
	named := referencedTables(q)
	if !fill {
		named = nil
	}
	if err := e.load(ctx, conn, named, neededColumns(q), pushDown(q, named)); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, rewrite(q))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("introspect: column types: %w", err)
	}
	res := &Result{Columns: make([]ResultColumn, len(types))}
	for i, t := range types {
		res.Columns[i] = ResultColumn{Name: t.Name(), Type: t.DatabaseTypeName()}
	}
	for rows.Next() {
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("introspect: read a row: %w", err)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// classify wraps DuckDB's errors about the query itself in QueryError.
func classify(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeParser, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog,
			duckdb.ErrorTypeConversion, duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidInput,
			duckdb.ErrorTypeOutOfRange, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeNotImplemented,
			duckdb.ErrorTypePermission, duckdb.ErrorTypeDivideByZero, duckdb.ErrorTypeInvalidType:
			return &QueryError{Err: err}
		}
	}
	return fmt.Errorf("introspect: query: %w", err)
}

var wordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// referencedTables names the schema's tables that q mentions (as words, in any case). A table
// named only inside a string literal is loaded too: harmless.
func referencedTables(q string) map[string]bool {
	out := map[string]bool{}
	for _, w := range wordRE.FindAllString(q, -1) {
		if t, ok := tableByName(strings.ToLower(w)); ok {
			out[t.Name] = true
		}
	}
	return out
}

var (
	starRE      = regexp.MustCompile(`\*`)
	countStarRE = regexp.MustCompile(`\(\s*\*\s*\)`)
	schemaRE    = regexp.MustCompile(`(?i)\b(information_schema|columns|describe|show|summarize|pragma|duckdb_columns|duckdb_tables)\b`)
)

// neededColumns names the columns q can read: nil (all of them) when it selects * (other than
// COUNT(*)) or looks at the schema, else the words it contains. A column q does not name cannot
// be read by it, so it is left out of the temporary table: appending a column costs per value,
// a NULL included, and sys_invocation has 50.
func neededColumns(q string) map[string]bool {
	masked := maskLiterals(q)
	if starRE.MatchString(countStarRE.ReplaceAllString(masked, "(1)")) || schemaRE.MatchString(q) {
		return nil
	}
	words := map[string]bool{}
	for _, w := range wordRE.FindAllString(q, -1) {
		words[strings.ToLower(w)] = true
	}
	return words
}

// load creates every table of the schema as a temporary table of conn (so that
// information_schema lists them all) and fills the ones named. With columns set, a table has
// only the columns in it (at least one).
// only restricts tables to invocations (pushDown).
func (e *Engine) load(ctx context.Context, conn *sql.Conn, named map[string]bool, columns map[string]bool, only map[string][]ids.InvocationID) error {
	var parts []string
	for _, t := range Tables {
		if t.Partitioned && named[t.Name] {
			parts = append(parts, t.Name)
		}
	}
	var partRows []Rows
	if len(parts) > 0 {
		var err error
		if partRows, err = e.src.PartitionRows(ctx, Read{Tables: parts, Only: only, Columns: columns}); err != nil {
			return fmt.Errorf("introspect: read partitions: %w", err)
		}
	}
	for _, t := range Tables {
		var defs []string
		keep := keptColumns(t, columns)
		for _, i := range keep {
			defs = append(defs, quoteIdent(t.Columns[i].Name)+" "+t.Columns[i].Type)
		}
		if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE "+t.Name+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return fmt.Errorf("introspect: create %s: %w", t.Name, err)
		}
		if !named[t.Name] {
			continue
		}
		var sources []Rows
		if t.Partitioned {
			for _, r := range partRows {
				if r.Table == t.Name {
					sources = append(sources, r)
				}
			}
		} else {
			r, err := RegistryRows(t.Name, e.src.Services(), e.src.Deployments())
			if err != nil {
				return err
			}
			sources = append(sources, r)
		}
		if err := appendRows(conn, t, keep, sources); err != nil {
			return err
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// appendRows fills table t of conn, which has the columns keep of t, through DuckDB's appender.
func appendRows(conn *sql.Conn, t Table, keep []int, sources []Rows) error {
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", t.Name)
		if err != nil {
			return fmt.Errorf("introspect: append to %s: %w", t.Name, err)
		}
		args := make([]driver.Value, len(keep))
		for _, src := range sources {
			// Where each kept column is in the source's rows: all of t's columns, or the
			// source's Columns.
			at := keep
			if src.Columns != nil {
				pos := make(map[string]int, len(src.Columns))
				for j, c := range src.Columns {
					pos[c] = j
				}
				at = make([]int, len(keep))
				for j, i := range keep {
					p, ok := pos[t.Columns[i].Name]
					if !ok {
						a.Close()
						return fmt.Errorf("introspect: rows of %s without column %s", t.Name, t.Columns[i].Name)
					}
					at[j] = p
				}
			}
			width := len(t.Columns)
			if src.Columns != nil {
				width = len(src.Columns)
			}
			for _, vals := range src.Values {
				if len(vals) != width {
					a.Close()
					return fmt.Errorf("introspect: a row of %s has %d values, want %d", t.Name, len(vals), width)
				}
				for j, i := range keep {
					if args[j], err = convert(vals[at[j]], t.Columns[i].Type); err != nil {
						a.Close()
						return fmt.Errorf("introspect: %s.%s: %w", t.Name, t.Columns[i].Name, err)
					}
				}
				if err := a.AppendRow(args...); err != nil {
					a.Close()
					return fmt.Errorf("introspect: append to %s: %w", t.Name, err)
				}
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("introspect: append to %s: %w", t.Name, err)
		}
		return nil
	})
}

// convert turns a row value (possibly widened or narrowed by msgpack) into what the appender
// takes for a column of type typ.
func convert(v any, typ string) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	// The types rows are built with (decoding on another node may widen or narrow them).
	switch x := v.(type) {
	case string:
		if typ == tString {
			return x, nil
		}
	case uint64:
		if typ == tU64 {
			return x, nil
		}
	case uint32:
		if typ == tU32 {
			return x, nil
		}
	case int64:
		if typ == tTimestamp {
			return time.UnixMilli(x).UTC(), nil
		}
	}
	switch typ {
	case tString:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case tBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case tBlob:
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			return []byte(b), nil
		}
	case tU64:
		if n, ok := toInt(v); ok && n.Sign() >= 0 && n.IsUint64() {
			return n.Uint64(), nil
		}
	case tU32:
		if n, ok := toInt(v); ok && n.Sign() >= 0 && n.IsUint64() && n.Uint64() <= 1<<32-1 {
			return uint32(n.Uint64()), nil
		}
	case tTimestamp:
		if n, ok := toInt(v); ok && n.IsInt64() {
			return time.UnixMilli(n.Int64()).UTC(), nil
		}
	case tDuration:
		if n, ok := toInt(v); ok && n.IsInt64() {
			ms := n.Int64()
			return duckdb.Interval{Days: int32(ms / 86_400_000), Micros: (ms % 86_400_000) * 1000}, nil
		}
	case tU32List, tStrList:
		return convertList(v, typ)
	}
	return nil, fmt.Errorf("a %T does not fit %s", v, typ)
}

func convertList(v any, typ string) (driver.Value, error) {
	var items []any
	switch l := v.(type) {
	case []uint32:
		for _, x := range l {
			items = append(items, x)
		}
	case []string:
		for _, x := range l {
			items = append(items, x)
		}
	case []any:
		items = l
	default:
		return nil, fmt.Errorf("a %T does not fit %s", v, typ)
	}
	elem := strings.TrimSuffix(typ, "[]")
	out := make([]any, len(items))
	for i, x := range items {
		c, err := convert(x, elem)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func toInt(v any) (*big.Int, bool) {
	switch n := v.(type) {
	case int:
		return big.NewInt(int64(n)), true
	case int8:
		return big.NewInt(int64(n)), true
	case int16:
		return big.NewInt(int64(n)), true
	case int32:
		return big.NewInt(int64(n)), true
	case int64:
		return big.NewInt(n), true
	case uint:
		return new(big.Int).SetUint64(uint64(n)), true
	case uint8:
		return new(big.Int).SetUint64(uint64(n)), true
	case uint16:
		return new(big.Int).SetUint64(uint64(n)), true
	case uint32:
		return new(big.Int).SetUint64(uint64(n)), true
	case uint64:
		return new(big.Int).SetUint64(n), true
	}
	return nil, false
}
