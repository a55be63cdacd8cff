package ingress

import "net/http"

// corsVary is the Vary header of every answer: they depend on these request headers.
const corsVary = "origin, access-control-request-method, access-control-request-headers"

// CORS lets web pages of any origin call the ingress, as restate-server's ingress does (tower-http's
// CorsLayer::very_permissive around its handler), so the official TypeScript ingress client works
// from a browser too. Every answer carries Vary and Access-Control-Allow-Credentials: true, and
// Access-Control-Allow-Origin naming the request's Origin when it has one. An OPTIONS request is a
// preflight, answered here (200, empty) whatever its path, allowing the method and headers the
// request asks for (Access-Control-Request-Method and -Headers, mirrored); other requests go to h.
//
// It wraps everything in front of the ingress, the bearer-token guard included: a browser sends a
// preflight without credentials, and a page can read a 401 only if it carries these headers.
func CORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Vary", corsVary)
		mirror(hdr, "Access-Control-Allow-Origin", r.Header, "Origin")
		hdr.Set("Access-Control-Allow-Credentials", "true")
		if r.Method != http.MethodOptions {
			h.ServeHTTP(w, r)
			return
		}
		mirror(hdr, "Access-Control-Allow-Methods", r.Header, "Access-Control-Request-Method")
		mirror(hdr, "Access-Control-Allow-Headers", r.Header, "Access-Control-Request-Headers")
		hdr.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	})
}

// mirror sets the response header name to the first value of the request header from, if any.
func mirror(hdr http.Header, name string, req http.Header, from string) {
	if v := req.Values(from); len(v) > 0 {
		hdr.Set(name, v[0])
	}
}
