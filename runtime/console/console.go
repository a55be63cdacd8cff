package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Prefix is the path the console is served under.
const Prefix = "/ui"

//go:embed static
var static embed.FS

// securityHeaders go with every file: no inline script or style, nothing loaded from elsewhere,
// no framing.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

// file is one embedded file, ready to serve.
type file struct {
	name string
	body []byte
	etag string
	typ  string
}

// Handler serves the console's files under Prefix.
type Handler struct {
	files map[string]file // by request path
}

// New returns the console's handler.
func New() (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" {
			typ = "application/octet-stream"
		}
		rel := strings.TrimPrefix(p, "static/")
		h.files[Prefix+"/"+rel] = file{name: rel, body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, typ: typ}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: embedded files: %w", err)
	}
	index, ok := h.files[Prefix+"/index.html"]
	if !ok {
		return nil, fmt.Errorf("console: no index.html among the embedded files")
	}
	h.files[Prefix+"/"] = index
	return h, nil
}

// Paths are the paths the console serves, none of which holds data: an access guard lets them
// through without a token (the pages then send the token with every API request).
func (h *Handler) Paths() []string {
	out := []string{Prefix}
	for p := range h.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Serves reports whether path is the console's: Prefix or under it.
func Serves(path string) bool {
	return path == Prefix || strings.HasPrefix(path, Prefix+"/")
}

// ServeHTTP serves an embedded file; Prefix itself is redirected to Prefix+"/".
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method Not Allowed: %s %s accepts GET, HEAD", r.Method, r.URL.Path))
		return
	}
	if r.URL.Path == Prefix {
		// Relative, so that the console also works behind a proxy that adds a path prefix.
		w.Header().Set("Location", path.Base(Prefix)+"/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	f, ok := h.files[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found: the console has no file "+r.URL.Path)
		return
	}
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", f.typ)
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// builtin is the handler of the compiled-in files, built once.
var builtin = sync.OnceValues(New)

// mustBuiltin is builtin's handler; the files are compiled in, so an error is a bug (which
// TestFiles catches).
func mustBuiltin() *Handler {
	h, err := builtin()
	if err != nil {
		panic(err)
	}
	return h
}

// Paths are the console's paths (Handler.Paths of the compiled-in files).
func Paths() []string { return mustBuiltin().Paths() }

// Mount serves the console at Prefix and passes every other request to next.
func Mount(next http.Handler) http.Handler {
	h := mustBuiltin()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Serves(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeError answers in the admin API's error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(struct {
		Message     string  `json:"message"`
		RestateCode *string `json:"restate_code"`
	}{Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
