package server

import (
	"fmt"
	"net/http"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/bearer"
	"github.com/resolute-run/resolute/runtime/console"
	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/transport"
)

// Realms named in the WWW-Authenticate challenges.
const (
	IngressRealm = "resolute-ingress"
	AdminRealm   = "resolute-admin"
)

// guardIngress puts the ingress behind cfg.IngressTokens, if any; /restate/health stays open.
func (s *Server) guardIngress(h http.Handler) (http.Handler, error) {
	return guard(h, IngressRealm, s.cfg.IngressTokens, ingress.WriteUnauthorized, "/restate/health")
}

// guardAdmin puts the admin API behind cfg.AdminTokens, if any; /health and the console's
// files (which hold no data: its pages send the token with their API requests) stay open.
func (s *Server) guardAdmin(h http.Handler) (http.Handler, error) {
	return guard(h, AdminRealm, s.cfg.AdminTokens, admin.WriteUnauthorized, append([]string{"/health"}, console.Paths()...)...)
}

func guard(h http.Handler, realm string, tokens []string, deny bearer.DenyFunc, open ...string) (http.Handler, error) {
	if len(tokens) == 0 {
		return h, nil
	}
	g, err := bearer.New(realm, tokens, open...)
	if err != nil {
		return nil, fmt.Errorf("server: %s tokens: %w", realm, err)
	}
	return g.Wrap(h, deny), nil
}

// maybeSignRequests makes s.client sign every request to a deployment (discovery, from the
// admin API too, and invocation attempts) when cfg.RequestIdentityKeyFile is set.
func (s *Server) maybeSignRequests() error {
	if s.cfg.RequestIdentityKeyFile == "" {
		return nil
	}
	key, err := identity.LoadSigningKey(s.cfg.RequestIdentityKeyFile)
	if err != nil {
		return fmt.Errorf("server: request identity: %w", err)
	}
	s.client.Transport = &identity.Transport{Next: s.client.Transport, Key: key}
	return nil
}

// http11Client is s.client (signing, in-process deployments) over HTTP/1.1, for discovery of
// deployments registered with use_http_11.
func (s *Server) http11Client() *http.Client {
	c := *s.client
	next := s.client.Transport
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return next.RoundTrip(r.WithContext(transport.WithHTTP11(r.Context())))
	})
	return &c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
