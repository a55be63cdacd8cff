package identity

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Header names and values of scheme v1.
const (
	SchemeHeader   = "x-restate-signature-scheme"
	JWTHeader      = "x-restate-jwt-v1"
	SchemeV1       = "v1"
	SchemeUnsigned = "unsigned"
)

// DefaultLeeway is restate-server's default request identity expiration: a token is valid from
// leeway before its issue to leeway after.
const DefaultLeeway = 60 * time.Second

// ErrUnauthorized is wrapped by every verification failure.
var ErrUnauthorized = errors.New("identity: request not signed by a known key")

var b64 = base64.RawURLEncoding

type jwtHeader struct {
	Typ string `json:"typ,omitempty"`
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
}

type claims struct {
	Aud audience `json:"aud"`
	Exp *int64   `json:"exp,omitempty"`
	Iat *int64   `json:"iat,omitempty"`
	Nbf *int64   `json:"nbf,omitempty"`
	Sub string   `json:"sub,omitempty"`
}

// audience is the JWT aud claim: one string, or (as RFC 7519 allows) an array of them.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// Sign returns the JWT for a request to path (sub: the object key, or empty), valid for leeway
// either side of now.
func (k *SigningKey) Sign(path, sub string, now time.Time, leeway time.Duration) string {
	h, _ := json.Marshal(jwtHeader{Typ: "JWT", Alg: "EdDSA", Kid: k.kid})
	t, l := now.Unix(), int64(leeway/time.Second)
	nbf, exp := t-l, t+l
	c, _ := json.Marshal(claims{Aud: audience{path}, Exp: &exp, Iat: &t, Nbf: &nbf, Sub: sub})
	signed := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return signed + "." + b64.EncodeToString(ed25519.Sign(k.priv, []byte(signed)))
}

// SetHeaders signs a request to path into h.
func (k *SigningKey) SetHeaders(h http.Header, path, sub string, now time.Time) {
	h.Set(SchemeHeader, SchemeV1)
	h.Set(JWTHeader, k.Sign(path, sub, now, DefaultLeeway))
}

// Verify checks that h carries a v1 identity for a request to path, signed by a key of keys and
// valid at now, as sdk-go's ValidateRequestIdentity does. Errors wrap ErrUnauthorized.
func Verify(keys KeySet, path string, h http.Header, now time.Time) error {
	if err := verify(keys, path, h, now); err != nil {
		return fmt.Errorf("%w: %s", ErrUnauthorized, err)
	}
	return nil
}

func verify(keys KeySet, path string, h http.Header, now time.Time) error {
	switch scheme := h.Values(SchemeHeader); {
	case len(scheme) == 0 || len(scheme) == 1 && scheme[0] == SchemeUnsigned:
		return errors.New("the request has no identity")
	case len(scheme) > 1:
		return fmt.Errorf("%d %s headers", len(scheme), SchemeHeader)
	case scheme[0] != SchemeV1:
		return fmt.Errorf("unexpected signature scheme %q, allowed values are [%s %s]", scheme[0], SchemeUnsigned, SchemeV1)
	}
	tokens := h.Values(JWTHeader)
	if len(tokens) != 1 {
		return fmt.Errorf("scheme v1 expects one %s header, found %d", JWTHeader, len(tokens))
	}
	c, err := verifyJWT(keys, tokens[0])
	if err != nil {
		return err
	}
	return checkClaims(c, path, now)
}

// verifyJWT checks the token's header and signature and returns its claims.
func verifyJWT(keys KeySet, token string) (claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, errors.New("malformed JWT")
	}
	var hdr jwtHeader
	if err := decodePart(parts[0], &hdr); err != nil {
		return claims{}, fmt.Errorf("JWT header: %w", err)
	}
	if hdr.Alg != "EdDSA" {
		return claims{}, fmt.Errorf("unexpected signing method %q", hdr.Alg)
	}
	pub, ok := keys[hdr.Kid]
	if !ok {
		return claims{}, fmt.Errorf("key id %q is not in the key set", hdr.Kid)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return claims{}, errors.New("bad JWT signature")
	}
	var c claims
	if err := decodePart(parts[1], &c); err != nil {
		return claims{}, fmt.Errorf("JWT claims: %w", err)
	}
	return c, nil
}

func decodePart(part string, v any) error {
	b, err := b64.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// checkClaims requires aud to hold path and now to lie in [nbf, exp], both present.
func checkClaims(c claims, path string, now time.Time) error {
	found := false
	for _, a := range c.Aud {
		found = found || a == path
	}
	switch t := now.Unix(); {
	case !found:
		return fmt.Errorf("audience %q does not name the request path %q", []string(c.Aud), path)
	case c.Exp == nil:
		return errors.New("the JWT has no exp claim")
	case c.Nbf == nil:
		return errors.New("the JWT has no nbf claim")
	case t > *c.Exp:
		return errors.New("the JWT has expired")
	case t < *c.Nbf:
		return errors.New("the JWT is not valid yet")
	}
	return nil
}
