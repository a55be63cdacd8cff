package pgwire

import (
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
)

// TestStatements: semicolons and $n inside literals, quoted identifiers, dollar quotes and
// comments are text; statements of blanks and comments are dropped.
func TestStatements(t *testing.T) {
	for _, tt := range []struct {
		q      string
		want   []string // each statement bound with $n -> <n>
		params []int
	}{
		{"SELECT 1", []string{"SELECT 1"}, []int{0}},
		{"SELECT 1;SELECT 2;", []string{"SELECT 1", "SELECT 2"}, []int{0, 0}},
		{" ; -- only a comment;\n ; /* and ; another */", nil, nil},
		{"SELECT ';$1' FROM t WHERE a = $1", []string{"SELECT ';$1' FROM t WHERE a = <1>"}, []int{1}},
		{`SELECT "a;$2" FROM t WHERE b = $2 AND c = $10`, []string{`SELECT "a;$2" FROM t WHERE b = <2> AND c = <10>`}, []int{10}},
		{"SELECT 'it''s;' ; SELECT E'\\';$1'", []string{"SELECT 'it''s;' ", " SELECT E'\\';$1'"}, []int{0, 0}},
		{"SELECT $$a;$1$$, $tag$b;$tag$ WHERE x=$1", []string{"SELECT $$a;$1$$, $tag$b;$tag$ WHERE x=<1>"}, []int{1}},
		{"SELECT 1 -- x; $1\n, 2 /* /* ; */ $2 */ ; SELECT a$1", []string{"SELECT 1 -- x; $1\n, 2 /* /* ; */ $2 */ ", " SELECT a$1"}, []int{0, 0}},
		{"SELECT $1x, $0, '$1", []string{"SELECT $1x, $0, '$1"}, []int{0}},
	} {
		var got []string
		var params []int
		for _, st := range statements(tt.q) {
			lits := make([]string, st.params())
			for i := range lits {
				lits[i] = fmt.Sprintf("<%d>", i+1)
			}
			got = append(got, st.bind(lits))
			params = append(params, st.params())
		}
		if !slices.Equal(got, tt.want) || !slices.Equal(params, tt.params) {
			t.Errorf("%q: %q with %v parameters, want %q with %v", tt.q, got, params, tt.want, tt.params)
		}
	}
}

// TestNoop: session settings and transaction control are answered without the engine.
func TestNoop(t *testing.T) {
	for q, want := range map[string]string{
		"SET extra_float_digits = 3": "SET",
		"/* x */ begin":              "BEGIN",
		"START TRANSACTION":          "BEGIN",
		"commit":                     "COMMIT",
		"DISCARD ALL":                "DISCARD ALL",
		"SELECT 1":                   "",
		"settings":                   "",
	} {
		st := statements(q)[0]
		if got, _ := noop(st); got != want {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
}

// TestFormatInterval: intervals as PostgreSQL writes them with IntervalStyle postgres.
func TestFormatInterval(t *testing.T) {
	for _, tt := range []struct {
		i    duckdb.Interval
		want string
	}{
		{duckdb.Interval{}, "00:00:00"},
		{duckdb.Interval{Micros: 1_500_000}, "00:00:01.5"},
		{duckdb.Interval{Days: 1}, "1 day"},
		{duckdb.Interval{Days: 2, Micros: 3_600_000_000}, "2 days 01:00:00"},
		{duckdb.Interval{Months: 14, Days: 3}, "1 year 2 mons 3 days"},
		{duckdb.Interval{Months: 1}, "1 mon"},
		{duckdb.Interval{Days: -1, Micros: 60_000_000}, "-1 days +00:01:00"},
		{duckdb.Interval{Micros: -90_061_000_001}, "-25:01:01.000001"},
	} {
		if got := formatInterval(tt.i); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.i, got, tt.want)
		}
	}
}

func TestDecimalText(t *testing.T) {
	for _, tt := range []struct {
		v     int64
		scale uint8
		want  string
	}{{325, 2, "3.25"}, {-305, 2, "-3.05"}, {5, 3, "0.005"}, {-5, 3, "-0.005"}, {42, 0, "42"}} {
		if got := decimalText(duckdb.Decimal{Scale: tt.scale, Value: big.NewInt(tt.v)}); got != tt.want {
			t.Errorf("%d scale %d: %q, want %q", tt.v, tt.scale, got, tt.want)
		}
	}
}

// TestTextLiteral: a text parameter becomes a literal of the type the client named.
func TestTextLiteral(t *testing.T) {
	for _, tt := range []struct {
		s    string
		oid  uint32
		want string
	}{
		{"it's", 0, "'it''s'"},
		{`a\b`, 25, `'a\b'`},
		{"5", 20, "CAST('5' AS BIGINT)"},
		{`\x01ff`, 17, `CAST('\x01\xFF' AS BLOB)`},
		{`a\\b\001`, 17, `CAST('\x61\x5C\x62\x01' AS BLOB)`},
		{"2024-01-02 03:04:05+00", 1184, "CAST('2024-01-02 03:04:05+00' AS TIMESTAMPTZ)"},
	} {
		if got, err := textLiteral(tt.s, tt.oid); err != nil || got != tt.want {
			t.Errorf("%q (%d): %s %v, want %s", tt.s, tt.oid, got, err, tt.want)
		}
	}
	if _, err := textLiteral(`\xZZ`, 17); err == nil {
		t.Error(`bytea \xZZ accepted`)
	}
}
