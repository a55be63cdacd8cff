package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// ErrUnknownHandler is returned when an inproc:// URI names no registered handler.
var ErrUnknownHandler = errors.New("transport: no in-process handler registered")

// ErrClosed is returned by an InProcess registry after Close.
var ErrClosed = errors.New("transport: in-process registry closed")

// InProcess is a registry of http.Handlers reachable as inproc://name/ over in-memory HTTP/2
// connections. Each dial creates a net.Pipe; the server end is served by http2.Server.ServeConn
// in a goroutine the registry tracks. Handlers see ordinary HTTP/2 requests (r.ProtoMajor == 2,
// r.Host == name), so a handler written for h2c, such as an SDK endpoint, runs unchanged.
//
// Invariants: every serving goroutine is counted in wg and its connection is in mu.conns until it
// returns; after Close no new connection is dialled.
type InProcess struct {
	srv *http2.Server
	tr  *http2.Transport
	wg  sync.WaitGroup

	mu struct {
		sync.Mutex
		handlers map[string]http.Handler
		conns    map[net.Conn]string // server end → handler name
		closed   bool
	}
}

// NewInProcess returns an empty registry.
func NewInProcess() *InProcess {
	p := &InProcess{srv: &http2.Server{}}
	p.mu.handlers = make(map[string]http.Handler)
	p.mu.conns = make(map[net.Conn]string)
	p.tr = &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, _, addr string, _ *tls.Config) (net.Conn, error) {
			return p.dial(addr)
		},
	}
	return p
}

// Register makes inproc://name/ reach h. Registering a name again replaces the handler for new
// connections; connections already open keep the old one until Unregister or Close.
func (p *InProcess) Register(name string, h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.handlers[name] = h
}

// Unregister removes name and closes its open connections.
func (p *InProcess) Unregister(name string) {
	p.mu.Lock()
	delete(p.mu.handlers, name)
	var doomed []net.Conn
	for c, n := range p.mu.conns {
		if n == name {
			doomed = append(doomed, c)
		}
	}
	p.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
	p.tr.CloseIdleConnections()
}

// RoundTrip sends req (an inproc:// URI) to the registered handler. It implements
// http.RoundTripper, so the registry can also be used on its own as an http.Client's Transport.
func (p *InProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != SchemeInProcess {
		closeBody(req)
		return nil, fmt.Errorf("%w %q: in-process transport serves %s:// only", ErrUnsupportedScheme, req.URL.Scheme, SchemeInProcess)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme = "http" // the HTTP/2 transport speaks cleartext HTTP/2 over our pipe
	return p.tr.RoundTrip(r)
}

// Close stops serving every connection and waits for the serving goroutines.
func (p *InProcess) Close() error {
	p.mu.Lock()
	p.mu.closed = true
	conns := make([]net.Conn, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	p.tr.CloseIdleConnections()
	p.wg.Wait()
	return nil
}

func (p *InProcess) dial(addr string) (net.Conn, error) {
	name, _, err := net.SplitHostPort(addr)
	if err != nil {
		name = addr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		return nil, ErrClosed
	}
	h, ok := p.mu.handlers[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHandler, name)
	}
	client, server := net.Pipe()
	p.mu.conns[server] = name
	p.wg.Add(1)
	go p.serve(server, h)
	return client, nil
}

func (p *InProcess) serve(c net.Conn, h http.Handler) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.mu.conns, c)
		p.mu.Unlock()
		c.Close()
	}()
	p.srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
}
