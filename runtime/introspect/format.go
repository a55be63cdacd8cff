package introspect

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
)

// WriteJSON writes res as restate-server's POST /query answers Accept: application/json:
// {"rows":[{column: value, …}, …]}, as Arrow's JSON writer writes record batches: NULLs left
// out, timestamps in RFC 3339 (with Z when they have a zone) with as many fraction digits as
// needed (0, 3, 6 or 9), binary as lowercase hex, durations in ISO 8601 ("PT86400S", "P0D").
func WriteJSON(w io.Writer, res *Result) error {
	if _, err := io.WriteString(w, `{"rows":[`); err != nil {
		return err
	}
	for i, vals := range res.Rows {
		var b strings.Builder
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		first := true
		for c, v := range vals {
			if v == nil {
				continue
			}
			enc, err := jsonValue(v, res.Columns[c].Type)
			if err != nil {
				return fmt.Errorf("introspect: column %s: %w", res.Columns[c].Name, err)
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			name, _ := json.Marshal(res.Columns[c].Name)
			b.Write(name)
			b.WriteByte(':')
			b.Write(enc)
		}
		b.WriteByte('}')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}")
	return err
}

// formatTimestamp writes t as arrow-rs does: RFC 3339, fraction digits in groups of three as
// needed, Z for a column with a zone.
func formatTimestamp(t time.Time, zoned bool) string {
	t = t.UTC()
	layout := "2006-01-02T15:04:05"
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		layout += ".000"
	case ns%1e3 == 0:
		layout += ".000000"
	default:
		layout += ".000000000"
	}
	if zoned {
		layout += "Z"
	}
	return t.Format(layout)
}

// formatDuration writes ms as arrow-rs writes a Duration: ISO 8601 seconds, "P0D" for zero.
func formatDuration(ms int64) string {
	if ms == 0 {
		return "P0D"
	}
	secs := strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
	return "PT" + secs + "S"
}

func jsonValue(v any, typ string) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		if typ == "DATE" {
			return json.Marshal(x.Format("2006-01-02"))
		}
		return json.Marshal(formatTimestamp(x, strings.Contains(typ, "TZ") || strings.Contains(typ, "TIME ZONE")))
	case []byte:
		return json.Marshal(hex.EncodeToString(x))
	case duckdb.Interval:
		return json.Marshal(formatDuration(intervalMillis(x)))
	case *big.Int:
		return []byte(x.String()), nil
	case duckdb.Decimal:
		f := x.Float64()
		return json.Marshal(f)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return []byte("null"), nil
		}
		return json.Marshal(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e == nil {
				parts[i] = "null"
				continue
			}
			enc, err := jsonValue(e, strings.TrimSuffix(typ, "[]"))
			if err != nil {
				return nil, err
			}
			parts[i] = string(enc)
		}
		return []byte("[" + strings.Join(parts, ",") + "]"), nil
	}
	return json.Marshal(v)
}

func intervalMillis(iv duckdb.Interval) int64 {
	return (int64(iv.Months)*30+int64(iv.Days))*86_400_000 + iv.Micros/1000
}

// WriteArrow writes res as an Arrow IPC stream (one record batch), as restate-server answers
// POST /query without Accept: application/json. DuckDB types map to restate-server's Arrow
// types: VARCHAR to LargeUtf8, TIMESTAMP to Timestamp(ms), BLOB to LargeBinary, INTERVAL to
// Duration(ms), HUGEINT to Int64, DECIMAL to Float64; types without a mapping are written as
// text.
func WriteArrow(w io.Writer, res *Result) error {
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, vals := range res.Rows {
		for c, v := range vals {
			if err := appendArrow(b.Field(c), v); err != nil {
				return fmt.Errorf("introspect: column %s: %w", res.Columns[c].Name, err)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	wr := ipc.NewWriter(w, ipc.WithSchema(schema))
	if err := wr.Write(rec); err != nil {
		return fmt.Errorf("introspect: write arrow: %w", err)
	}
	return wr.Close()
}

func arrowType(duck string) arrow.DataType {
	if elem, ok := strings.CutSuffix(duck, "[]"); ok {
		return arrow.ListOf(arrowType(elem))
	}
	switch {
	case duck == "VARCHAR":
		return arrow.BinaryTypes.LargeString
	case duck == "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case duck == "TINYINT":
		return arrow.PrimitiveTypes.Int8
	case duck == "SMALLINT":
		return arrow.PrimitiveTypes.Int16
	case duck == "INTEGER":
		return arrow.PrimitiveTypes.Int32
	case duck == "BIGINT", duck == "HUGEINT":
		return arrow.PrimitiveTypes.Int64
	case duck == "UTINYINT":
		return arrow.PrimitiveTypes.Uint8
	case duck == "USMALLINT":
		return arrow.PrimitiveTypes.Uint16
	case duck == "UINTEGER":
		return arrow.PrimitiveTypes.Uint32
	case duck == "UBIGINT", duck == "UHUGEINT":
		return arrow.PrimitiveTypes.Uint64
	case duck == "FLOAT":
		return arrow.PrimitiveTypes.Float32
	case duck == "DOUBLE", strings.HasPrefix(duck, "DECIMAL"):
		return arrow.PrimitiveTypes.Float64
	case duck == "TIMESTAMPTZ", duck == "TIMESTAMP WITH TIME ZONE":
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "+00:00"}
	case strings.HasPrefix(duck, "TIMESTAMP"):
		return &arrow.TimestampType{Unit: arrow.Millisecond}
	case duck == "DATE":
		return arrow.FixedWidthTypes.Date32
	case duck == "BLOB":
		return arrow.BinaryTypes.LargeBinary
	case duck == "INTERVAL":
		return &arrow.DurationType{Unit: arrow.Millisecond}
	}
	return arrow.BinaryTypes.LargeString
}

func appendArrow(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.LargeStringBuilder:
		switch x := v.(type) {
		case string:
			bb.Append(x)
		case time.Time:
			bb.Append(formatTimestamp(x, true))
		default:
			bb.Append(fmt.Sprint(v))
		}
		return nil
	case *array.BooleanBuilder:
		if x, ok := v.(bool); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int8Builder, *array.Int16Builder, *array.Int32Builder, *array.Int64Builder:
		n, ok := toInt(v)
		if big, isBig := v.(*big.Int); isBig {
			n, ok = big, true
		}
		if !ok || !n.IsInt64() {
			break
		}
		switch ib := b.(type) {
		case *array.Int8Builder:
			ib.Append(int8(n.Int64()))
		case *array.Int16Builder:
			ib.Append(int16(n.Int64()))
		case *array.Int32Builder:
			ib.Append(int32(n.Int64()))
		case *array.Int64Builder:
			ib.Append(n.Int64())
		}
		return nil
	case *array.Uint8Builder, *array.Uint16Builder, *array.Uint32Builder, *array.Uint64Builder:
		n, ok := toInt(v)
		if big, isBig := v.(*big.Int); isBig {
			n, ok = big, true
		}
		if !ok || n.Sign() < 0 || !n.IsUint64() {
			break
		}
		switch ub := b.(type) {
		case *array.Uint8Builder:
			ub.Append(uint8(n.Uint64()))
		case *array.Uint16Builder:
			ub.Append(uint16(n.Uint64()))
		case *array.Uint32Builder:
			ub.Append(uint32(n.Uint64()))
		case *array.Uint64Builder:
			ub.Append(n.Uint64())
		}
		return nil
	case *array.Float32Builder:
		if x, ok := v.(float32); ok {
			bb.Append(x)
			return nil
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			bb.Append(x)
			return nil
		case duckdb.Decimal:
			f := x.Float64()
			bb.Append(f)
			return nil
		}
	case *array.TimestampBuilder:
		if x, ok := v.(time.Time); ok {
			bb.Append(arrow.Timestamp(x.UnixMilli()))
			return nil
		}
	case *array.Date32Builder:
		if x, ok := v.(time.Time); ok {
			bb.Append(arrow.Date32FromTime(x))
			return nil
		}
	case *array.BinaryBuilder:
		if x, ok := v.([]byte); ok {
			bb.Append(x)
			return nil
		}
	case *array.DurationBuilder:
		if x, ok := v.(duckdb.Interval); ok {
			bb.Append(arrow.Duration(intervalMillis(x)))
			return nil
		}
	case *array.ListBuilder:
		if x, ok := v.([]any); ok {
			bb.Append(true)
			for _, e := range x {
				if err := appendArrow(bb.ValueBuilder(), e); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return fmt.Errorf("a %T does not fit %s", v, b.Type())
}
