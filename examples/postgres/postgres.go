// Package postgres is the transaction-coordinator pattern: a durable handler changes a real
// PostgreSQL database through a prepared transaction (two-phase commit), so that the change is
// committed exactly once, and only once the handler has journaled that it was prepared.
//
// Bank/transfer (input Transfer) moves money between two accounts:
//
//  1. draws the transaction id from the deterministic random generator (ctx.UUID()): every
//     replay of the invocation names the same transaction;
//  2. in sdk.Run, "prepare": BEGIN, debit, credit, insert the transfer's row, PREPARE TRANSACTION
//     'id'. The changes are durable in PostgreSQL but invisible and uncommitted. If a crash
//     comes before the step is journaled, the retry runs the step again and finds the
//     transaction prepared (pg_prepared_xacts) or committed (its transfer row) and does nothing:
//     the same id cannot be prepared twice;
//  3. for amounts at or above the approval limit, records an awakeable in the approvals table
//     and waits for an approver to resolve it with true or false, for as long as it takes and
//     across server restarts, the transaction staying prepared meanwhile;
//  4. in sdk.Run, "commit": COMMIT PREPARED 'id' (or ROLLBACK PREPARED when the approver said no
//     or the invocation was cancelled). Both are idempotent: a transaction that is no longer
//     prepared was committed if its transfer row exists.
//
// A cancellation (PATCH /invocations/{id}/cancel) is seen at the next wait, which may be the
// wait for a step's result to be journaled: the step ran, but the handler gets sdk.ErrCancelled.
// So a cancelled prepare step is followed by a rollback, and a cancelled commit or rollback step
// runs again.
//
// An insufficient balance or an unknown account is a terminal error and nothing is prepared.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resolute-run/resolute/sdk"
)

// Schema creates the tables the example uses, if missing.
const Schema = `
CREATE TABLE IF NOT EXISTS accounts (
	id      text PRIMARY KEY,
	balance bigint NOT NULL CHECK (balance >= 0)
);
CREATE TABLE IF NOT EXISTS transfers (
	id     text PRIMARY KEY, -- the prepared transaction's id
	src    text NOT NULL,
	dst    text NOT NULL,
	amount bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
	transfer  text PRIMARY KEY,
	awakeable text NOT NULL -- resolve it with true (approve) or false
);`

// Transfer is the handler's input.
type Transfer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// Receipt is the handler's result.
type Receipt struct {
	Transfer string `json:"transfer"` // the prepared transaction's id, also the transfers row's
	Amount   int64  `json:"amount"`
}

// Config configures the service.
type Config struct {
	DB *pgxpool.Pool
	// ApprovalLimit: transfers of at least this amount wait for an approval; 0 means none do.
	ApprovalLimit int64
	// Prepared, if set, is called after PREPARE TRANSACTION succeeded, before the step's result
	// goes to the runtime (for logging, and for tests that crash the server right there).
	Prepared func(ctx context.Context, id string)
}

// Service is the Bank service.
func Service(cfg Config) *sdk.Service {
	b := bank{cfg: cfg}
	return sdk.NewService("Bank").Handler("transfer", sdk.ServiceHandler(b.transfer))
}

// Endpoint serves the Bank service.
func Endpoint(cfg Config) *sdk.Endpoint { return sdk.NewEndpoint().Bind(Service(cfg)) }

type bank struct{ cfg Config }

func (b bank) transfer(ctx sdk.Context, t Transfer) (Receipt, error) {
	if t.Amount <= 0 || t.From == "" || t.To == "" || t.From == t.To {
		return Receipt{}, sdk.TerminalErrorf(400, "a transfer needs two accounts and a positive amount")
	}
	id := "transfer-" + ctx.UUID()
	if _, err := sdk.Run(ctx, func(rc sdk.RunContext) (sdk.Void, error) {
		return sdk.Void{}, b.prepare(rc, id, t)
	}, sdk.WithName("prepare")); err != nil {
		if errors.Is(err, sdk.ErrCancelled) {
			// The cancellation won the wait for the step's result, but the step ran: whatever it
			// prepared is rolled back. (Its own errors roll back inside the step.)
			return Receipt{}, b.rollback(ctx, id, err)
		}
		return Receipt{}, err
	}
	if err := b.approve(ctx, id, t); err != nil {
		return Receipt{}, b.rollback(ctx, id, err)
	}
	if err := b.decide(ctx, id, true); err != nil {
		return Receipt{}, err
	}
	return Receipt{Transfer: id, Amount: t.Amount}, nil
}

// rollback rolls the prepared transaction id back and returns cause, why.
func (b bank) rollback(ctx sdk.Context, id string, cause error) error {
	if err := b.decide(ctx, id, false); err != nil {
		return err
	}
	return cause
}

// decide runs the step that commits or rolls back id. Once decided, a cancellation changes
// nothing: if it wins the wait for the step's result (the invocation is cancelled at most once),
// the step runs again, finding the transaction finished.
func (b bank) decide(ctx sdk.Context, id string, commit bool) error {
	name := "rollback"
	if commit {
		name = "commit"
	}
	run := func() error {
		_, err := sdk.Run(ctx, func(rc sdk.RunContext) (sdk.Void, error) {
			return sdk.Void{}, b.finish(rc, id, commit)
		}, sdk.WithName(name))
		return err
	}
	err := run()
	if errors.Is(err, sdk.ErrCancelled) {
		err = run()
	}
	return err
}

// approve waits, for a transfer at or above the limit, for the approver's answer.
func (b bank) approve(ctx sdk.Context, id string, t Transfer) error {
	if b.cfg.ApprovalLimit == 0 || t.Amount < b.cfg.ApprovalLimit {
		return nil
	}
	approval := sdk.Awakeable[bool](ctx)
	if _, err := sdk.Run(ctx, func(rc sdk.RunContext) (sdk.Void, error) {
		_, err := b.cfg.DB.Exec(rc, `INSERT INTO approvals (transfer, awakeable) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, approval.ID())
		return sdk.Void{}, err
	}, sdk.WithName("ask for approval")); err != nil {
		return err
	}
	ok, err := approval.Result() // sdk.ErrCancelled when cancelled
	if err != nil {
		return err
	}
	if !ok {
		return sdk.TerminalErrorf(403, "transfer %s was not approved", id)
	}
	return nil
}

// prepare carries out t in a transaction prepared as id, unless an earlier run of the step did.
func (b bank) prepare(ctx context.Context, id string, t Transfer) (err error) {
	conn, err := b.cfg.DB.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	defer conn.Release()
	var done bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE gid = $1)
		OR EXISTS (SELECT 1 FROM transfers WHERE id = $1)`, id).Scan(&done); err != nil {
		return fmt.Errorf("prepare %s: look for an earlier run: %w", id, err)
	}
	if done {
		return nil
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	defer func() {
		if err != nil {
			// Whatever failed, nothing stays open on the pooled connection.
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	// A run of this step cannot wait forever behind another's row locks: it fails (and the
	// runtime retries the invocation) instead.
	if _, err := conn.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	if err := move(ctx, conn.Conn(), t); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO transfers (id, src, dst, amount) VALUES ($1, $2, $3, $4)`, id, t.From, t.To, t.Amount); err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	if _, err := conn.Exec(ctx, "PREPARE TRANSACTION "+quote(id)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42710" { // duplicate_object: a concurrent run prepared it
			return nil
		}
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	if b.cfg.Prepared != nil {
		b.cfg.Prepared(ctx, id)
	}
	return nil
}

// move debits t.From and credits t.To inside the open transaction; an unknown account or an
// insufficient balance is terminal.
func move(ctx context.Context, conn *pgx.Conn, t Transfer) error {
	tag, err := conn.Exec(ctx, `UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2`, t.From, t.Amount)
	if err != nil {
		return fmt.Errorf("debit %s: %w", t.From, err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, t.From).Scan(&exists); err != nil {
			return fmt.Errorf("debit %s: %w", t.From, err)
		}
		if !exists {
			return sdk.TerminalErrorf(404, "no account %s", t.From)
		}
		return sdk.TerminalErrorf(400, "insufficient funds in %s", t.From)
	}
	tag, err = conn.Exec(ctx, `UPDATE accounts SET balance = balance + $2 WHERE id = $1`, t.To, t.Amount)
	if err != nil {
		return fmt.Errorf("credit %s: %w", t.To, err)
	}
	if tag.RowsAffected() == 0 {
		return sdk.TerminalErrorf(404, "no account %s", t.To)
	}
	return nil
}

// finish commits (or rolls back) the prepared transaction id. A transaction that is no longer
// prepared was finished by an earlier run of the step: committed if its transfer row exists.
func (b bank) finish(ctx context.Context, id string, commit bool) error {
	verb := "ROLLBACK PREPARED "
	if commit {
		verb = "COMMIT PREPARED "
	}
	_, err := b.cfg.DB.Exec(ctx, verb+quote(id))
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "42704" { // 42704: no such prepared transaction
		if err != nil {
			err = fmt.Errorf("%s%s: %w", verb, id, err)
		}
		return err
	}
	var committed bool
	if err := b.cfg.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM transfers WHERE id = $1)`, id).Scan(&committed); err != nil {
		return fmt.Errorf("%s%s: %w", verb, id, err)
	}
	if committed != commit {
		// Broken invariant: only this step finishes the transaction, and the journal says which way.
		return sdk.TerminalErrorf(500, "transaction %s was finished the other way (committed: %v)", id, committed)
	}
	return nil
}

// quote is id as an SQL string literal (PREPARE TRANSACTION takes no parameters).
func quote(id string) string { return "'" + strings.ReplaceAll(id, "'", "''") + "'" }
