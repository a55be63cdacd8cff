package pgwire

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	wire "github.com/jeroenrinzema/psql-wire"
	"github.com/jeroenrinzema/psql-wire/codes"
	psqlerr "github.com/jeroenrinzema/psql-wire/errors"

	"github.com/resolute-run/resolute/runtime/introspect"
)

// Querier runs SQL over the runtime's tables (*introspect.Engine).
type Querier interface {
	Query(ctx context.Context, q string) (*introspect.Result, error)
}

// Describer, when a Querier has it, tells a statement's columns without reading the tables;
// without it a statement prepared through the extended protocol is run once (its parameters
// NULL) to learn them.
type Describer interface {
	Describe(ctx context.Context, q string) ([]introspect.ResultColumn, error)
}

// Config tunes the server.
type Config struct {
	// MaxConns bounds the open connections (DefaultMaxConns if 0); one more is refused with
	// SQLSTATE 53300, as PostgreSQL refuses one above max_connections.
	MaxConns int
	// Passwords, when not empty, are the passwords a client must give (any user name): the
	// admin API's bearer tokens, so the port guards the same data the API does. A wrong one is
	// refused with SQLSTATE 28P01. The password travels in clear text, as the tokens do over
	// plain HTTP.
	Passwords []string
	// Logger receives psql-wire's warnings and errors (slog.Default() if nil).
	Logger *slog.Logger
}

// DefaultMaxConns is the default bound on open connections.
const DefaultMaxConns = 16

// Server serves SQL over the PostgreSQL wire protocol.
type Server struct {
	q        Querier
	wire     *wire.Server
	ln       *limitListener
	sessions *sessions
	ctx      context.Context // ends at Close: running queries stop
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Listen starts serving on addr ("127.0.0.1:0" picks a free port).
func Listen(addr string, q Querier, cfg Config) (*Server, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pgwire: listen on %s: %w", addr, err)
	}
	s := &Server{q: q, sessions: newSessions()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ln = newLimitListener(ln, cfg.MaxConns, &s.wg, s.sessions)
	opts := []wire.OptionFn{
		wire.Logger(slog.New(warnings{logger.Handler()})),
		wire.GlobalParameters(parameters),
		wire.Version(serverVersion),
		wire.BackendKeyData(s.sessions.key),
		wire.SessionMiddleware(s.sessions.attach),
		wire.CancelRequest(func(_ context.Context, pid, secret int32) error {
			s.sessions.cancel(pid, secret)
			return nil
		}),
	}
	if len(cfg.Passwords) > 0 {
		opts = append(opts, wire.SessionAuthStrategy(wire.ClearTextPassword(passwordIn(cfg.Passwords))))
	}
	s.wire, err = wire.NewServer(s.parse, opts...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("pgwire: %w", err)
	}
	s.wg.Go(func() {
		if err := s.wire.Serve(s.ln); err != nil && !errors.Is(err, net.ErrClosed) {
			logger.Error("pgwire: serving stopped", "addr", ln.Addr(), "err", err)
		}
	})
	return s, nil
}

// serverVersion is the PostgreSQL version the server reports (limitedConn.Write puts it in
// place of psql-wire's).
const serverVersion = "15.0"

// parameters are the ParameterStatus values sent at connection start, as a PostgreSQL 15
// server in UTC with default settings sends them. pgx refuses the simple protocol without
// standard_conforming_strings=on.
var parameters = wire.Parameters{
	"standard_conforming_strings": "on",
	"DateStyle":                   "ISO, MDY",
	"IntervalStyle":               "postgres",
	"TimeZone":                    "UTC",
	"integer_datetimes":           "on",
	"application_name":            "",
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting connections, ends the running queries, closes every connection and
// waits for their goroutines.
func (s *Server) Close() error {
	s.cancel()
	err := s.wire.Close() // closes the listener, waits for the accept loop and running commands
	s.ln.Close()          // in case Serve had not started yet
	s.ln.closeConns()
	s.wire.Wait()
	s.wg.Wait()
	return err
}

// query runs q on the engine, its context ending at a cancel request for its connection or at
// Close.
func (s *Server) query(ctx context.Context, q string) (*introspect.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	defer running(ctx, cancel)()
	res, err := s.q.Query(ctx, q)
	switch {
	case err == nil:
		return res, nil
	case s.ctx.Err() != nil:
		return nil, psqlerr.WithSeverity(psqlerr.WithCode(errors.New("terminating connection due to administrator command: the server is shutting down"), codes.AdminShutdown), psqlerr.LevelFatal)
	case ctx.Err() != nil:
		return nil, psqlerr.WithSeverity(psqlerr.WithCode(errors.New("canceling statement due to user request"), codes.QueryCanceled), psqlerr.LevelError)
	}
	return nil, queryError(err)
}

// warnings passes on psql-wire's log records of level warning and above (it logs every
// connection at info).
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }

// passwordIn accepts a password equal to one of passwords (compared in constant time).
func passwordIn(passwords []string) func(ctx context.Context, _, _, password string) (context.Context, bool, error) {
	return func(ctx context.Context, _, _, password string) (context.Context, bool, error) {
		ok := false
		for _, p := range passwords {
			if subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1 {
				ok = true
			}
		}
		return ctx, ok, nil
	}
}
