package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// ErrUnsupportedScheme is returned for URIs whose scheme no transport serves.
var ErrUnsupportedScheme = errors.New("transport: unsupported scheme")

// SchemeInProcess is the URI scheme of deployments served by an InProcess registry.
const SchemeInProcess = "inproc"

// Config tunes the client. The zero value is usable.
type Config struct {
	// DialTimeout bounds TCP (and TLS) connection setup. Default 10s.
	DialTimeout time.Duration
	// ReadIdleTimeout: an HTTP/2 connection silent for this long is health-checked with a PING.
	// Default 30s; negative disables the health check.
	ReadIdleTimeout time.Duration
	// PingTimeout closes a connection whose health-check PING got no answer in time. Default 15s.
	PingTimeout time.Duration
	// TLSConfig is used for https:// deployments (nil: system defaults).
	TLSConfig *tls.Config
	// InProcess serves inproc:// URIs; nil means inproc:// fails with ErrUnsupportedScheme.
	InProcess *InProcess
}

func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.ReadIdleTimeout == 0 {
		c.ReadIdleTimeout = 30 * time.Second
	}
	if c.ReadIdleTimeout < 0 {
		c.ReadIdleTimeout = 0
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	return c
}

type http11Key struct{}

// WithHTTP11 marks requests made with ctx to use HTTP/1.1 instead of HTTP/2 (deployments
// registered with use_http_11). It has no effect on inproc:// URIs, which are always HTTP/2.
func WithHTTP11(ctx context.Context) context.Context {
	return context.WithValue(ctx, http11Key{}, true)
}

func wantsHTTP11(ctx context.Context) bool {
	v, _ := ctx.Value(http11Key{}).(bool)
	return v
}

// RoundTripper dispatches a request to the transport its URI scheme and context call for.
type RoundTripper struct {
	h2c    *http2.Transport // http:// over HTTP/2 prior knowledge
	h2tls  *http.Transport  // https:// with ALPN, HTTP/2 preferred
	h1     *http.Transport  // http:// and https:// over HTTP/1.1
	inproc *InProcess
}

// NewRoundTripper builds the transports described by cfg.
func NewRoundTripper(cfg Config) *RoundTripper {
	cfg = cfg.withDefaults()
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	h2c := &http2.Transport{
		AllowHTTP: true,
		// Prior knowledge: "TLS" dial that is plain TCP, so the client speaks HTTP/2 at once.
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		ReadIdleTimeout: cfg.ReadIdleTimeout,
		PingTimeout:     cfg.PingTimeout,
	}
	h1Protocols := new(http.Protocols)
	h1Protocols.SetHTTP1(true)
	h1 := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     cfg.TLSConfig,
		TLSHandshakeTimeout: cfg.DialTimeout,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           h1Protocols,
	}
	tlsProtocols := new(http.Protocols)
	tlsProtocols.SetHTTP1(true)
	tlsProtocols.SetHTTP2(true)
	h2tls := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     cfg.TLSConfig,
		TLSHandshakeTimeout: cfg.DialTimeout,
		ForceAttemptHTTP2:   true,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           tlsProtocols,
	}
	return &RoundTripper{h2c: h2c, h2tls: h2tls, h1: h1, inproc: cfg.InProcess}
}

// NewClient returns an *http.Client over NewRoundTripper(cfg). It sets no overall timeout:
// invocation streams live as long as their handler runs; callers bound them with contexts.
func NewClient(cfg Config) *http.Client {
	return &http.Client{
		Transport: NewRoundTripper(cfg),
		// Deployments never redirect in the protocol; following one would replay a stream body.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RoundTrip implements http.RoundTripper.
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Scheme {
	case "http":
		if wantsHTTP11(req.Context()) {
			return rt.h1.RoundTrip(req)
		}
		return rt.h2c.RoundTrip(req)
	case "https":
		if wantsHTTP11(req.Context()) {
			return rt.h1.RoundTrip(req)
		}
		return rt.h2tls.RoundTrip(req)
	case SchemeInProcess:
		if rt.inproc != nil {
			return rt.inproc.RoundTrip(req)
		}
	}
	closeBody(req)
	return nil, fmt.Errorf("%w %q in %s", ErrUnsupportedScheme, req.URL.Scheme, req.URL.Redacted())
}

// CloseIdleConnections closes idle connections of every transport (not the InProcess registry's
// serving goroutines: close the registry for that).
func (rt *RoundTripper) CloseIdleConnections() {
	rt.h2c.CloseIdleConnections()
	rt.h2tls.CloseIdleConnections()
	rt.h1.CloseIdleConnections()
	if rt.inproc != nil {
		rt.inproc.tr.CloseIdleConnections()
	}
}

// closeBody honours the RoundTripper contract: the body is closed even on error.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
