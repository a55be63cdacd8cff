package introspect

import (
	"regexp"
	"strings"
)

// psql's meta-commands (\dt, \d table, \l, …) read PostgreSQL's catalog with idioms DuckDB's
// pg_catalog emulation lacks; rewritePsql turns them into DuckDB's, outside string literals and
// quoted identifiers:
//   - OPERATOR(pg_catalog.~) and its kin: the bare operator; and a ~ or !~ whose pattern is a
//     string literal matches anywhere in the string, as PostgreSQL's (and DataFusion's): DuckDB's
//     ~ matches the whole string, so the pattern gets .* on both sides;
//   - pg_catalog.pg_database: the one database, with the columns psql's \l reads;
//   - COLLATE pg_catalog.default (or "default", C): dropped;
//   - casts to pg_catalog's types: to regtype, regclass, … dropped (DuckDB has no such types; the
//     oid stays), to the others by their bare names;
//   - pg_catalog.pg_get_userbyid(x): the one user, "resolute" (a macro);
//   - pg_catalog.pg_namespace: the temporary schema that holds the introspection tables (DuckDB's
//     view lists only the main database's, which is empty), pg_catalog and information_schema.
func rewritePsql(q string) string {
	q = anywhereRegex(q)
	for _, r := range psqlRewrites {
		masked := maskLiterals(q)
		var out strings.Builder
		last := 0
		for _, m := range r.re.FindAllStringSubmatchIndex(masked, -1) {
			out.WriteString(q[last:m[0]])
			repl := r.with
			if len(m) >= 4 && m[2] >= 0 {
				repl = strings.ReplaceAll(repl, "$1", q[m[2]:m[3]])
			}
			out.WriteString(repl)
			last = m[1]
		}
		out.WriteString(q[last:])
		q = out.String()
	}
	return q
}

// userByIDName and encodingName are the macros pg_get_userbyid and pg_encoding_to_char are
// rewritten to.
const (
	userByIDName = "resolute_pg_get_userbyid"
	encodingName = "resolute_pg_encoding_to_char"
)

var psqlRewrites = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\bCOLLATE\s+pg_catalog\s*\.\s*(?:default\b|"\s*"|C\b)`), ""},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_get_userbyid\s*\(`), userByIDName + "("},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_encoding_to_char\s*\(`), encodingName + "("},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*(array_to_string)\s*\(`), "$1("},
	{regexp.MustCompile(`(?i)::\s*pg_catalog\s*\.\s*(?:regtype|regclass|regproc|regnamespace)\b`), ""},
	{regexp.MustCompile(`(?i)::\s*pg_catalog\s*\.\s*(\w+)`), "::$1"},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_database\b`), "(SELECT oid, datname, datallowconn, datistemplate, 10 AS datdba, 6 AS encoding, 'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, 'c' AS datlocprovider, NULL::VARCHAR[] AS datacl FROM pg_catalog.pg_database WHERE datname = 'memory')"},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_class\b`), "(SELECT *, false AS relforcerowsecurity FROM pg_catalog.pg_class)"},
	{regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_namespace\b`), "(SELECT oid, schema_name AS nspname, 0 AS nspowner, NULL AS nspacl FROM duckdb_schemas() WHERE database_name = 'temp' OR schema_name IN ('pg_catalog', 'information_schema'))"},
}

// psqlMacros are the functions the rewritten catalog queries call.
var psqlMacros = []string{
	"CREATE MACRO " + userByIDName + "(x) AS 'resolute'",
	"CREATE MACRO " + encodingName + "(x) AS 'UTF8'",
}

// regexLiteralRE is a ~ or !~ (not ~~, the LIKE operator, nor ~*) before a string literal, in
// masked text: the literal's quotes are kept, its contents masked.
var regexLiteralRE = regexp.MustCompile(`(?:^|[^~!])!?~\s*'`)

// anywhereRegex makes each x ~ 'pattern' (and !~) match the pattern anywhere in x.
func anywhereRegex(q string) string {
	q = operatorRE.ReplaceAllStringFunc(q, func(m string) string { return operatorRE.ReplaceAllString(m, "$1") })
	masked := maskLiterals(q)
	var out strings.Builder
	last := 0
	for _, m := range regexLiteralRE.FindAllStringIndex(masked, -1) {
		open := m[1] - 1 // the literal's opening quote
		end := strings.IndexByte(masked[open+1:], '\'')
		if end < 0 { // an unterminated literal: the query fails to parse anyway
			continue
		}
		end += open + 1 // its closing quote
		out.WriteString(q[last : open+1])
		out.WriteString(".*(?:" + q[open+1:end] + ").*")
		last = end
	}
	out.WriteString(q[last:])
	return out.String()
}

// operatorRE is OPERATOR(pg_catalog.op), as psql writes its operators.
var operatorRE = regexp.MustCompile(`(?i)\bOPERATOR\s*\(\s*pg_catalog\s*\.\s*(!?~\*?)\s*\)`)
