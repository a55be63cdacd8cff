package introspect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// toTimestampName is the function the CLI's and Restate's docs' to_timestamp(x) is rewritten to.
// DataFusion's to_timestamp takes a timestamp (returned as is), a number of seconds since the
// epoch or an RFC 3339 string; DuckDB's only a number: restate-server's docs query
// "to_timestamp(modified_at) <= now() - interval '1' hour" is a binder error there.
const toTimestampName = "resolute_to_timestamp"

// toTimestamp is DataFusion's to_timestamp as a DuckDB scalar function of one argument of any
// type (NULL in, NULL out).
type toTimestamp struct{}

func (toTimestamp) Config() duckdb.ScalarFuncConfig {
	anyType, err := duckdb.NewTypeInfo(duckdb.TYPE_ANY)
	if err != nil {
		panic(err) // a constant type: cannot fail
	}
	ts, err := duckdb.NewTypeInfo(duckdb.TYPE_TIMESTAMP)
	if err != nil {
		panic(err)
	}
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{anyType}, ResultTypeInfo: ts}
}

func (toTimestamp) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		return timestampOf(values[0])
	}}
}

// timestampOf converts one value as DataFusion's to_timestamp does.
func timestampOf(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return x, nil
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return time.Unix(toInt64(x), 0).UTC(), nil
	case float32:
		return secondsTime(float64(x)), nil
	case float64:
		return secondsTime(x), nil
	case duckdb.Decimal: // a literal such as 1767323045.25
		return secondsTime(x.Float64()), nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("to_timestamp: %q is not an RFC 3339 timestamp", x)
	}
	return nil, fmt.Errorf("to_timestamp: cannot convert a %T to a timestamp", v)
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

func secondsTime(s float64) time.Time {
	whole, frac := math.Modf(s)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}

// registerFunctions adds Resolute's functions to the database's catalog.
func registerFunctions(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, m := range psqlMacros {
		if _, err := conn.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	return duckdb.RegisterScalarUDF(conn, toTimestampName, toTimestamp{})
}
