package pgwire

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	wire "github.com/jeroenrinzema/psql-wire"
	"github.com/jeroenrinzema/psql-wire/codes"
	psqlerr "github.com/jeroenrinzema/psql-wire/errors"

	"github.com/resolute-run/resolute/runtime/introspect"
)

// parse answers a query string. Through the simple protocol every statement in it runs at
// once, in order, up to the first that fails (psql-wire writes each one's columns before
// running it, so the columns must be known here); through the extended protocol the one
// statement is prepared: its columns described now, and it runs at each Execute with its
// parameters bound.
func (s *Server) parse(ctx context.Context, q wire.Query) (wire.PreparedStatements, error) {
	stmts := statements(q.Query)
	if q.SimpleQuery {
		return s.simple(ctx, stmts), nil
	}
	switch len(stmts) {
	case 0:
		return wire.Prepared(wire.NewStatement(empty)), nil
	case 1:
		return s.prepare(ctx, stmts[0], q.ParameterOIDs)
	}
	return nil, psqlerr.WithCode(errors.New("cannot insert multiple commands into a prepared statement"), codes.Syntax)
}

func empty(_ context.Context, w wire.DataWriter, _ []wire.Parameter) error { return w.Empty() }

func (s *Server) simple(ctx context.Context, stmts []statement) wire.PreparedStatements {
	if len(stmts) == 0 {
		return wire.Prepared(wire.NewStatement(empty))
	}
	var out wire.PreparedStatements
	for _, st := range stmts {
		if tag, ok := noop(st); ok {
			out = append(out, wire.NewStatement(complete(tag)))
			continue
		}
		res, err := s.runSimple(ctx, st)
		if err != nil {
			// This statement fails when its turn comes; the ones after it do not run.
			return append(out, wire.NewStatement(func(context.Context, wire.DataWriter, []wire.Parameter) error { return err }))
		}
		types := typesOf(res.Columns)
		out = append(out, wire.NewStatement(func(_ context.Context, w wire.DataWriter, _ []wire.Parameter) error {
			return writeResult(w, res, types, res.Columns)
		}, wire.WithColumns(wireColumns(res.Columns, types))))
	}
	return out
}

func (s *Server) runSimple(ctx context.Context, st statement) (*introspect.Result, error) {
	if n := st.params(); n > 0 {
		return nil, psqlerr.WithSeverity(psqlerr.WithCode(fmt.Errorf("there is no parameter $%d", n), codes.UndefinedParameter), psqlerr.LevelError)
	}
	return s.query(ctx, st.String())
}

// prepare describes st (with as many parameters as its highest $n, or as the client typed)
// and returns the statement that runs it.
func (s *Server) prepare(ctx context.Context, st statement, given []uint32) (wire.PreparedStatements, error) {
	if tag, ok := noop(st); ok {
		return wire.Prepared(wire.NewStatement(complete(tag))), nil
	}
	oids := make([]uint32, max(st.params(), len(given)))
	copy(oids, given)
	described, err := s.describe(ctx, st, len(oids))
	if err != nil {
		return nil, err
	}
	types := typesOf(described)
	run := func(ctx context.Context, w wire.DataWriter, params []wire.Parameter) error {
		lits, err := literals(params, oids, len(oids))
		if err != nil {
			return err
		}
		res, err := s.query(ctx, st.bind(lits))
		if err != nil {
			return err
		}
		return writeResult(w, res, types, described)
	}
	return wire.Prepared(wire.NewStatement(run, wire.WithColumns(wireColumns(described, types)), wire.WithParameters(oids))), nil
}

// describe learns st's columns: from the engine's Describer, or by running st with every
// parameter NULL.
func (s *Server) describe(ctx context.Context, st statement, params int) ([]introspect.ResultColumn, error) {
	nulls := make([]string, params)
	for i := range nulls {
		nulls[i] = "NULL"
	}
	if d, ok := s.q.(Describer); ok {
		cols, err := d.Describe(ctx, st.bind(nulls))
		if err != nil {
			return nil, queryError(err)
		}
		return cols, nil
	}
	res, err := s.query(ctx, st.bind(nulls))
	if err != nil {
		return nil, err
	}
	return res.Columns, nil
}

// noop recognizes the statements a driver sends that mean nothing here: session settings and
// transaction control (every query reads its own fresh snapshot, and nothing is written). It
// returns the command tag PostgreSQL answers them with.
func noop(st statement) (string, bool) {
	w := st.firstWords(2)
	if len(w) == 0 {
		return "", false
	}
	switch w[0] {
	case "SET", "RESET":
		return w[0], true
	case "BEGIN", "START":
		return "BEGIN", true
	case "COMMIT", "END":
		return "COMMIT", true
	case "ROLLBACK", "ABORT":
		return "ROLLBACK", true
	case "DISCARD":
		if len(w) == 2 {
			return "DISCARD " + strings.TrimSuffix(w[1], ";"), true
		}
	}
	return "", false
}

func complete(tag string) wire.PreparedStatementFn {
	return func(_ context.Context, w wire.DataWriter, _ []wire.Parameter) error { return w.Complete(tag) }
}

func typesOf(cols []introspect.ResultColumn) []pgType {
	out := make([]pgType, len(cols))
	for i, c := range cols {
		out[i] = typeFor(c.Type)
	}
	return out
}

func wireColumns(cols []introspect.ResultColumn, types []pgType) wire.Columns {
	out := make(wire.Columns, len(cols))
	for i, c := range cols {
		out[i] = wire.Column{Name: c.Name, Oid: types[i].oid, Width: typeLen(types[i].oid)}
	}
	return out
}

// typeLen is pg_type.typlen: the size of a fixed-size type, -1 for the others.
func typeLen(oid uint32) int16 {
	switch oid {
	case pgtype.BoolOID:
		return 1
	case pgtype.Int2OID:
		return 2
	case pgtype.Int4OID, pgtype.Float4OID, pgtype.DateOID:
		return 4
	case pgtype.Int8OID, pgtype.Float8OID, pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.TimeOID:
		return 8
	case pgtype.IntervalOID, pgtype.UUIDOID:
		return 16
	}
	return -1
}

// rowBatch is how many rows are converted and handed to psql-wire at once.
const rowBatch = 1024

// writeResult writes res's rows, each value converted for its column's Postgres type, and
// the command tag. The columns were described as described; if binding the parameters changed
// a column's type (a parameter in the select list), the values must still fit.
func writeResult(w wire.DataWriter, res *introspect.Result, types []pgType, described []introspect.ResultColumn) error {
	if len(res.Columns) != len(types) {
		return internalError(fmt.Errorf("the statement was described with %d columns but answered %d", len(types), len(res.Columns)))
	}
	batch := make([][]any, 0, min(rowBatch, len(res.Rows)))
	for _, row := range res.Rows {
		vals := make([]any, len(row))
		for i, v := range row {
			if v == nil {
				continue
			}
			c, err := types[i].conv(v)
			if err != nil {
				return columnError(res.Columns[i], described[i], err)
			}
			vals[i] = c
		}
		if batch = append(batch, vals); len(batch) == rowBatch {
			if err := wire.WriteRows(w, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := wire.WriteRows(w, batch); err != nil {
		return err
	}
	return w.Complete(fmt.Sprintf("SELECT %d", len(res.Rows)))
}

func columnError(got, described introspect.ResultColumn, err error) error {
	if got.Type != described.Type {
		return psqlerr.WithSeverity(psqlerr.WithCode(fmt.Errorf("column %q was described as %s but is %s once the parameters are bound; cast the parameter ($1::TYPE)", got.Name, described.Type, got.Type), codes.DatatypeMismatch), psqlerr.LevelError)
	}
	return internalError(fmt.Errorf("column %q (%s): %w", got.Name, got.Type, err))
}

func internalError(err error) error {
	return psqlerr.WithSeverity(psqlerr.WithCode(err, codes.Internal), psqlerr.LevelError)
}
