package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// startPg starts a server with the PostgreSQL wire port on, the Counter object and a Flaky
// service whose handler always fails (so it retries), and a short inactivity timeout (so a
// handler waiting on an awakeable suspends).
func startPg(t *testing.T, tokens []string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", PgAddr: "127.0.0.1:0",
		Partitions: 2, AdminTokens: tokens, Invoker: invoker.Config{InactivityTimeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	flaky := sdk.NewService("Flaky").Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
		return sdk.Void{}, errors.New("the database is down")
	}))
	if err := s.RegisterInProcess(ctx, "pg", counters().Bind(flaky)); err != nil {
		t.Fatal(err)
	}
	if s.PgAddr() == "" {
		t.Fatal("PgAddr empty with Config.PgAddr set")
	}
	return s
}

func pgConnect(t *testing.T, addr, password string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), "postgres://resolute:"+password+"@"+addr+"/resolute?sslmode=disable&connect_timeout=10")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestPgWire: pgx (extended protocol with binary values, and the simple protocol) and psql run
// the queries of Restate's introspection docs against a real server after a known workload:
// a completed add of Counter/a, Counter/b held by a suspended hold with an add inboxed
// behind it, and Flaky/fail retrying. A bad query leaves the connection usable.
func TestPgWire(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startPg(t, nil)
	in := s.IngressURL()
	hold, added, awakeable := counterWorkload(t, ctx, in)
	lcSend(t, in, "/Flaky/fail/send")

	c := pgConnect(t, s.PgAddr(), "")
	byStatus := `SELECT status, COUNT(*) AS n FROM sys_invocation WHERE target_handler_name IN ('add', 'hold', 'fail') GROUP BY status ORDER BY status`
	lcWait(t, ctx, "the workload in place", func() string {
		rows, _ := c.Query(ctx, byStatus)
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var st string
			var n int64
			err := r.Scan(&st, &n)
			return fmt.Sprintf("%s=%d", st, n), err
		})
		if want := []string{"backing-off=1", "completed=1", "pending=1", "suspended=1"}; err != nil || !slices.Equal(got, want) {
			return fmt.Sprintf("invocations by status %q (%v), want %q", got, err, want)
		}
		var retries int64
		if err := c.QueryRow(ctx, `SELECT retry_count FROM sys_invocation WHERE target = 'Flaky/fail'`).Scan(&retries); err != nil || retries < 2 {
			return fmt.Sprintf("retries of Flaky/fail: %d %v", retries, err)
		}
		return ""
	})

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		// Suspended invocations, every column (each of the schema's types over the wire).
		rows, _ := c.Query(ctx, `SELECT * FROM sys_invocation WHERE status = 'suspended'`, mode)
		suspended, err := pgx.CollectRows(rows, pgx.RowToMap)
		if err != nil || len(suspended) != 1 || suspended[0]["target"] != "Counter/b/hold" || suspended[0]["completed_at"] != nil {
			t.Fatalf("%v: suspended invocations %v (%v), want Counter/b/hold", mode, suspended, err)
		}
		if created, ok := suspended[0]["created_at"].(time.Time); !ok || time.Since(created) > time.Hour || time.Since(created) < 0 {
			t.Errorf("%v: created_at %#v, want a time of this test", mode, suspended[0]["created_at"])
		}
		// Stuck: retrying, with its last failure.
		var id, target, failure string
		var retries int64
		err = c.QueryRow(ctx, `SELECT id, target, retry_count, last_failure FROM sys_invocation WHERE retry_count > 1`, mode).Scan(&id, &target, &retries, &failure)
		if err != nil || target != "Flaky/fail" || !strings.Contains(failure, "the database is down") {
			t.Errorf("%v: stuck invocation %s %s %d %q (%v)", mode, id, target, retries, failure, err)
		}
		// The journal of one invocation, by its id.
		var addID string
		if err := c.QueryRow(ctx, `SELECT id FROM sys_invocation WHERE target = $1`, mode, "Counter/a/add").Scan(&addID); err != nil {
			t.Fatalf("%v: id of Counter/a/add: %v", mode, err)
		}
		rows, _ = c.Query(ctx, `SELECT id, index, entry_type FROM sys_journal WHERE id = $1 ORDER BY index`, mode, addID)
		journal, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var jid, typ string
			var index int64
			err := r.Scan(&jid, &index, &typ)
			if jid != addID {
				err = fmt.Errorf("entry of %s", jid)
			}
			return fmt.Sprintf("%d:%s", index, typ), err
		})
		if err != nil || len(journal) < 2 || journal[0] != "0:Command: Input" || !strings.HasSuffix(journal[len(journal)-1], ":Command: Output") {
			t.Errorf("%v: journal of Counter/a/add %q (%v)", mode, journal, err)
		}
		// The state of a key.
		var key, value string
		var raw []byte
		err = c.QueryRow(ctx, `SELECT key, value_utf8, value FROM state WHERE service_name = $1 AND service_key = $2`, mode, "Counter", "a").Scan(&key, &value, &raw)
		if err != nil || key != "count" || value != "5" || string(raw) != "5" {
			t.Errorf("%v: state of Counter/a: %s=%s %q (%v)", mode, key, value, raw, err)
		}
		// Who holds b's lock.
		var holder string
		err = c.QueryRow(ctx, `SELECT i.target FROM sys_keyed_service_status k JOIN sys_invocation i ON i.id = k.invocation_id WHERE k.service_name = $1 AND k.service_key = $2`, mode, "Counter", "b").Scan(&holder)
		if err != nil || holder != "Counter/b/hold" {
			t.Errorf("%v: holder of Counter/b %q (%v)", mode, holder, err)
		}
		// A bad query: an error with a SQLSTATE; the connection answers the next one.
		_, err = c.Exec(ctx, `SELECT * FROM sys_invocations`, mode)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42P01" || !strings.Contains(pe.Message, "sys_invocations does not exist") {
			t.Errorf("%v: unknown table: %v, want 42P01", mode, err)
		}
		if err := c.QueryRow(ctx, `SELECT value_utf8 FROM state WHERE service_key = $1`, mode, "a").Scan(&value); err != nil || value != "5" {
			t.Errorf("%v: after the error: %q %v", mode, value, err)
		}
	}

	// psql: the same tables, printed as against PostgreSQL (timestamps, bytea, NULLs).
	out := psqlRun(t, s.PgAddr(), "",
		// Flaky/fail left out: it is running for the moments of its attempts.
		"-c", `SELECT status, COUNT(*) AS n FROM sys_invocation WHERE target_handler_name IN ('add', 'hold') GROUP BY status ORDER BY status`,
		"-c", `SELECT key, value_utf8, value FROM state WHERE service_name = 'Counter' AND service_key = 'a'`,
		"-c", `SELECT target, created_at, completed_at, retry_count FROM sys_invocation WHERE target = 'Counter/b/hold'`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{"status|n", "completed|1", "pending|1", "suspended|1", "(3 rows)",
		"key|value_utf8|value", `count|5|\x35`, "(1 row)",
		"target|created_at|completed_at|retry_count"}
	if len(lines) != len(want)+2 || !slices.Equal(lines[:len(want)], want) || lines[len(lines)-1] != "(1 row)" {
		t.Fatalf("psql printed\n%s\nwant\n%s\n<the hold's row>\n(1 row)", out, strings.Join(want, "\n"))
	}
	var created time.Time
	if err := c.QueryRow(ctx, `SELECT created_at FROM sys_invocation WHERE target = 'Counter/b/hold'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if row, wantRow := lines[len(lines)-2], "Counter/b/hold|"+created.UTC().Format("2006-01-02 15:04:05.999999")+"+00|NULL|NULL"; row != wantRow { // no retry count outside the invoker, as restate-server
		t.Errorf("psql printed the hold as %q, want %q", row, wantRow)
	}

	lcExpect(t, "resolve", lcDo(t, "POST", in+"/restate/awakeables/"+awakeable+"/resolve", `"done"`), 202, "")
	lcExpect(t, "hold", <-hold, 200, `"done"`)
	lcExpect(t, "add after the hold", <-added, 200, "1")
}

// TestPgWireTokens: with admin tokens, the PostgreSQL port wants one as the password.
func TestPgWireTokens(t *testing.T) {
	s := startPg(t, []string{"secret"})
	_, err := pgx.Connect(context.Background(), "postgres://resolute:wrong@"+s.PgAddr()+"/resolute?sslmode=disable&connect_timeout=10")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" {
		t.Fatalf("a wrong password: %v, want 28P01", err)
	}
	if out := psqlRun(t, s.PgAddr(), "secret", "-c", "SELECT name FROM sys_service ORDER BY name"); out != "name\nCounter\nFlaky\n(2 rows)\n" {
		t.Errorf("psql with the token printed %q", out)
	}
}

// psqlRun runs psql (unaligned, | between fields, NULL for NULLs) and returns what it printed;
// it must succeed. Without psql the test skips, or fails when CI=true.
func psqlRun(t *testing.T, addr, password string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		paths, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
		slices.Sort(paths)
		testenv.RequirePrereq(t, len(paths) > 0, "psql (apt-get install postgresql-client)")
		bin = paths[len(paths)-1]
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, append([]string{"-X", "-w", "-v", "ON_ERROR_STOP=1", "-A", "-F", "|", "-P", "null=NULL", "-h", host, "-p", port, "-U", "resolute", "-d", "resolute"}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PGPASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("psql %v: %v\n%s%s", args, err, out, ee.Stderr)
		}
		t.Fatalf("psql %v: %v", args, err)
	}
	return string(out)
}
