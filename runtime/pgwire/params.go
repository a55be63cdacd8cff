package pgwire

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	wire "github.com/jeroenrinzema/psql-wire"
)

// The engine takes SQL text only, so a bound parameter becomes a literal in the statement's
// text, written from what the client sent: a string literal for a parameter of unspecified type
// (DuckDB casts a string literal to the type it is compared with, as Postgres types an untyped
// parameter from its use), a literal cast to the type the client named otherwise.

// duckTypes are the DuckDB types of the Postgres types a client may name for a parameter.
var duckTypes = map[uint32]string{
	pgtype.BoolOID:        "BOOLEAN",
	pgtype.Int2OID:        "SMALLINT",
	pgtype.Int4OID:        "INTEGER",
	pgtype.Int8OID:        "BIGINT",
	pgtype.Float4OID:      "FLOAT",
	pgtype.Float8OID:      "DOUBLE",
	pgtype.NumericOID:     "DECIMAL(38,10)",
	pgtype.TextOID:        "VARCHAR",
	pgtype.VarcharOID:     "VARCHAR",
	pgtype.BPCharOID:      "VARCHAR",
	pgtype.NameOID:        "VARCHAR",
	pgtype.ByteaOID:       "BLOB",
	pgtype.TimestamptzOID: "TIMESTAMPTZ",
	pgtype.TimestampOID:   "TIMESTAMP",
	pgtype.DateOID:        "DATE",
	pgtype.TimeOID:        "TIME",
	pgtype.IntervalOID:    "INTERVAL",
	pgtype.UUIDOID:        "UUID",
	pgtype.JSONOID:        "JSON",
	pgtype.JSONBOID:       "JSON",
}

// literals renders the bound parameters of a statement whose parameter types are oids (0: not
// specified) as SQL literals.
func literals(params []wire.Parameter, oids []uint32, want int) ([]string, error) {
	if len(params) != want {
		return nil, protocolError(fmt.Errorf("bind message supplies %d parameters, but prepared statement requires %d", len(params), want))
	}
	out := make([]string, len(params))
	for i, p := range params {
		var oid uint32
		if i < len(oids) {
			oid = oids[i]
		}
		lit, err := literal(p, oid)
		if err != nil {
			return nil, protocolError(fmt.Errorf("parameter $%d: %w", i+1, err))
		}
		out[i] = lit
	}
	return out, nil
}

func literal(p wire.Parameter, oid uint32) (string, error) {
	if p.Value() == nil {
		return "NULL", nil
	}
	if p.Format() == wire.TextFormat {
		return textLiteral(string(p.Value()), oid)
	}
	if oid == 0 {
		return "", errors.New("a binary parameter needs its type named in Parse")
	}
	v, err := p.Scan(oid)
	if err != nil {
		return "", fmt.Errorf("decode binary value of type %d: %w", oid, err)
	}
	return valueLiteral(v, oid)
}

// textLiteral is a parameter sent as text: a string literal, cast to the type the client named.
func textLiteral(s string, oid uint32) (string, error) {
	if oid == pgtype.ByteaOID {
		b, err := decodeBytea(s)
		if err != nil {
			return "", err
		}
		return blobLiteral(b), nil
	}
	if typ, ok := duckTypes[oid]; ok && typ != "VARCHAR" {
		return "CAST(" + quote(s) + " AS " + typ + ")", nil
	}
	return quote(s), nil
}

// decodeBytea reads bytea's text form: \x and hex digits, or the old escape format.
func decodeBytea(s string) ([]byte, error) {
	if h, ok := strings.CutPrefix(s, `\x`); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("bytea: %w", err)
		}
		return b, nil
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s):
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return nil, fmt.Errorf("bytea: bad escape %q", s[i:i+4])
			}
			out = append(out, byte(n))
			i += 3
		default:
			return nil, fmt.Errorf("bytea: bad escape at the end of %q", s)
		}
	}
	return out, nil
}

// valueLiteral is a decoded binary parameter as a literal of the type named.
func valueLiteral(v any, oid uint32) (string, error) {
	typ := duckTypes[oid]
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case bool:
		return strings.ToUpper(strconv.FormatBool(x)), nil
	case int16, int32, int64:
		return fmt.Sprintf("CAST(%d AS %s)", x, typ), nil
	case float32:
		return floatLiteral(float64(x), typ), nil
	case float64:
		return floatLiteral(x, typ), nil
	case string:
		return textLiteral(x, oid)
	case []byte:
		if oid == pgtype.JSONOID || oid == pgtype.JSONBOID {
			return textLiteral(string(x), oid)
		}
		return blobLiteral(x), nil
	case time.Time:
		return "CAST(" + quote(x.Format("2006-01-02 15:04:05.999999Z07:00")) + " AS " + typ + ")", nil
	case pgtype.Numeric:
		j, err := x.MarshalJSON()
		if err != nil {
			return "", err
		}
		return "CAST(" + quote(string(j)) + " AS " + typ + ")", nil
	case pgtype.Interval:
		return fmt.Sprintf("(INTERVAL %d MONTH + INTERVAL %d DAY + INTERVAL %d MICROSECOND)", x.Months, x.Days, x.Microseconds), nil
	case pgtype.Time:
		return fmt.Sprintf("CAST(%s AS TIME)", quote(time.UnixMicro(x.Microseconds).UTC().Format("15:04:05.999999"))), nil
	case [16]byte:
		return "CAST(" + quote(pgtype.UUID{Bytes: x, Valid: true}.String()) + " AS UUID)", nil
	case *big.Int:
		return "CAST(" + quote(x.String()) + " AS " + typ + ")", nil
	}
	return "", fmt.Errorf("a binary parameter of type %d (%T) is not supported; send it as text", oid, v)
}

func floatLiteral(f float64, typ string) string {
	switch {
	case math.IsNaN(f):
		return "CAST('NaN' AS " + typ + ")"
	case math.IsInf(f, 1):
		return "CAST('Infinity' AS " + typ + ")"
	case math.IsInf(f, -1):
		return "CAST('-Infinity' AS " + typ + ")"
	}
	return "CAST(" + strconv.FormatFloat(f, 'g', -1, 64) + " AS " + typ + ")"
}

// quote is s as a SQL string literal (DuckDB's literals are standard: only ' is special).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// blobLiteral is b as a DuckDB BLOB literal: every byte as \xHH.
func blobLiteral(b []byte) string {
	var s strings.Builder
	s.WriteString("CAST('")
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02X`, c)
	}
	s.WriteString("' AS BLOB)")
	return s.String()
}
