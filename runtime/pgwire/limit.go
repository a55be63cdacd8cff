package pgwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// limitListener hands out at most max connections at once and keeps them so Close can end
// them (psql-wire leaves idle connections open when it closes). A connection above the bound
// is answered, by a goroutine of its own tracked in wg, as PostgreSQL answers one above
// max_connections: its startup message is read and a FATAL ErrorResponse 53300 is sent.
type limitListener struct {
	net.Listener
	max      int
	wg       *sync.WaitGroup
	sessions *sessions // a closed connection's key is dropped; a refused cancel request is served
	mu       struct {
		sync.Mutex
		conns map[*limitedConn]struct{}
	}
}

func newLimitListener(ln net.Listener, max int, wg *sync.WaitGroup, sessions *sessions) *limitListener {
	l := &limitListener{Listener: ln, max: max, wg: wg, sessions: sessions}
	l.mu.conns = map[*limitedConn]struct{}{}
	return l
}

func (l *limitListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !transient(err) {
				return nil, err
			}
			// psql-wire stops serving at any Accept error; ride out running short of file
			// descriptors as net/http does, waiting longer each time (up to a second).
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
		l.wg.Go(func() { l.refuse(c) })
	}
}

// transient reports whether an Accept error passes: out of file descriptors or memory, or a
// connection aborted before it was accepted.
func transient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// admit registers c if there is room for it.
func (l *limitListener) admit(c net.Conn) *limitedConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mu.conns) >= l.max {
		return nil
	}
	lc := &limitedConn{Conn: c, l: l}
	l.mu.conns[lc] = struct{}{}
	return lc
}

func (l *limitListener) release(c *limitedConn) {
	l.mu.Lock()
	delete(l.mu.conns, c)
	l.mu.Unlock()
	l.sessions.drop(c.RemoteAddr().String())
}

// closeConns closes every connection handed out.
func (l *limitListener) closeConns() {
	l.mu.Lock()
	conns := make([]*limitedConn, 0, len(l.mu.conns))
	for c := range l.mu.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

// Write passes b on, except psql-wire's ParameterStatus server_version = "150000": it reports
// its major version in PostgreSQL's numeric form, which libpq reads as major version 150000
// (interactive psql warns of it). The server reports serverVersion instead. Each message of
// the startup reaches Write on its own, so the whole message is matched.
func (c *limitedConn) Write(b []byte) (int, error) {
	if bytes.Equal(b, psqlWireVersion) {
		if _, err := c.Conn.Write(ourVersion); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

var (
	psqlWireVersion = parameterStatus("server_version", "150000")
	ourVersion      = parameterStatus("server_version", serverVersion)
)

// parameterStatus is the ParameterStatus message reporting key = value.
func parameterStatus(key, value string) []byte {
	body := append(append(append([]byte(key), 0), value...), 0)
	out := []byte{'S', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(body)+4))
	return append(out, body...)
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// Startup request codes (the protocol's "version" field).
const (
	sslRequest    = 80877103
	gssEncRequest = 80877104
	cancelRequest = 80877102
)

// refuse reads c's startup message (declining SSL and GSS encryption first, as a server
// without them does) and answers it with FATAL 53300. A cancel request is served (a full
// server is when one is needed) and answered with nothing, as PostgreSQL answers it.
func (l *limitListener) refuse(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second)) // a client sends its startup at once
	for range 3 {
		code, body, err := readStartup(c)
		if err != nil {
			return
		}
		if code == cancelRequest {
			if len(body) == 8 {
				l.sessions.cancel(int32(binary.BigEndian.Uint32(body)), int32(binary.BigEndian.Uint32(body[4:])))
			}
			return
		}
		if code != sslRequest && code != gssEncRequest {
			break
		}
		if _, err := c.Write([]byte{'N'}); err != nil {
			return
		}
	}
	c.Write(errorResponse("FATAL", "53300", fmt.Sprintf("sorry, too many clients already (this server takes %d connections)", l.max)))
}

// readStartup reads one startup-phase message (Int32 length, Int32 code, the rest) and returns
// its code and the rest.
func readStartup(r io.Reader) (uint32, []byte, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n < 8 || n > 10000 {
		return 0, nil, fmt.Errorf("startup message of %d bytes", n)
	}
	body := make([]byte, n-8)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return binary.BigEndian.Uint32(head[4:]), body, nil
}

// errorResponse is an ErrorResponse message with severity, SQLSTATE and message.
func errorResponse(severity, code, msg string) []byte {
	var body []byte
	for _, f := range []struct {
		tag byte
		val string
	}{{'S', severity}, {'V', severity}, {'C', code}, {'M', msg}} {
		body = append(body, f.tag)
		body = append(body, f.val...)
		body = append(body, 0)
	}
	body = append(body, 0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(body)+4))
	return append(out, body...)
}
