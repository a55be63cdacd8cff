//go:build linux

package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resolute-run/resolute/examples/postgres"
	"github.com/resolute-run/resolute/tests/testenv"
)

// waitTimeout bounds each wait for the transfer to reach a step.
const waitTimeout = 60 * time.Second

// TestTransfersAcrossSIGKILL runs a real PostgreSQL (initdb into a temporary directory, with
// max_prepared_transactions > 0), `resolute server` as a process, and the Bank service in the
// test process, and SIGKILLs the server, restarting it on the same data directory:
//
//   - after PREPARE TRANSACTION and before the step's result reached the server: the prepared
//     change is invisible until then; after the restart the step runs again, finds the
//     transaction prepared, and the transfer commits once;
//   - while a large transfer, prepared, waits for its approval: the transaction stays prepared
//     across the crash, and the approval (an awakeable resolved over the ingress) commits it;
//
// and a transfer cancelled through the admin API while it waits for its approval rolls back,
// one without the funds prepares nothing, and one cancelled while its prepare step is being
// journaled (the cancellation wins that wait) rolls back too. Balances, transfer rows and the prepared
// transactions left are read from PostgreSQL after each step.
func TestTransfersAcrossSIGKILL(t *testing.T) {
	dsn := startPostgres(t)
	ctx := t.Context()
	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Exec(ctx, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO accounts VALUES ('alice', 100), ('bob', 0), ('carol', 0)`); err != nil {
		t.Fatal(err)
	}
	// The Prepared hook holds the next PREPARE's step until the test opens the armed gate.
	var armed atomic.Pointer[gate]
	hook := func(ctx context.Context, id string) {
		if g := armed.Swap(nil); g != nil {
			g.prepared(ctx, id)
		}
	}
	url := testenv.ServeH2C(t, postgres.Endpoint(postgres.Config{DB: db, ApprovalLimit: 50, Prepared: hook}).Handler())
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	check := func(want map[string]int64, transfers int, prepared ...string) {
		t.Helper()
		if got := balances(t, db); !equalMaps(got, want) {
			t.Errorf("balances %v, want %v", got, want)
		}
		if n := count(t, db, `SELECT count(*) FROM transfers`); n != transfers {
			t.Errorf("%d transfer rows, want %d", n, transfers)
		}
		if got := preparedXacts(t, db); !slices.Equal(got, prepared) {
			t.Errorf("prepared transactions %q, want %q", got, prepared)
		}
	}

	// 1. A crash between PREPARE TRANSACTION and the journal.
	g := newGate()
	t.Cleanup(g.open)
	armed.Store(g)
	id := send(t, srv, `{"from":"alice","to":"bob","amount":30}`)
	var tx string
	waitFor(t, srv, id, "the prepared transaction", func() bool {
		select {
		case tx = <-g.entered:
			return true
		default:
			return false
		}
	})
	check(map[string]int64{"alice": 100, "bob": 0, "carol": 0}, 0, tx) // prepared, not visible
	srv.Kill()
	srv.Restart()
	g.open()
	var r postgres.Receipt
	testenv.DecodeReply(t, testenv.AttachInvocation(t, srv, id, 200), &r)
	if r != (postgres.Receipt{Transfer: tx, Amount: 30}) {
		t.Errorf("receipt %+v, want transfer %s of 30", r, tx)
	}
	check(map[string]int64{"alice": 70, "bob": 30, "carol": 0}, 1)

	// 2. A crash while a prepared transfer waits for its approval.
	id = send(t, srv, `{"from":"alice","to":"carol","amount":50}`)
	tx, awakeable := waitApproval(t, srv, db, id)
	check(map[string]int64{"alice": 70, "bob": 30, "carol": 0}, 1, tx)
	srv.Kill()
	srv.Restart()
	check(map[string]int64{"alice": 70, "bob": 30, "carol": 0}, 1, tx)
	testenv.MustPost(t, srv.Ingress+"/restate/awakeables/"+awakeable+"/resolve", "true", 202)
	testenv.DecodeReply(t, testenv.AttachInvocation(t, srv, id, 200), &r)
	if r != (postgres.Receipt{Transfer: tx, Amount: 50}) {
		t.Errorf("receipt %+v, want transfer %s of 50", r, tx)
	}
	check(map[string]int64{"alice": 20, "bob": 30, "carol": 50}, 2)

	// 3. Cancelled while waiting for the approval: rolled back.
	id = send(t, srv, `{"from":"carol","to":"bob","amount":50}`)
	tx, _ = waitApproval(t, srv, db, id)
	check(map[string]int64{"alice": 20, "bob": 30, "carol": 50}, 2, tx)
	testenv.CancelInvocation(t, srv, id)
	if r := testenv.AttachInvocation(t, srv, id, 409); !strings.Contains(string(r.Body), "Cancelled") {
		t.Errorf("cancelled transfer answered %s", r.Body)
	}
	check(map[string]int64{"alice": 20, "bob": 30, "carol": 50}, 2)

	// 4. Not enough money: nothing prepared.
	testenv.MustPost(t, srv.Ingress+"/Bank/transfer", `{"from":"bob","to":"alice","amount":31}`, 400)
	check(map[string]int64{"alice": 20, "bob": 30, "carol": 50}, 2)

	// 5. Cancelled while its prepare step is being journaled: the cancellation wins the wait for
	// the step's result, although the transaction was prepared; it must be rolled back.
	g = newGate()
	t.Cleanup(g.open)
	armed.Store(g)
	id = send(t, srv, `{"from":"alice","to":"bob","amount":10}`)
	waitFor(t, srv, id, "the prepared transaction", func() bool {
		select {
		case tx = <-g.entered:
			return true
		default:
			return false
		}
	})
	testenv.CancelInvocation(t, srv, id)
	g.open()
	if r := testenv.AttachInvocation(t, srv, id, 409); !strings.Contains(string(r.Body), "Cancelled") {
		t.Errorf("cancelled transfer answered %s", r.Body)
	}
	check(map[string]int64{"alice": 20, "bob": 30, "carol": 50}, 2)
}

// gate blocks the first Prepared call until open, after sending its transaction id on entered.
type gate struct {
	entered chan string
	release chan struct{}
	first   sync.Once
	opened  sync.Once
}

func newGate() *gate { return &gate{entered: make(chan string, 1), release: make(chan struct{})} }

func (g *gate) prepared(_ context.Context, id string) {
	g.first.Do(func() {
		g.entered <- id
		<-g.release
	})
}

func (g *gate) open() { g.opened.Do(func() { close(g.release) }) }

// waitFor polls done until it holds, failing at once if invocation id ends before.
func waitFor(t *testing.T, srv *testenv.Server, id, what string, done func() bool) {
	t.Helper()
	testenv.WaitReady(t, what, waitTimeout, func() error {
		if done() {
			return nil
		}
		resp, err := testenv.HTTPClient.Get(srv.Ingress + "/restate/invocation/" + id + "/output")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 470 { // 470: not ended yet
			t.Fatalf("the transfer ended before %s: status %d, %s", what, resp.StatusCode, body)
		}
		return errors.New("not yet: " + what)
	}, srv.Proc())
}

// waitApproval waits until the transfer asks for approval, and returns its transaction and the
// awakeable to resolve.
func waitApproval(t *testing.T, srv *testenv.Server, db *pgxpool.Pool, id string) (tx, awakeable string) {
	t.Helper()
	waitFor(t, srv, id, "the approval request", func() bool {
		err := db.QueryRow(t.Context(), `SELECT transfer, awakeable FROM approvals
			WHERE transfer NOT IN (SELECT id FROM transfers) AND transfer IN (SELECT gid FROM pg_prepared_xacts)`).Scan(&tx, &awakeable)
		return err == nil
	})
	return tx, awakeable
}

func balances(t *testing.T, db *pgxpool.Pool) map[string]int64 {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT id, balance FROM accounts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var id string
		var b int64
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		got[id] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func preparedXacts(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT gid FROM pg_prepared_xacts ORDER BY gid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var gid string
		if err := rows.Scan(&gid); err != nil {
			t.Fatal(err)
		}
		got = append(got, gid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func count(t *testing.T, db *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// startPostgres runs a PostgreSQL server of its own for the test (initdb into a temporary
// directory; as the postgres user when the test runs as root, since PostgreSQL refuses root)
// and returns its connection string. Without PostgreSQL the test skips, or fails when CI=true.
func startPostgres(t *testing.T) string {
	t.Helper()
	bin := postgresBin()
	testenv.RequirePrereq(t, bin != "", "PostgreSQL (initdb and pg_ctl in PATH or /usr/lib/postgresql/*/bin; apt-get install postgresql)")
	base, err := os.MkdirTemp("", "resolute-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		testenv.RequirePrereq(t, err == nil, "a postgres user to run PostgreSQL as (the test runs as root): %v", err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data, logFile := filepath.Join(base, "data"), filepath.Join(base, "postgres.log")
	pg := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), filepath.Join(bin, name), args...)
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
		}
	}
	pg("initdb", "--no-sync", "-A", "trust", "-U", "resolute", "-E", "UTF8", "-D", data)
	port := testenv.FreePorts(t, 1)[0]
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_prepared_transactions = 16\nfsync = off\n", port)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	pg("pg_ctl", "-D", data, "-l", logFile, "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logFile)
			t.Logf("===== postgres log =====\n%s", log)
		}
	})
	return fmt.Sprintf("postgres://resolute@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// postgresBin is the directory of initdb and pg_ctl: from PATH, else the newest
// /usr/lib/postgresql/*/bin (Debian's packages), else "".
func postgresBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

// version is the major version in /usr/lib/postgresql/<v>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// send starts a transfer one-way and returns its invocation id.
func send(t *testing.T, srv *testenv.Server, transfer string) string {
	t.Helper()
	r := testenv.MustPost(t, srv.Ingress+"/Bank/transfer/send", transfer, 202)
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &acc); err != nil || acc.InvocationID == "" {
		t.Fatalf("send: answer %s: %v", r.Body, err)
	}
	return acc.InvocationID
}
