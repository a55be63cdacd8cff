package introspect

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// pushDown restricts a table to the invocations of an id condition ANDed into a single
// SELECT's WHERE, and to nothing else.
func TestPushDown(t *testing.T) {
	a, b := id(1).String(), id(2).String()
	for _, tc := range []struct {
		q    string
		want string // table:ids, sorted; "" for no push-down
	}{
		{`SELECT * FROM sys_invocation WHERE id = '` + a + `'`, "sys_invocation:" + a},
		{`select status from sys_invocation where target = 'x' and id = '` + a + `' order by 1`, "sys_invocation:" + a},
		{`SELECT index FROM sys_journal WHERE id = '` + a + `' ORDER BY index`, "sys_journal:" + a},
		{`SELECT * FROM sys_invocation WHERE id IN ('` + a + `', '` + b + `')`, "sys_invocation:" + a + "," + b},
		// The CLI's describe: qualified, joined with sys_deployment.
		{`SELECT inv.id, dp.id IS NOT NULL AS e FROM sys_invocation inv LEFT JOIN sys_deployment dp ON dp.id = inv.pinned_deployment_id WHERE inv.id IN ('` + a + `')`, "sys_invocation:" + a},
		{`SELECT * FROM sys_journal AS sj JOIN sys_invocation i ON i.id = sj.id WHERE sj.id = '` + a + `' AND i.id = '` + a + `'`, "sys_invocation:" + a + " sys_journal:" + a},
		// Not pushed down:
		{`SELECT * FROM sys_invocation WHERE id = '` + a + `' OR status = 'completed'`, ""},
		{`SELECT * FROM sys_invocation WHERE NOT id = '` + a + `'`, ""},
		{`SELECT * FROM sys_invocation WHERE status = (SELECT status FROM sys_invocation WHERE id = '` + a + `')`, ""},
		{`SELECT * FROM sys_invocation a JOIN sys_invocation b ON a.target = b.target WHERE a.id = '` + a + `'`, ""},
		{`SELECT * FROM sys_invocation i JOIN sys_journal j ON i.id = j.id WHERE id = '` + a + `'`, ""},      // ambiguous
		{`SELECT * FROM sys_invocation i LEFT JOIN sys_journal j ON j.id = i.id AND i.id = '` + a + `'`, ""}, // ON, not WHERE
		{`SELECT * FROM sys_invocation WHERE id = 'nonsense'`, ""},
		{`SELECT * FROM sys_invocation WHERE id != '` + a + `'`, ""},
		{`SELECT * FROM sys_invocation WHERE id = '` + a + `' AND id = '` + b + `'`, ""},
		{`SELECT * FROM sys_invocation WHERE target = 'x AND id = ''` + a + `'''`, ""}, // in a literal
		{`SELECT * FROM state WHERE service_key = '` + a + `'`, ""},
		{`SELECT * FROM sys_invocation ORDER BY id`, ""},
		{"SELECT * FROM sys_invocation -- WHERE id = '" + a + "'", ""}, // in a comment
		{`SELECT * FROM sys_invocation /* WHERE id = '` + a + `' */`, ""},
		{"SELECT * FROM sys_invocation WHERE id = '" + a + "' -- OR nothing", "sys_invocation:" + a},
	} {
		got := pushDown(tc.q, referencedTables(tc.q))
		var parts []string
		for _, table := range slices.Sorted(maps.Keys(got)) {
			var s []string
			for _, x := range got[table] {
				s = append(s, x.String())
			}
			parts = append(parts, table+":"+strings.Join(s, ","))
		}
		if s := strings.Join(parts, " "); s != tc.want {
			t.Errorf("%s\n got %q\nwant %q", tc.q, s, tc.want)
		}
	}
}

// A query about one invocation reads only it (its status, its journal) and answers what the
// same query reading whole tables answers.
func TestPushDownAnswersAlike(t *testing.T) {
	src, invs := fixture(t)
	e := open(t, src)
	run, holder := invs["running"].String(), invs["holder"].String()
	for _, q := range []string{
		`SELECT * FROM sys_invocation WHERE id = '` + run + `'`,
		`SELECT id, status FROM sys_invocation WHERE id IN ('` + run + `', '` + holder + `') ORDER BY id`,
		`SELECT index, entry_type, entry_json FROM sys_journal WHERE id = '` + run + `' ORDER BY index`,
		`SELECT i.target, j.index FROM sys_invocation i JOIN sys_journal j ON j.id = i.id WHERE i.id = '` + run + `' AND j.id = '` + run + `' ORDER BY j.index`,
		`SELECT COUNT(*) AS n FROM sys_journal WHERE id = '` + holder + `'`,
	} {
		narrow, err := e.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rd := src.reads[len(src.reads)-1]
		if len(rd.Only) == 0 {
			t.Errorf("%s: read whole tables %v", q, rd.Tables)
		}
		wq := strings.Replace(q, "WHERE ", "WHERE 1 = 0 OR ", 1) // OR: not pushed down
		whole, err := e.Query(t.Context(), wq)
		if err != nil {
			t.Fatalf("%s: %v", wq, err)
		}
		if rd := src.reads[len(src.reads)-1]; len(rd.Only) != 0 {
			t.Errorf("%s: read only %v", wq, rd.Only)
		}
		if a, b := strings.Join(strs(narrow), "\n"), strings.Join(strs(whole), "\n"); a != b || len(narrow.Rows) == 0 {
			t.Errorf("%s\nreading the invocation: %s\nreading the tables: %s", q, a, b)
		}
	}
}

// A partition builds rows of the columns the query can read only, and the engine appends them
// by name: a narrow read answers as a read of whole rows.
func TestNarrowRows(t *testing.T) {
	src, invs := fixture(t)
	snap := src.db.NewSnapshot()
	defer snap.Close()
	rows, err := PartitionRows(snap, Read{Tables: []string{TableInvocation, TableJournal}, Columns: map[string]bool{"status": true, "target": true, "index": true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := map[string]string{TableInvocation: "[target status]", TableJournal: "[index]"}[r.Table]
		if fmt.Sprint(r.Columns) != want || len(r.Values) == 0 || len(r.Values[0]) != len(r.Columns) {
			t.Errorf("%s: columns %v, rows of %d values; want %s", r.Table, r.Columns, len(r.Values[0]), want)
		}
	}
	e := open(t, src)
	run := invs["running"].String()
	for _, q := range []string{
		`SELECT target, status FROM sys_invocation ORDER BY target, status`,
		`SELECT COUNT(*) AS n FROM sys_journal`,
		`SELECT index, entry_type FROM sys_journal WHERE index < 3 AND name IS NOT NULL ORDER BY index`,
		`SELECT s.status, COUNT(j.index) FROM sys_invocation s JOIN sys_journal j ON j.id = s.id WHERE s.id = '` + run + `' GROUP BY s.status`,
	} {
		narrow, err := e.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if rd := src.reads[len(src.reads)-1]; rd.Columns == nil {
			t.Errorf("%s: read every column", q)
		}
		// "*" in a comment: every column is read (neededColumns).
		whole, err := e.Query(t.Context(), q+` -- *`)
		if err != nil {
			t.Fatalf("%s -- *: %v", q, err)
		}
		if rd := src.reads[len(src.reads)-1]; rd.Columns != nil {
			t.Errorf("%s -- *: read only %v", q, rd.Columns)
		}
		if a, b := strings.Join(strs(narrow), "\n"), strings.Join(strs(whole), "\n"); a != b || len(narrow.Rows) == 0 {
			t.Errorf("%s\nnarrow rows: %s\nwhole rows: %s", q, a, b)
		}
	}
}
