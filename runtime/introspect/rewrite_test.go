package introspect

import (
	"fmt"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT FIRST_VALUE(id ORDER BY created_at ASC) as o FROM sys_invocation`,
			`SELECT first(id ORDER BY created_at ASC) as o FROM sys_invocation`},
		{`select first_value (id) from t`, `select first(id) from t`},
		{`SELECT 'first_value(' AS s, "first_value(" FROM t`, `SELECT 'first_value(' AS s, "first_value(" FROM t`},
		{`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) WHERE inv.target_service_name IN ('X')`,
			`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) inv WHERE inv.target_service_name IN ('X')`},
		{`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000)`,
			`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) inv`},
		{`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) x WHERE x.id = 'a'`,
			`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) x WHERE x.id = 'a'`},
		{`SELECT 'it''s first_value(' FROM t`, `SELECT 'it''s first_value(' FROM t`},
		{`select id from sys_invocation where TO_TIMESTAMP (modified_at) <= now()`,
			`select id from sys_invocation where resolute_to_timestamp(modified_at) <= now()`},
		{`select 'to_timestamp(' from t`, `select 'to_timestamp(' from t`},
	} {
		if got := rewrite(tc.in); got != tc.want {
			t.Errorf("rewrite(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// The CLI's queries that need a rewrite run on the engine.
func TestCLIQueries(t *testing.T) {
	src, _ := fixture(t)
	e := open(t, src)
	for _, q := range []string{
		`SELECT target_service_name, target_handler_name, status, COUNT(1) as num_invocations, MIN(created_at) as oldest_at, FIRST_VALUE(id ORDER BY created_at ASC) as oldest_invocation FROM sys_invocation WHERE target_service_name IN ('Greeter','Counter') GROUP BY target_service_name, target_handler_name, status ORDER BY target_handler_name`,
		`SELECT target_service_name, target_handler_name, 'pending' as status, COUNT(1) as num_invocations, MIN(created_at) as oldest_at, FIRST_VALUE(id ORDER BY created_at ASC) as oldest_invocation FROM sys_invocation_status WHERE status == 'inboxed' AND target_service_name IN ('Counter') GROUP BY target_service_name, target_handler_name`,
		`SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) WHERE inv.target_service_name IN ('Greeter') AND status != 'completed'`,
		`select key, value from state where service_name = 'Counter' and service_key = 'a' ;`,
	} {
		res, err := e.Query(t.Context(), q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if len(res.Rows) == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
}

// to_timestamp takes what DataFusion's does: a timestamp, seconds since the epoch (whole or
// not) and RFC 3339 strings; NULL stays NULL; anything else is the query's error.
func TestToTimestamp(t *testing.T) {
	src, _ := fixture(t)
	e := open(t, src)
	res, err := e.Query(t.Context(), `SELECT to_timestamp(TIMESTAMP '2026-01-02 03:04:05.5') AS a, to_timestamp(1767323045) AS b,
		to_timestamp(1767323045.25) AS c, to_timestamp('2026-01-02T03:04:05Z') AS d, to_timestamp(NULL::VARCHAR) AS e,
		(SELECT count(*) FROM sys_invocation WHERE to_timestamp(modified_at) <= now()) = (SELECT count(*) FROM sys_invocation) AS f`)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.Rows[0]...)
	want := "2026-01-02 03:04:05.5 +0000 UTC 2026-01-02 03:04:05 +0000 UTC 2026-01-02 03:04:05.25 +0000 UTC 2026-01-02 03:04:05 +0000 UTC <nil> true"
	if fmt.Sprintln(res.Rows[0]...) != want+"\n" {
		t.Errorf("to_timestamp gave\n %s\nwant\n %s", got, want)
	}
	if _, err := e.Query(t.Context(), `SELECT to_timestamp('yesterday')`); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("to_timestamp('yesterday'): %v, want an RFC 3339 error", err)
	}
}
