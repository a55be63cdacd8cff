package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/console"
)

// TestFiles: the console's files are served under /ui with their types and a
// Content-Security-Policy that allows no inline script; other paths go to the handler behind.
func TestFiles(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := console.Mount(next)
	for _, c := range []struct {
		method, path string
		status       int
		typ, body    string // body: a part of it
	}{
		{"GET", "/ui/", 200, "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"GET", "/ui/index.html", 200, "text/html; charset=utf-8", "<title>Resolute console</title>"},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "function lit(v)"},
		{"GET", "/ui/style.css", 200, "text/css; charset=utf-8", "ol.timeline"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"HEAD", "/ui/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/ui", 301, "", ""},
		{"GET", "/ui/nope.js", 404, "application/json", `"message":"Not Found: the console has no file /ui/nope.js"`},
		{"POST", "/ui/", 405, "application/json", `"restate_code":null`},
		{"GET", "/uix", 418, "", ""},
		{"GET", "/services", 418, "", ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		body := w.Body.String()
		if w.Code != c.status || w.Header().Get("Content-Type") != c.typ || !strings.Contains(body, c.body) {
			t.Errorf("%s %s: %d %q %.80q, want %d %q containing %q", c.method, c.path, w.Code, w.Header().Get("Content-Type"), body, c.status, c.typ, c.body)
		}
		if c.status == 200 {
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("%s %s: Content-Security-Policy %q", c.method, c.path, csp)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: no nosniff", c.method, c.path)
			}
		}
	}
	// /ui sends the browser to /ui/, relative so that a proxy's path prefix is kept.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ui", nil))
	if loc := w.Header().Get("Location"); loc != "ui/" {
		t.Errorf("GET /ui: Location %q, want ui/", loc)
	}
	// A browser that has the file revalidates it and gets 304.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/app.js", nil))
	req := httptest.NewRequest("GET", "/ui/app.js", nil)
	req.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNotModified {
		t.Errorf("GET /ui/app.js with its ETag: %d, want 304", w.Code)
	}
	paths := console.Paths()
	for _, p := range []string{"/ui", "/ui/", "/ui/index.html", "/ui/app.js", "/ui/style.css", "/ui/favicon.svg"} {
		if !slices.Contains(paths, p) {
			t.Errorf("Paths() %q lacks %s", paths, p)
		}
	}
}

// TestServedBehindTokens: a server with admin tokens serves the console's files without a token
// (they hold no data) and still refuses the API without one; with the token the API answers.
func TestServedBehindTokens(t *testing.T) {
	s := startServer(t)
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", s.admin+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css", "/ui/index.html", "/ui/favicon.svg"} {
		if st, body := get(p, ""); st != 200 || len(body) == 0 {
			t.Errorf("GET %s without a token: %d %.60q", p, st, body)
		}
	}
	for _, p := range []string{"/services", "/deployments", "/ui/../services", "/ui/nope"} {
		st, body := get(p, "")
		var e struct{ Message string }
		if st != 401 || json.Unmarshal([]byte(body), &e) != nil || e.Message == "" {
			t.Errorf("GET %s without a token: %d %s, want 401", p, st, body)
		}
	}
	if st, body := get("/services", adminToken); st != 200 || !strings.Contains(body, `"Counter"`) {
		t.Errorf("GET /services with the token: %d %s", st, body)
	}
}
