package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/sdk/internal/replayonly"
	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Version of this SDK, sent as x-restate-server: resolute-sdk-go/<Version>.
const Version = "0.1.0"

const serverHeader = "resolute-sdk-go/" + Version

// Endpoint serves bound services to a Restate-compatible runtime. It is an http.Handler for
// GET {prefix}/discover, GET {prefix}/health and POST {prefix}/invoke/{service}/{handler}; it
// makes no assumption about the transport, so a runtime may drive it in-process.
type Endpoint struct {
	services map[string]*definition
	order    []string
	codec    Codec
	identity identity.KeySet // request identity keys (identity.go); nil: any caller
	logger   *slog.Logger    // what ctx.Log() writes to (log.go); nil: slog.Default()
}

// NewEndpoint returns an empty Endpoint using the JSON codec.
func NewEndpoint() *Endpoint {
	return &Endpoint{services: map[string]*definition{}, codec: JSON}
}

// Bind adds services and objects.
func (e *Endpoint) Bind(defs ...ServiceDefinition) *Endpoint {
	for _, d := range defs {
		def := d.definition()
		if _, dup := e.services[def.name]; dup {
			panic(fmt.Sprintf("sdk: service %q bound twice", def.name))
		}
		e.services[def.name] = def
		e.order = append(e.order, def.name)
	}
	return e
}

// WithCodec sets the codec of every handler that has no WithCodec of its own.
func (e *Endpoint) WithCodec(c Codec) *Endpoint {
	e.codec = c
	return e
}

// Handler is e wrapped for unencrypted HTTP/2 (h2c), as a Restate runtime connects, while still
// answering HTTP/1.1.
func (e *Endpoint) Handler() http.Handler { return h2c.NewHandler(e, &http2.Server{}) }

// Serve accepts connections on l and serves e over h2c.
func (e *Endpoint) Serve(l net.Listener) error {
	return (&http.Server{Handler: e.Handler()}).Serve(l)
}

// ListenAndServe listens on addr and serves e over h2c.
func (e *Endpoint) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return e.Serve(l)
}

// ServeHTTP routes by the last path segments, so any path prefix works.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-restate-server", serverHeader)
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	n := len(segs)
	if e.refuseStranger(w, r, segs[n-1]) {
		return
	}
	switch {
	case n >= 3 && segs[n-3] == "invoke":
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		e.invoke(w, r, segs[n-2], segs[n-1])
	case segs[n-1] == "discover":
		e.discover(w, r)
	case segs[n-1] == "health":
		w.Header().Set("content-type", "text/plain")
		io.WriteString(w, "ok")
	default:
		http.NotFound(w, r)
	}
}

func jsonError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf(format, args...)})
}

func (e *Endpoint) invoke(w http.ResponseWriter, r *http.Request, service, name string) {
	ct := r.Header.Get("content-type")
	if ct == "" {
		jsonError(w, http.StatusUnsupportedMediaType, "Missing content-type header")
		return
	}
	version, err := protocol.ParseContentType(ct)
	if err != nil {
		jsonError(w, http.StatusUnsupportedMediaType, "%v", err)
		return
	}
	def, ok := e.services[service]
	if !ok {
		jsonError(w, http.StatusNotFound, "service %q not found", service)
		return
	}
	h, ok := def.handlers[name]
	if !ok {
		jsonError(w, http.StatusNotFound, "handler %q of service %q not found", name, service)
		return
	}
	w.Header().Set("content-type", version.ContentType())

	frames := make(chan frameOrErr)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { readFrames(r.Body, frames, done) })
	defer func() {
		close(done)
		r.Body.Close()
		wg.Wait()
	}()

	codec := e.codec
	if h.codec != nil {
		codec = h.codec
	}
	inv := &invocation{
		Context: r.Context(),
		m:       statemachine.New(version),
		w:       protocol.NewWriter(w),
		frames:  frames,
		codec:   codec,
		logTo:   e.logger,
	}
	defer inv.waitRuns()
	if p := replayonly.From(r.Context()); p != nil { // sdk/replay: nothing past the journal
		inv.m.StopAtJournalEnd()
		defer func() { p.Closed, p.Err = inv.m.Closed(), inv.m.Err() }()
	}
	// Bidirectional over HTTP/2: answer at once and stream. Over HTTP/1.1 the runtime uses
	// request/response: read everything first, so the handler suspends at its first new await.
	if r.ProtoMajor >= 2 {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	} else {
		for inv.frames != nil && !inv.m.Closed() {
			if inv.receive() != nil {
				break
			}
		}
		w.WriteHeader(http.StatusOK)
	}
	if err := inv.start(); err != nil {
		_ = inv.flush()
		return
	}
	inv.run(h)
}

// readFrames turns body into frames until EOF, an error, or done.
func readFrames(body io.Reader, out chan<- frameOrErr, done <-chan struct{}) {
	defer close(out)
	rd := protocol.NewReader(body)
	for {
		f, err := rd.ReadFrame()
		if errors.Is(err, io.EOF) {
			return
		}
		select {
		case out <- frameOrErr{f: f, err: err}:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}
