package pgwire

import (
	"context"
	"errors"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jeroenrinzema/psql-wire/codes"
	psqlerr "github.com/jeroenrinzema/psql-wire/errors"

	"github.com/resolute-run/resolute/runtime/introspect"
)

// queryError is err (from the engine) as the ErrorResponse a Postgres client reads: a SQLSTATE
// for its kind, its first line as the message and the rest (DuckDB's "LINE 1: …" pointer,
// candidate names) as the detail. The connection goes on after it.
func queryError(err error) error {
	msg, detail, _ := strings.Cut(err.Error(), "\n")
	out := psqlerr.WithCode(errors.New(msg), sqlState(err))
	if detail = strings.TrimSpace(detail); detail != "" {
		out = psqlerr.WithDetail(out, detail)
	}
	return psqlerr.WithSeverity(out, psqlerr.LevelError)
}

// sqlState classifies an engine error: the query's own faults (introspect.QueryError) by
// DuckDB's error type and message, a cancelled or timed-out query as 57014, anything else as
// an internal error (XX000).
func sqlState(err error) codes.Code {
	var qe *introspect.QueryError
	if !errors.As(err, &qe) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return codes.QueryCanceled
		}
		return codes.Internal
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return codes.SyntaxErrorOrAccessRuleViolation
	}
	switch de.Type {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		return codes.Syntax
	case duckdb.ErrorTypeCatalog:
		if strings.Contains(de.Msg, "Function with name") {
			return codes.UndefinedFunction
		}
		return codes.UndefinedTable
	case duckdb.ErrorTypeBinder:
		switch {
		case strings.Contains(de.Msg, "Referenced column"), strings.Contains(de.Msg, "Referenced table"):
			return codes.UndefinedColumn
		case strings.Contains(de.Msg, "No function matches"):
			return codes.UndefinedFunction
		}
		return codes.SyntaxErrorOrAccessRuleViolation
	case duckdb.ErrorTypeConversion:
		return codes.InvalidTextRepresentation
	case duckdb.ErrorTypeOutOfRange:
		return codes.NumericValueOutOfRange
	case duckdb.ErrorTypeDivideByZero:
		return codes.DivisionByZero
	case duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType:
		return codes.DatatypeMismatch
	case duckdb.ErrorTypeInvalidInput:
		return codes.InvalidParameterValue
	case duckdb.ErrorTypeNotImplemented:
		return codes.FeatureNotSupported
	case duckdb.ErrorTypePermission:
		return codes.InsufficientPrivilege
	}
	return codes.SyntaxErrorOrAccessRuleViolation
}

// protocolError is a fault of the client's messages (parameters that do not fit the statement),
// 08P01.
func protocolError(err error) error {
	return psqlerr.WithSeverity(psqlerr.WithCode(err, codes.ProtocolViolation), psqlerr.LevelError)
}
