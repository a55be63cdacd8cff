package introspect

import "testing"

func TestRewritePsql(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`x ~ 'a'`, `x ~ '.*(?:a).*'`},
		{`x !~ '^pg_'`, `x !~ '.*(?:^pg_).*'`},
		{`x ~~ 'a%'`, `x ~~ 'a%'`}, // LIKE
		{`x ~* 'a'`, `x ~* 'a'`},   // not rewritten
		{`'~ ''q''' AS e`, `'~ ''q''' AS e`},
		{`c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default`, `c.relname ~ '.*(?:^(t)$).*' `},
		{`pg_catalog.pg_get_userbyid(c.relowner)`, userByIDName + `(c.relowner)`},
		{`c.reloftype::pg_catalog.regtype::pg_catalog.text`, `c.reloftype::text`},
		{`SELECT 'pg_catalog.pg_class'`, `SELECT 'pg_catalog.pg_class'`},
	} {
		if got := rewritePsql(c.in); got != c.want {
			t.Errorf("rewritePsql(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
