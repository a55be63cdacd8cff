package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"sync"

	wire "github.com/jeroenrinzema/psql-wire"
)

// sessions lets a CancelRequest stop a connection's running query, as PostgreSQL's does: each
// connection gets a process id and a secret key (BackendKeyData), and a cancel request, sent
// on a connection of its own, names both. psql sends one on Ctrl-C, pgx when a query's context
// ends. psql-wire asks for the key before the session's context exists, so a connection is
// found by its remote address until the session middleware puts it in the context.
type sessions struct {
	mu struct {
		sync.Mutex
		next   int32
		byPID  map[int32]*session
		byAddr map[string]*session
	}
}

// session is a connection's key and the cancel function of its running query.
type session struct {
	pid, secret int32
	addr        string
	mu          struct {
		sync.Mutex
		cancel context.CancelFunc // nil between queries
	}
}

func newSessions() *sessions {
	s := &sessions{}
	s.mu.byPID = map[int32]*session{}
	s.mu.byAddr = map[string]*session{}
	return s
}

// key registers the connection of ctx and returns its BackendKeyData.
func (s *sessions) key(ctx context.Context) (pid, secret int32) {
	var b [4]byte
	rand.Read(b[:])
	sess := &session{secret: int32(binary.BigEndian.Uint32(b[:]))}
	if a := wire.RemoteAddress(ctx); a != nil {
		sess.addr = a.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.next++
	sess.pid = s.mu.next
	s.mu.byPID[sess.pid] = sess
	s.mu.byAddr[sess.addr] = sess
	return sess.pid, sess.secret
}

type sessionKey struct{}

// attach puts the connection's session in its context (psql-wire's session middleware).
func (s *sessions) attach(ctx context.Context) (context.Context, error) {
	a := wire.RemoteAddress(ctx)
	if a == nil {
		return ctx, nil
	}
	s.mu.Lock()
	sess := s.mu.byAddr[a.String()]
	s.mu.Unlock()
	if sess == nil {
		return ctx, nil
	}
	return context.WithValue(ctx, sessionKey{}, sess), nil
}

// drop forgets the connection from addr (it closed).
func (s *sessions) drop(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.mu.byAddr[addr]; sess != nil {
		delete(s.mu.byAddr, addr)
		delete(s.mu.byPID, sess.pid)
	}
}

// cancel stops the running query of the connection with pid, if secret is its key. Like
// PostgreSQL it tells the requester nothing either way.
func (s *sessions) cancel(pid, secret int32) {
	s.mu.Lock()
	sess := s.mu.byPID[pid]
	s.mu.Unlock()
	if sess == nil || subtle.ConstantTimeEq(sess.secret, secret) != 1 {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.mu.cancel != nil {
		sess.mu.cancel()
	}
}

// running records cancel as the running query's of the connection of ctx, until done is called.
func running(ctx context.Context, cancel context.CancelFunc) (done func()) {
	sess, _ := ctx.Value(sessionKey{}).(*session)
	if sess == nil {
		return func() {}
	}
	sess.mu.Lock()
	sess.mu.cancel = cancel
	sess.mu.Unlock()
	return func() {
		sess.mu.Lock()
		sess.mu.cancel = nil
		sess.mu.Unlock()
	}
}
