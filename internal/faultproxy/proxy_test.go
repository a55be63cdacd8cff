package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/internal/faultproxy"
)

// guard bounds every read a test makes, so that a proxy that fails to drop a connection fails the
// test instead of hanging it. It is not a claim about speed.
const guard = 10 * time.Second

// echoServer is a real TCP server that writes back what it reads and counts what it sees.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int64  // connections accepted
	received atomic.Int64  // bytes read, over all connections
	ended    chan struct{} // one send per connection whose read ended (EOF or error)
	wg       sync.WaitGroup
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln, ended: make(chan struct{}, 100)}
	e.wg.Add(1)
	go e.serve()
	t.Cleanup(func() {
		ln.Close()
		e.wg.Wait()
	})
	return e
}

func (e *echoServer) serve() {
	defer e.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.accepted.Add(1)
		conns.Go(func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				e.received.Add(int64(n))
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						err = werr
					}
				}
				if err != nil {
					e.ended <- struct{}{}
					return
				}
			}
		})
	}
}

// waitEnded waits until the server has seen one more connection end.
func (e *echoServer) waitEnded(t *testing.T, what string) {
	t.Helper()
	select {
	case <-e.ended:
	case <-time.After(guard):
		t.Fatalf("%s: the server's end of the connection is still open after %v", what, guard)
	}
}

func startProxy(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg over c and fails unless exactly msg comes back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		errc <- err
	}()
	c.SetReadDeadline(time.Now().Add(guard))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read the echo of %d bytes: %v", len(msg), err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write %d bytes: %v", len(msg), err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo differs from the %d bytes sent", len(msg))
	}
}

// expectClosed fails unless c's next read ends the connection without any byte.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(guard))
	n, err := c.Read(make([]byte, 64))
	var ne net.Error
	if n > 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("%s: read %d bytes, error %v; want the connection closed with nothing read", what, n, err)
	}
}

// waitStats waits until the proxy's stats satisfy ok: a dialed connection is judged only once the
// proxy accepts it, after the client's dial has returned.
func waitStats(t *testing.T, p *faultproxy.Proxy, ok func(faultproxy.Stats) bool) {
	t.Helper()
	for start := time.Now(); !ok(p.Stats()); time.Sleep(time.Millisecond) {
		if time.Since(start) > guard {
			t.Fatalf("stats still %+v after %v", p.Stats(), guard)
		}
	}
}

// TestForward: bytes pass through the proxy both ways unchanged, whatever their size.
func TestForward(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"one byte", 1},
		{"one chunk", 1000},
		{"many chunks", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEcho(t)
			p := startProxy(t, e.ln.Addr().String())
			msg := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			c := dial(t, p.Addr())
			roundTrip(t, c, msg)
			roundTrip(t, c, msg)
			if got := e.accepted.Load(); got != 1 {
				t.Errorf("server accepted %d connections, want 1", got)
			}
			if got := e.received.Load(); got != int64(2*tc.size) {
				t.Errorf("server received %d bytes, want %d", got, 2*tc.size)
			}
		})
	}
}

// TestFaults: Cut and Refuse each drop the open connection at both ends; while in force, a new
// connection reaches nothing (a Cut holds it and Heal closes it, a Refuse closes it at once) and
// what its client sends never arrives; after Heal new connections pass again.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*faultproxy.Proxy)
		held  bool // new connections are held open until Heal (Cut), not closed at once (Refuse)
	}{
		{"cut", (*faultproxy.Proxy).Cut, true},
		{"refuse", (*faultproxy.Proxy).Refuse, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEcho(t)
			p := startProxy(t, e.ln.Addr().String())
			open := dial(t, p.Addr())
			roundTrip(t, open, []byte("before"))

			tc.fault(p)
			expectClosed(t, open, "open connection after the fault")
			e.waitEnded(t, "open connection after the fault")

			during := dial(t, p.Addr())
			if _, err := during.Write([]byte("lost")); err != nil && tc.held {
				t.Fatalf("write to a held connection: %v", err)
			}
			if !tc.held {
				expectClosed(t, during, "new connection during the fault")
			}
			waitStats(t, p, func(s faultproxy.Stats) bool { return s.Held+s.Refused == 1 })
			p.Heal()
			if tc.held {
				expectClosed(t, during, "connection held by the cut, after Heal")
			}

			after := dial(t, p.Addr())
			roundTrip(t, after, []byte("after"))
			want := faultproxy.Stats{Forwarded: 2, Held: 1, Dropped: 2}
			if !tc.held {
				want = faultproxy.Stats{Forwarded: 2, Refused: 1, Dropped: 1}
			}
			if got := p.Stats(); got != want {
				t.Errorf("stats %+v, want %+v", got, want)
			}
			if got, want := e.accepted.Load(), int64(2); got != want {
				t.Errorf("server accepted %d connections, want %d (before and after the fault only)", got, want)
			}
			if got, want := e.received.Load(), int64(len("before")+len("after")); got != want {
				t.Errorf("server received %d bytes, want %d: bytes sent during the fault arrived", got, want)
			}
		})
	}
}

// TestCutBothWays: after a Cut, neither end of an open connection gets what the other sends:
// the server's reply to a message sent just before the cut is not delivered after it.
func TestCutBothWays(t *testing.T) {
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := startProxy(t, srv.Addr().String())
	client := dial(t, p.Addr())
	server, err := srv.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	p.Cut()
	if _, err := client.Write([]byte("to server")); err != nil {
		t.Logf("client write after the cut: %v", err)
	}
	if _, err := server.Write([]byte("to client")); err != nil {
		t.Logf("server write after the cut: %v", err)
	}
	expectClosed(t, client, "client end after the cut")
	expectClosed(t, server, "server end after the cut")
}

// TestDelay: with a delay set, each chunk is held for at least that long each way, so a round
// trip takes at least twice the delay; Delay(0) ends it on the same connection.
func TestDelay(t *testing.T) {
	e := startEcho(t)
	p := startProxy(t, e.ln.Addr().String())
	c := dial(t, p.Addr())
	const d = 100 * time.Millisecond
	p.Delay(d)
	start := time.Now()
	roundTrip(t, c, []byte("slow"))
	if took := time.Since(start); took < 2*d {
		t.Errorf("round trip with a %v delay took %v, want at least %v", d, took, 2*d)
	}
	p.Delay(0)
	roundTrip(t, c, []byte("fast"))
}

// TestClose: Close drops open connections, stops listening and returns once its goroutines are
// done; a dropped connection's server end is closed too.
func TestClose(t *testing.T) {
	e := startEcho(t)
	p, err := faultproxy.Start(e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("hi"))
	p.Cut()
	held := dial(t, p.Addr())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c, "open connection after Close")
	expectClosed(t, held, "held connection after Close")
	e.waitEnded(t, "open connection after Close")
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Errorf("dial %s after Close succeeded, want refused", p.Addr())
	}
}
