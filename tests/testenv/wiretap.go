package testenv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Frame types the wiretap names (service protocol V5–V7, /work/shared/PROTOCOL.md §2.2).
const (
	FrameStart      uint16 = 0x0000
	FrameSuspension uint16 = 0x0001
	FrameError      uint16 = 0x0002
	FrameEnd        uint16 = 0x0003
	FrameOutput     uint16 = 0x0401
	FrameSleep      uint16 = 0x040C
	FrameCall       uint16 = 0x040D
	FrameOneWayCall uint16 = 0x040E
	FrameRun        uint16 = 0x0411
)

// invocationContentType is the request and response content type of an invocation stream at
// protocol version v.
func invocationContentType(v int) string {
	return fmt.Sprintf("application/vnd.restate.invocation.v%d", v)
}

// Wiretap is an h2c reverse proxy placed between a Restate runtime and one deployment: register
// URL instead of the deployment's address and every request goes through it unchanged. It
// records each invocation stream (POST …/invoke/{service}/{handler}): the content types the two
// sides used (the negotiated protocol version), the invocation id and key from the
// StartMessage, and the types of the frames each side sent, in order. It decodes the frame
// headers itself (8 bytes: type, flags, length) and reads the StartMessage with protowire, so
// it shares no code with the server or SDK it observes.
//
// A frame is recorded when the proxy reads it, before it forwards it: whatever the receiver
// acted on has been recorded. Methods are safe for concurrent use.
type Wiretap struct {
	URL string // http://127.0.0.1:port

	upstream  *url.URL
	srv       *http.Server
	transport *http.Transport // to the deployment
	mu        struct {
		sync.Mutex
		streams []*Stream
	}
}

// Stream is one recorded invocation stream (one attempt of an invocation).
type Stream struct {
	Service, Handler    string
	RequestContentType  string
	ResponseContentType string
	Status              int    // 0 until the deployment answered
	InvocationID        string // StartMessage.debug_id (inv_…); empty until the Start frame passed
	Key                 string // StartMessage.key (Virtual Objects and Workflows)
	KnownEntries        int    // StartMessage.known_entries: Sent[1:1+KnownEntries] is the replay
	Sent                []uint16
	Received            []uint16
	Err                 string // proxy or frame-decoding error, if any
	// RuntimeDone: the runtime's side of the stream ended (EOF, reset or a dead connection), so
	// Sent is complete.
	RuntimeDone bool
}

// Has reports whether the deployment sent a frame of type t on this stream.
func (s Stream) Has(t uint16) bool {
	for _, r := range s.Received {
		if r == t {
			return true
		}
	}
	return false
}

// Target is "service/handler".
func (s Stream) Target() string { return s.Service + "/" + s.Handler }

func (s Stream) String() string {
	return fmt.Sprintf("%s %s key %q: request %q, response %d %q, sent %s, received %s%s",
		s.Target(), s.InvocationID, s.Key, s.RequestContentType, s.Status, s.ResponseContentType,
		frameList(s.Sent), frameList(s.Received), errSuffix(s.Err))
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ", error: " + e
}

func frameList(ts []uint16) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%#04x", t)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// StartWiretap listens on a free loopback port and proxies to upstream (http://host:port of an
// h2c deployment). It is closed on cleanup.
func StartWiretap(t testing.TB, upstream string) *Wiretap {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("wiretap: upstream %q: %v", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("wiretap: listen: %v", err)
	}
	w := &Wiretap{URL: "http://" + ln.Addr().String(), upstream: u}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	w.transport = &http.Transport{Protocols: &h2c}
	w.srv = &http.Server{Handler: w.proxy(), Protocols: &h2c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.srv.Serve(ln) // http.ErrServerClosed after Close
	}()
	t.Cleanup(func() {
		_ = w.srv.Close()
		<-done
		w.transport.CloseIdleConnections()
	})
	return w
}

type streamKey struct{}

func (w *Wiretap) proxy() http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(w.upstream)
		},
		Transport: w.transport,
		// Streams cut by a suspension or a killed server are expected; the stream records them.
		ErrorLog:      log.New(io.Discard, "", 0),
		FlushInterval: -1, // forward every frame at once: the stream is a conversation
		ModifyResponse: func(resp *http.Response) error {
			s, _ := resp.Request.Context().Value(streamKey{}).(*Stream)
			if s == nil {
				return nil
			}
			w.update(func() {
				s.Status = resp.StatusCode
				s.ResponseContentType = resp.Header.Get("content-type")
			})
			resp.Body = &frameRecorder{rc: resp.Body, onFrame: func(typ uint16, _ []byte) {
				w.update(func() { s.Received = append(s.Received, typ) })
			}, onErr: func(err error) { w.update(func() { s.Err = err.Error() }) }}
			return nil
		},
		ErrorHandler: func(rw http.ResponseWriter, r *http.Request, err error) {
			if s, _ := r.Context().Value(streamKey{}).(*Stream); s != nil {
				w.update(func() { s.Err = err.Error() })
			}
			rw.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		service, handler, ok := invokePath(r.URL.Path)
		if !ok || r.Method != http.MethodPost {
			rp.ServeHTTP(rw, r)
			return
		}
		s := &Stream{Service: service, Handler: handler, RequestContentType: r.Header.Get("content-type")}
		w.mu.Lock()
		w.mu.streams = append(w.mu.streams, s)
		w.mu.Unlock()
		r.Body = &frameRecorder{rc: r.Body, onFrame: func(typ uint16, payload []byte) {
			var st startFields
			var err error
			if typ == FrameStart {
				st, err = decodeStart(payload)
			}
			w.update(func() {
				s.Sent = append(s.Sent, typ)
				if typ == FrameStart {
					s.InvocationID, s.Key, s.KnownEntries = st.id, st.key, st.known
				}
				if err != nil {
					s.Err = err.Error()
				}
			})
		}, onErr: func(err error) { w.update(func() { s.Err = err.Error() }) },
			onEnd: func() { w.update(func() { s.RuntimeDone = true }) }}
		rp.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), streamKey{}, s)))
		w.update(func() { s.RuntimeDone = true }) // the handler is done with the request too
	})
}

// invokePath splits …/invoke/{service}/{handler}.
func invokePath(p string) (service, handler string, ok bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 3 || segs[len(segs)-3] != "invoke" {
		return "", "", false
	}
	return segs[len(segs)-2], segs[len(segs)-1], true
}

func (w *Wiretap) update(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

// Streams returns copies of the invocation streams recorded so far, in the order they started.
func (w *Wiretap) Streams() []Stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Stream, len(w.mu.streams))
	for i, s := range w.mu.streams {
		out[i] = *s
		out[i].Sent = append([]uint16(nil), s.Sent...)
		out[i].Received = append([]uint16(nil), s.Received...)
	}
	return out
}

// Attempts returns the streams of one invocation, in the order they started.
func (w *Wiretap) Attempts(invocationID string) []Stream {
	var out []Stream
	for _, s := range w.Streams() {
		if s.InvocationID == invocationID {
			out = append(out, s)
		}
	}
	return out
}

// Invocations groups the streams of service/handler (and key, unless key is "*") by
// invocation id.
func (w *Wiretap) Invocations(service, handler, key string) map[string][]Stream {
	out := map[string][]Stream{}
	for _, s := range w.Streams() {
		if s.Service == service && s.Handler == handler && (key == "*" || s.Key == key) {
			out[s.InvocationID] = append(out[s.InvocationID], s)
		}
	}
	return out
}

// CheckProtocol returns an error unless at least one invocation stream was recorded and every
// one of them was requested and answered at protocol version v (content type
// application/vnd.restate.invocation.v{v}, parameters ignored). A stream the deployment has not
// answered yet is checked on its request only.
func (w *Wiretap) CheckProtocol(v int) error {
	want := invocationContentType(v)
	streams := w.Streams()
	if len(streams) == 0 {
		return errors.New("wiretap: no invocation stream recorded")
	}
	var bad []string
	for _, s := range streams {
		if mediaType(s.RequestContentType) != want || (s.Status != 0 && mediaType(s.ResponseContentType) != want) {
			bad = append(bad, s.String())
		}
	}
	if len(bad) > 0 {
		n := len(bad)
		if len(bad) > 5 {
			bad = append(bad[:5], "…")
		}
		return fmt.Errorf("wiretap: %d of %d invocation streams not at %s:\n  %s", n, len(streams), want, strings.Join(bad, "\n  "))
	}
	return nil
}

func mediaType(ct string) string { return strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]) }

// frameRecorder passes a service-protocol byte stream through unchanged and reports each
// complete frame's type and payload as it goes by.
type frameRecorder struct {
	rc      io.ReadCloser
	buf     []byte
	onFrame func(typ uint16, payload []byte)
	onErr   func(error)
	onEnd   func() // called once when the stream ends (nil: not reported)
	failed  bool
	ended   bool
}

const frameHeaderSize = 8

// maxRecordedFrame bounds the payload the recorder buffers; a larger length is reported as an
// error and recording stops (the bytes still pass through).
const maxRecordedFrame = 64 << 20

func (f *frameRecorder) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	if n > 0 && !f.failed {
		f.buf = append(f.buf, p[:n]...)
		f.parse()
	}
	if errors.Is(err, io.EOF) && len(f.buf) > 0 && !f.failed {
		f.fail(fmt.Errorf("wiretap: stream ended inside a frame (%d bytes left)", len(f.buf)))
	}
	if err != nil && !f.ended {
		f.ended = true
		if f.onEnd != nil {
			f.onEnd()
		}
	}
	return n, err
}

func (f *frameRecorder) parse() {
	for len(f.buf) >= frameHeaderSize {
		h := binary.BigEndian.Uint64(f.buf[:frameHeaderSize])
		typ, length := uint16(h>>48), uint32(h)
		if length > maxRecordedFrame {
			f.fail(fmt.Errorf("wiretap: frame type %#04x of %d bytes", typ, length))
			return
		}
		end := frameHeaderSize + int(length)
		if len(f.buf) < end {
			return
		}
		f.onFrame(typ, f.buf[frameHeaderSize:end])
		f.buf = f.buf[end:]
	}
}

func (f *frameRecorder) fail(err error) {
	f.failed, f.buf = true, nil
	f.onErr(err)
}

func (f *frameRecorder) Close() error { return f.rc.Close() }

// startFields are the StartMessage fields the wiretap records.
type startFields struct {
	id, key string
	known   int
}

// decodeStart reads debug_id (field 2), known_entries (3) and key (6) of a StartMessage.
func decodeStart(b []byte) (startFields, error) {
	var st startFields
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return st, fmt.Errorf("wiretap: StartMessage: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var m int
		switch {
		case typ == protowire.BytesType && (num == 2 || num == 6):
			var v []byte
			v, m = protowire.ConsumeBytes(b)
			if num == 2 {
				st.id = string(v)
			} else {
				st.key = string(v)
			}
		case typ == protowire.VarintType && num == 3:
			var v uint64
			v, m = protowire.ConsumeVarint(b)
			st.known = int(v)
		default:
			m = protowire.ConsumeFieldValue(num, typ, b)
		}
		if m < 0 {
			return st, fmt.Errorf("wiretap: StartMessage field %d: %w", num, protowire.ParseError(m))
		}
		b = b[m:]
	}
	return st, nil
}
