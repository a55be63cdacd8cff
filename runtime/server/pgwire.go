package server

import (
	"log/slog"

	"github.com/resolute-run/resolute/runtime/pgwire"
)

// listenPg serves the introspection SQL on Config.PgAddr over the PostgreSQL wire protocol
// (runtime/pgwire), off when PgAddr is empty. With admin tokens a client gives one as its
// password. It runs after the admin handler has started the engine; if the engine did not
// start, the port stays closed, as POST /query answers 503.
func (s *Server) listenPg() error {
	if s.cfg.PgAddr == "" {
		return nil
	}
	if s.querier() == nil {
		slog.Error("introspection: SQL engine not started; the PostgreSQL wire port is not opened", "addr", s.cfg.PgAddr)
		return nil
	}
	pg, err := pgwire.Listen(s.cfg.PgAddr, s.query, pgwire.Config{Passwords: s.cfg.AdminTokens})
	if err != nil {
		return err
	}
	s.pg = pg
	slog.Info("introspection SQL on the PostgreSQL wire", "addr", pg.Addr().String())
	return nil
}

// closePg closes the PostgreSQL wire server: its connections end and its running queries stop.
func (s *Server) closePg() {
	if s.pg != nil {
		s.pg.Close()
	}
}

// PgAddr is the address of the PostgreSQL wire port (host:port), "" when it is off.
func (s *Server) PgAddr() string {
	if s.pg == nil {
		return ""
	}
	return s.pg.Addr().String()
}
