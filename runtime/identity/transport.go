package identity

import (
	"net/http"
	"net/url"
	"time"
)

// serviceKeyHeader carries the Virtual Object key (URL-encoded) on invocation requests; the
// signature's sub claim holds the key itself, as restate-server signs it.
const serviceKeyHeader = "X-Restate-Service-Key"

// Transport signs every request with key before next sends it.
type Transport struct {
	Next http.RoundTripper
	Key  *SigningKey
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper. The request is cloned, never modified.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	r := req.Clone(req.Context())
	sub := ""
	if k := req.Header.Get(serviceKeyHeader); k != "" {
		if dec, err := url.PathUnescape(k); err == nil {
			sub = dec
		}
	}
	t.Key.SetHeaders(r.Header, req.URL.EscapedPath(), sub, now())
	return t.Next.RoundTrip(r)
}

// CloseIdleConnections forwards to Next when it has the method (http.Client calls it).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.Next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
