package server

import (
	"fmt"
	"net/http"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/bearer"
	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/ingress"
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

// guardAdmin puts the admin API behind cfg.AdminTokens, if any; /health stays open.
func (s *Server) guardAdmin(h http.Handler) (http.Handler, error) {
	return guard(h, AdminRealm, s.cfg.AdminTokens, admin.WriteUnauthorized, "/health")
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
