package pgwire

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgType is how a DuckDB column travels on the wire: the Postgres type's OID and the value
// pgx's codecs encode for it (text or binary, as the client asks).
type pgType struct {
	oid  uint32
	conv func(v any) (any, error)
}

// scalar is a Postgres type a DuckDB scalar type maps to, with the OID of its array type.
type scalar struct {
	oid, arrayOID uint32
	conv          func(v any) (any, error)
}

var (
	sText        = scalar{pgtype.TextOID, pgtype.TextArrayOID, toText}
	sBool        = scalar{pgtype.BoolOID, pgtype.BoolArrayOID, toBool}
	sInt2        = scalar{pgtype.Int2OID, pgtype.Int2ArrayOID, toInt}
	sInt4        = scalar{pgtype.Int4OID, pgtype.Int4ArrayOID, toInt}
	sInt8        = scalar{pgtype.Int8OID, pgtype.Int8ArrayOID, toInt}
	sNumeric     = scalar{pgtype.NumericOID, pgtype.NumericArrayOID, toNumeric}
	sFloat4      = scalar{pgtype.Float4OID, pgtype.Float4ArrayOID, toFloat}
	sFloat8      = scalar{pgtype.Float8OID, pgtype.Float8ArrayOID, toFloat}
	sTimestamptz = scalar{pgtype.TimestamptzOID, pgtype.TimestamptzArrayOID, toTimestamptz}
	sTimestamp   = scalar{pgtype.TimestampOID, pgtype.TimestampArrayOID, toTimestamp}
	sDate        = scalar{pgtype.DateOID, pgtype.DateArrayOID, toDate}
	sTime        = scalar{pgtype.TimeOID, pgtype.TimeArrayOID, toTime}
	sInterval    = scalar{pgtype.IntervalOID, pgtype.IntervalArrayOID, toInterval}
	sBytea       = scalar{pgtype.ByteaOID, pgtype.ByteaArrayOID, toBytea}
	sUUID        = scalar{pgtype.UUIDOID, pgtype.UUIDArrayOID, toUUID}
	sJSON        = scalar{pgtype.JSONOID, pgtype.JSONArrayOID, toJSON}
)

// scalars maps DuckDB's type names (as database/sql reports them) to Postgres types. Unsigned
// types take the next wider signed type; UBIGINT and the 128-bit ones, whose values can exceed
// int8, are numeric.
var scalars = map[string]scalar{
	"VARCHAR":      sText,
	"BOOLEAN":      sBool,
	"TINYINT":      sInt2,
	"SMALLINT":     sInt2,
	"INTEGER":      sInt4,
	"BIGINT":       sInt8,
	"UTINYINT":     sInt2,
	"USMALLINT":    sInt4,
	"UINTEGER":     sInt8,
	"UBIGINT":      sNumeric,
	"HUGEINT":      sNumeric,
	"UHUGEINT":     sNumeric,
	"BIGNUM":       sNumeric,
	"VARINT":       sNumeric,
	"FLOAT":        sFloat4,
	"DOUBLE":       sFloat8,
	"TIMESTAMPTZ":  sTimestamptz,
	"TIMESTAMP":    sTimestamp,
	"TIMESTAMP_S":  sTimestamp,
	"TIMESTAMP_MS": sTimestamp,
	"TIMESTAMP_NS": sTimestamp,
	"DATE":         sDate,
	"TIME":         sTime,
	"INTERVAL":     sInterval,
	"BLOB":         sBytea,
	"UUID":         sUUID,
	"JSON":         sJSON,
}

// typeFor maps a DuckDB column type to its Postgres type. A list of a scalar type is that
// type's array; DECIMAL(p,s) is numeric; everything else (nested lists, structs, maps, enums,
// bit strings, unions) is text: lists in Postgres's array syntax, structs and maps as JSON.
func typeFor(duck string) pgType {
	if s, ok := scalarFor(duck); ok {
		return pgType{s.oid, s.conv}
	}
	if elem, ok := strings.CutSuffix(duck, "[]"); ok {
		if s, ok := scalarFor(elem); ok {
			return pgType{s.arrayOID, listOf(s.conv)}
		}
	}
	return pgType{pgtype.TextOID, toText}
}

func scalarFor(duck string) (scalar, bool) {
	if s, ok := scalars[duck]; ok {
		return s, true
	}
	if duck == "TIMETZ" { // pgx has no timetz codec: text, as PostgreSQL writes it
		return scalar{pgtype.TextOID, pgtype.TextArrayOID, toTimetzText}, true
	}
	if strings.HasPrefix(duck, "DECIMAL") {
		return sNumeric, true
	}
	return scalar{}, false
}

func listOf(conv func(any) (any, error)) func(any) (any, error) {
	return func(v any) (any, error) {
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("a %T is not a list", v)
		}
		out := make([]any, len(l))
		for i, e := range l {
			if e == nil {
				continue
			}
			c, err := conv(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
}

func toText(v any) (any, error) { return textOf(v), nil }

// textOf renders a value for a text column: strings as they are, lists in Postgres's array
// syntax, structs and maps as JSON, the rest as Go prints it.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case []any:
		var b strings.Builder
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if e == nil {
				b.WriteString("NULL")
				continue
			}
			s := textOf(e)
			if _, nested := e.([]any); nested {
				b.WriteString(s)
				continue
			}
			b.WriteString(arrayElement(s))
		}
		b.WriteByte('}')
		return b.String()
	case map[string]any, duckdb.OrderedMap, *duckdb.OrderedMap:
		if j, err := json.Marshal(x); err == nil {
			return string(j)
		}
	case time.Time:
		return formatTimestamptz(x)
	case duckdb.Interval:
		return formatInterval(x)
	case duckdb.Decimal:
		return decimalText(x)
	}
	return fmt.Sprint(v)
}

// arrayElement quotes an element of a text array as Postgres's array output does.
func arrayElement(s string) string {
	if s != "" && !strings.EqualFold(s, "NULL") && !strings.ContainsAny(s, "{},\"\\ \t\n\r") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func toBool(v any) (any, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return nil, fmt.Errorf("a %T is not a boolean", v)
}

// toInt takes any of DuckDB's integers as int64 (the codec checks the range of int2 and int4).
func toInt(v any) (any, error) {
	switch n := v.(type) {
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	}
	return nil, fmt.Errorf("a %T is not an integer of at most 64 bits", v)
}

func toNumeric(v any) (any, error) {
	switch n := v.(type) {
	case uint64:
		return pgtype.Numeric{Int: new(big.Int).SetUint64(n), Valid: true}, nil
	case *big.Int:
		return pgtype.Numeric{Int: new(big.Int).Set(n), Valid: true}, nil
	case duckdb.Decimal:
		return pgtype.Numeric{Int: new(big.Int).Set(n.Value), Exp: -int32(n.Scale), Valid: true}, nil
	}
	if i, err := toInt(v); err == nil {
		return pgtype.Numeric{Int: big.NewInt(i.(int64)), Valid: true}, nil
	}
	return nil, fmt.Errorf("a %T is not a number", v)
}

func decimalText(d duckdb.Decimal) string {
	s := d.Value.String()
	if d.Scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if pad := int(d.Scale) + 1 - len(s); pad > 0 {
		s = strings.Repeat("0", pad) + s
	}
	s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	if neg {
		s = "-" + s
	}
	return s
}

func toFloat(v any) (any, error) {
	switch f := v.(type) {
	case float32:
		return float64(f), nil
	case float64:
		return f, nil
	}
	return nil, fmt.Errorf("a %T is not a floating-point number", v)
}

func toTimestamptz(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return timestamptz(t), nil
	}
	return nil, fmt.Errorf("a %T is not a timestamp", v)
}

func toTimestamp(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return pgtype.Timestamp{Time: t.UTC(), Valid: true}, nil
	}
	return nil, fmt.Errorf("a %T is not a timestamp", v)
}

func toDate(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return pgtype.Date{Time: t.UTC(), Valid: true}, nil
	}
	return nil, fmt.Errorf("a %T is not a date", v)
}

func toTime(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		h, m, s := t.Clock()
		return timeOfDay((int64(h)*3600+int64(m)*60+int64(s))*1e6 + int64(t.Nanosecond()/1000)), nil
	}
	return nil, fmt.Errorf("a %T is not a time of day", v)
}

// toTimetzText writes a time with time zone (DuckDB hands it over in UTC) as PostgreSQL does.
func toTimetzText(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("15:04:05.999999") + "+00", nil
	}
	return nil, fmt.Errorf("a %T is not a time of day", v)
}

func toInterval(v any) (any, error) {
	if i, ok := v.(duckdb.Interval); ok {
		return interval(i), nil
	}
	return nil, fmt.Errorf("a %T is not an interval", v)
}

func toBytea(v any) (any, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case string:
		return []byte(b), nil
	}
	return nil, fmt.Errorf("a %T is not binary", v)
}

func toUUID(v any) (any, error) {
	switch u := v.(type) {
	case []byte:
		if len(u) == 16 {
			return pgtype.UUID{Bytes: [16]byte(u), Valid: true}, nil
		}
	case duckdb.UUID:
		return pgtype.UUID{Bytes: u, Valid: true}, nil
	case *duckdb.UUID:
		return pgtype.UUID{Bytes: *u, Valid: true}, nil
	}
	return nil, fmt.Errorf("a %T is not a UUID", v)
}

// toJSON passes JSON as its text (DuckDB hands it over decoded).
func toJSON(v any) (any, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("JSON value: %w", err)
	}
	return string(j), nil
}

// timestamptz is a timestamp with time zone as Postgres writes it in text (ISO DateStyle, the
// session in UTC: "2024-01-02 03:04:05.678+00"), and as pgx's codec writes it in binary.
type timestamptz time.Time

func (t timestamptz) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: time.Time(t), Valid: true}, nil
}

func (t timestamptz) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: formatTimestamptz(time.Time(t)), Valid: true}, nil
}

func formatTimestamptz(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
}

// timeOfDay is a time (microseconds since midnight) as PostgreSQL writes it in text
// ("03:04:05.5") and as pgx's codec writes it in binary.
type timeOfDay int64

func (t timeOfDay) TimeValue() (pgtype.Time, error) {
	return pgtype.Time{Microseconds: int64(t), Valid: true}, nil
}

func (t timeOfDay) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: clock(int64(t)), Valid: true}, nil
}

// clock writes us microseconds as hours:minutes:seconds with the fraction's digits needed.
func clock(us int64) string {
	s := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if frac := us % 1_000_000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
}

// interval is an interval as Postgres writes it in text (IntervalStyle postgres: "1 day
// 02:00:00", "3 mons", "00:00:01.5") and as pgx's codec writes it in binary.
type interval duckdb.Interval

func (i interval) IntervalValue() (pgtype.Interval, error) {
	return pgtype.Interval{Months: i.Months, Days: i.Days, Microseconds: i.Micros, Valid: true}, nil
}

func (i interval) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: formatInterval(duckdb.Interval(i)), Valid: true}, nil
}

// formatInterval is PostgreSQL's EncodeInterval for IntervalStyle postgres: years, months and
// days with their units (plural unless 1), then the time of day if it is not zero or nothing
// came before; a positive part after a negative one gets a +.
func formatInterval(i duckdb.Interval) string {
	var b strings.Builder
	zero, negBefore := true, false
	part := func(n int64, unit string) {
		if n == 0 {
			return
		}
		if !zero {
			b.WriteByte(' ')
		}
		if negBefore && n > 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatInt(n, 10) + " " + unit)
		if n != 1 {
			b.WriteByte('s')
		}
		negBefore, zero = n < 0, false
	}
	part(int64(i.Months/12), "year")
	part(int64(i.Months%12), "mon")
	part(int64(i.Days), "day")
	if zero || i.Micros != 0 {
		if !zero {
			b.WriteByte(' ')
		}
		us := i.Micros
		switch {
		case us < 0:
			b.WriteByte('-')
			us = -us
		case negBefore:
			b.WriteByte('+')
		}
		b.WriteString(clock(us))
	}
	return b.String()
}
