package misbehave

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// manifest is a discovery manifest (v4) for services with one handler, run, taking and returning
// JSON: plain services, or with ty VIRTUAL_OBJECT, objects whose run is exclusive.
func manifest(ty string, services ...string) string {
	type io struct {
		Required    bool   `json:"required,omitempty"`
		ContentType string `json:"contentType"`
	}
	type handler struct {
		Name   string `json:"name"`
		Ty     string `json:"ty,omitempty"`
		Input  io     `json:"input"`
		Output io     `json:"output"`
	}
	type service struct {
		Name     string    `json:"name"`
		Ty       string    `json:"ty"`
		Handlers []handler `json:"handlers"`
	}
	m := struct {
		ProtocolMode string    `json:"protocolMode"`
		Min          int       `json:"minProtocolVersion"`
		Max          int       `json:"maxProtocolVersion"`
		Services     []service `json:"services"`
	}{ProtocolMode: "BIDI_STREAM", Min: 5, Max: 7}
	h := handler{Name: "run", Input: io{ContentType: "application/json"}, Output: io{ContentType: "application/json"}}
	if ty == "VIRTUAL_OBJECT" {
		h.Ty = "EXCLUSIVE"
	}
	for _, s := range services {
		m.Services = append(m.Services, service{Name: s, Ty: ty, Handlers: []handler{h}})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// deployment is a fake SDK endpoint for one service. Its first `times` attempts run bad; later
// attempts behave (replay, then Output and End). It records every attempt's StartMessage.
type deployment struct {
	service string
	object  bool // a Virtual Object, else a plain service
	times   int
	bad     func(s *stream)
	// misbehaves, when set, decides instead of times whether an attempt of an invocation runs
	// bad, given how many attempts of that invocation came before.
	misbehaves func(invocation string, before int) bool

	mu struct {
		sync.Mutex
		starts   []*pb.StartMessage // per attempt; nil when the attempt did not read Start
		at       []time.Time        // when each attempt arrived
		ids      []string           // x-restate-invocation-id of each attempt
		problems []string           // what the fake saw that it did not expect
	}
}

func (d *deployment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/discover"):
		w.Header().Set("Content-Type", protocol.ManifestV4)
		ty := "SERVICE"
		if d.object {
			ty = "VIRTUAL_OBJECT"
		}
		_, _ = w.Write([]byte(manifest(ty, d.service)))
	case strings.Contains(r.URL.Path, "/invoke/"+d.service+"/run"):
		id := r.Header.Get("X-Restate-Invocation-Id")
		d.mu.Lock()
		attempt := len(d.mu.starts) + 1
		before := 0
		for _, x := range d.mu.ids {
			if x == id {
				before++
			}
		}
		d.mu.starts = append(d.mu.starts, nil)
		d.mu.at = append(d.mu.at, time.Now())
		d.mu.ids = append(d.mu.ids, id)
		d.mu.Unlock()
		s := &stream{d: d, attempt: attempt, w: w, r: r, in: protocol.NewReader(r.Body), out: protocol.NewWriter(w)}
		bad := attempt <= d.times
		if d.misbehaves != nil {
			bad = d.misbehaves(id, before)
		}
		if bad {
			d.bad(s)
			return
		}
		s.behave()
	default:
		http.NotFound(w, r)
	}
}

func (d *deployment) attempts() []*pb.StartMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pb.StartMessage(nil), d.mu.starts...)
}

func (d *deployment) arrivals() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.mu.at...)
}

func (d *deployment) problems() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.mu.problems...)
}

func (d *deployment) problem(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.problems = append(d.mu.problems, fmt.Sprintf(format, args...))
}

// stream is one attempt: the request (runtime → deployment frames) and the response.
type stream struct {
	d       *deployment
	attempt int
	w       http.ResponseWriter
	r       *http.Request
	in      *protocol.Reader
	out     *protocol.Writer
	start   *pb.StartMessage
	replay  []protocol.Frame
}

// head answers 200 with the negotiated content type, as an SDK does.
func (s *stream) head() {
	s.w.Header().Set("Content-Type", s.r.Header.Get("Content-Type"))
	s.w.WriteHeader(http.StatusOK)
	s.w.(http.Flusher).Flush()
}

// readReplay reads Start and the known entries.
func (s *stream) readReplay() bool {
	f, err := s.in.ReadFrame()
	if err != nil || f.Type != protocol.StartType {
		s.d.problem("attempt %d: first frame %v, %v", s.attempt, f.Type, err)
		return false
	}
	m, err := f.Message()
	if err != nil {
		s.d.problem("attempt %d: Start: %v", s.attempt, err)
		return false
	}
	s.start = m.(*pb.StartMessage)
	s.d.mu.Lock()
	s.d.mu.starts[s.attempt-1] = s.start
	s.d.mu.Unlock()
	for range s.start.KnownEntries {
		f, err := s.in.ReadFrame()
		if err != nil {
			s.d.problem("attempt %d: replay: %v", s.attempt, err)
			return false
		}
		s.replay = append(s.replay, f)
	}
	return true
}

// begin reads the replay and writes the response head.
func (s *stream) begin() bool {
	if !s.readReplay() {
		return false
	}
	s.head()
	return true
}

func (s *stream) send(m proto.Message) {
	if err := s.out.WriteMessage(m); err != nil {
		s.d.problem("attempt %d: write %T: %v", s.attempt, m, err)
	}
}

func (s *stream) raw(b []byte) {
	_, _ = s.w.Write(b)
	s.w.(http.Flusher).Flush()
}

func (s *stream) frame(t protocol.MessageType, payload []byte) {
	s.raw(protocol.AppendFrame(nil, protocol.Frame{Type: t, Payload: payload}))
}

func output(v string) *pb.OutputCommandMessage {
	return &pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: []byte(v)}}}
}

// behave answers like a correct SDK whose handler returns "ok". It first checks that the replay
// starts with the input the client sent.
func (s *stream) behave() {
	if !s.begin() {
		return
	}
	if m, err := s.replay[0].Message(); err != nil || string(m.(*pb.InputCommandMessage).GetValue().GetContent()) != `"x"` {
		s.d.problem("attempt %d: replay starts with %s %v (%v), want the input", s.attempt, s.replay[0].Type, m, err)
	}
	s.send(output(`"ok"`))
	s.send(&pb.EndMessage{})
}

// hang accepts the request and never finishes: it returns only when the runtime gives up on the
// attempt (or the test ends).
func (s *stream) hang() {
	select {
	case <-s.r.Context().Done():
	case <-time.After(time.Minute):
		s.d.problem("attempt %d: the runtime never gave up on a hanging deployment", s.attempt)
	}
}

// awaitNotification reads runtime frames until one of type t arrives.
func (s *stream) awaitNotification(t protocol.MessageType) bool {
	for {
		f, err := s.in.ReadFrame()
		if err != nil {
			s.d.problem("attempt %d: waiting for %s: %v", s.attempt, t, err)
			return false
		}
		if f.Type == t {
			return true
		}
	}
}
