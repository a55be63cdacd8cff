// Package discoverytest serves hand-written discovery manifests over h2c, and builds the h2c client
// that talks to them, for tests of discovery, registration and the admin API.
package discoverytest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/runtime/protocol"
)

// SDKVersion is the x-restate-server header the test endpoint answers with.
const SDKVersion = "resolute-test-sdk/0.0.1"

// Greeter is a small valid manifest: a service Greeter (greet) and an object Counter (add, get).
const Greeter = `{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[
{"name":"Greeter","ty":"SERVICE","handlers":[{"name":"greet","input":{"required":false,"contentType":"application/json"},"output":{"setContentTypeIfEmpty":false,"contentType":"application/json"}}]},
{"name":"Counter","ty":"VIRTUAL_OBJECT","handlers":[
 {"name":"add","ty":"EXCLUSIVE","input":{"required":true,"contentType":"application/json"},"output":{"contentType":"application/json"}},
 {"name":"get","ty":"SHARED","input":{"required":false},"output":{"contentType":"application/json"}}]}]}`

// H2CHandler wraps h so that it serves HTTP/2 with prior knowledge (as the SDKs do).
func H2CHandler(h http.Handler) http.Handler { return h2c.NewHandler(h, &http2.Server{}) }

// Server is an h2c endpoint answering GET …/discover with a fixed manifest.
type Server struct {
	*httptest.Server
	// Requests receives every discovery request (buffered; extra requests are dropped).
	Requests chan *http.Request
	manifest atomic.Value // string
}

// SetManifest changes the manifest served from now on.
func (s *Server) SetManifest(m string) { s.manifest.Store(m) }

// NewServer starts an endpoint serving manifest with contentType (ManifestV4 when empty) at any
// path ending in /discover, and 404 elsewhere. Close it when done.
func NewServer(manifest, contentType string) *Server {
	if contentType == "" {
		contentType = protocol.ManifestV4
	}
	s := &Server{Requests: make(chan *http.Request, 64)}
	s.SetManifest(manifest)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.Requests <- r.Clone(context.Background()):
		default:
		}
		if len(r.URL.Path) < len("/discover") || r.URL.Path[len(r.URL.Path)-len("/discover"):] != "/discover" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("x-restate-server", SDKVersion)
		_, _ = w.Write([]byte(s.manifest.Load().(string)))
	})
	s.Server = httptest.NewServer(H2CHandler(mux))
	return s
}

// Client is an HTTP/2-only client for http:// URLs (h2c prior knowledge).
func Client() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}
