// Package bearer guards an HTTP API with static bearer tokens (Authorization: Bearer <token>).
//
// Several tokens may be valid at once, so a token can be rotated: add the new one, move the
// clients over, remove the old one. A request with no valid token is answered 401 with a
// WWW-Authenticate challenge (RFC 6750) by the API's own error writer and never reaches the API,
// so a refused ingress request proposes nothing to the log. The API's health paths (admin
// /health, ingress /restate/health) stay open. Tokens are
// compared in constant time: the time taken does not depend on how much of a token matched,
// nor on which configured token did. An accepted request reaches the API without its
// Authorization header, so the token is never stored with an invocation.
//
// A Guard is immutable after New and safe for concurrent use.
package bearer

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Messages of the 401 answers.
const (
	MsgMissing = "missing bearer token"
	MsgInvalid = "invalid bearer token"
)

// ErrNoTokens is returned by New for an empty token list.
var ErrNoTokens = errors.New("bearer: no tokens")

// DenyFunc writes a 401 answer with msg in the API's error shape; the guard has already set
// WWW-Authenticate.
type DenyFunc func(w http.ResponseWriter, msg string)

// Guard checks requests against a set of tokens.
type Guard struct {
	realm  string
	open   map[string]bool     // paths served without a token
	hashes [][sha256.Size]byte // of the valid tokens; equal lengths, so comparing leaks no length
}

// New returns a guard accepting any of tokens, and no token on the open paths; realm names the
// API in the challenge. Empty tokens are refused: an empty token would let anyone in.
func New(realm string, tokens []string, open ...string) (*Guard, error) {
	if len(tokens) == 0 {
		return nil, ErrNoTokens
	}
	g := &Guard{realm: realm, open: map[string]bool{}}
	for _, p := range open {
		g.open[p] = true
	}
	for i, tok := range tokens {
		if strings.TrimSpace(tok) == "" {
			return nil, fmt.Errorf("bearer: token %d of realm %s is empty", i+1, realm)
		}
		g.hashes = append(g.hashes, sha256.Sum256([]byte(tok)))
	}
	return g, nil
}

// Wrap serves next to requests with a valid token or to an open path, and answers the others
// with deny.
func (g *Guard) Wrap(next http.Handler, deny DenyFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.open[r.URL.Path] && r.URL.RawPath == "" { // spelled plainly, not percent-encoded

			next.ServeHTTP(w, r)
			return
		}
		tok, ok := token(r)
		switch {
		case !ok:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", g.realm))
			deny(w, MsgMissing)
		case !g.valid(tok):
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", g.realm))
			deny(w, MsgInvalid)
		default:
			// The credential is the guard's: the API must not keep it (the ingress forwards
			// request headers into the invocation, hence into the log and to the deployment).
			r = r.Clone(r.Context())
			r.Header.Del("Authorization")
			next.ServeHTTP(w, r)
		}
	})
}

// token is the credential of an "Authorization: Bearer <token>" header (scheme case-insensitive).
func token(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// valid compares tok with every token, without stopping at a match.
func (g *Guard) valid(tok string) bool {
	h := sha256.Sum256([]byte(tok))
	match := 0
	for i := range g.hashes {
		match |= subtle.ConstantTimeCompare(h[:], g.hashes[i][:])
	}
	return match == 1
}
