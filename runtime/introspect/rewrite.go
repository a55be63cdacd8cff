package introspect

import (
	"regexp"
	"strings"
)

// rewrite turns the DataFusion idioms the official CLI sends into DuckDB's, outside string
// literals and quoted identifiers:
//   - first_value(x [ORDER BY y]) as an aggregate (DataFusion has it; DuckDB's first_value is a
//     window function only): first(x [ORDER BY y]), which DuckDB has as both.
//   - to_timestamp(x) (DataFusion's takes a timestamp, seconds or a string; DuckDB's only
//     seconds): resolute_to_timestamp(x) (totimestamp.go).
//   - an unaliased derived table whose body names its table with an alias,
//     "FROM (SELECT * FROM sys_invocation inv LIMIT 50000) WHERE inv.…" (DataFusion lets the
//     inner alias through): the derived table gets that alias.
func rewrite(q string) string {
	q = rewritePsql(q)
	masked := maskLiterals(q)
	var out strings.Builder
	last := 0
	for _, m := range firstValueRE.FindAllStringIndex(masked, -1) {
		out.WriteString(q[last:m[0]])
		out.WriteString("first(")
		last = m[1]
	}
	out.WriteString(q[last:])
	q = out.String()
	masked = maskLiterals(q)
	out.Reset()
	last = 0
	for _, m := range toTimestampRE.FindAllStringIndex(masked, -1) {
		out.WriteString(q[last:m[0]])
		out.WriteString(toTimestampName + "(")
		last = m[1]
	}
	out.WriteString(q[last:])
	q = out.String()
	masked = maskLiterals(q)
	out.Reset()
	last = 0
	for _, m := range derivedRE.FindAllStringSubmatchIndex(masked, -1) {
		// m[2:4] is the inner alias; m[4] where the alias goes (after the closing paren).
		out.WriteString(q[last:m[4]])
		out.WriteString(" " + q[m[2]:m[3]])
		last = m[4]
	}
	out.WriteString(q[last:])
	return out.String()
}

var (
	firstValueRE  = regexp.MustCompile(`(?i)\bfirst_value\s*\(`)
	toTimestampRE = regexp.MustCompile(`(?i)\bto_timestamp\s*\(`)
	derivedRE     = regexp.MustCompile(`(?i)\(\s*SELECT\s+\*\s+FROM\s+\w+\s+(\w+)\s+LIMIT\s+\d+\s*\)()\s*(?:WHERE\b|$|;)`)
)

// maskLiterals returns q with the contents of string literals and quoted identifiers replaced
// by spaces (same length), so that patterns only match SQL text.
func maskLiterals(q string) string {
	b := []byte(q)
	for i := 0; i < len(b); i++ {
		quote := b[i]
		if quote != '\'' && quote != '"' {
			continue
		}
		j := i + 1
		for ; j < len(b); j++ {
			if b[j] == quote {
				if j+1 < len(b) && b[j+1] == quote { // doubled quote: an escaped one
					b[j], b[j+1] = ' ', ' '
					j++
					continue
				}
				break
			}
			b[j] = ' '
		}
		i = j
	}
	return string(b)
}
