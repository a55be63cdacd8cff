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
// JSON: plain services, or with ty VIRTUAL_OBJECT, objects whose run is exclusive. Non-zero
// timeouts set the services' inactivityTimeout and abortTimeout.
func manifest(ty string, timeouts timeouts, services ...string) string {
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
		Name       string    `json:"name"`
		Ty         string    `json:"ty"`
		Handlers   []handler `json:"handlers"`
		Inactivity int64     `json:"inactivityTimeout,omitempty"`
		Abort      int64     `json:"abortTimeout,omitempty"`
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
		m.Services = append(m.Services, service{Name: s, Ty: ty, Handlers: []handler{h},
			Inactivity: timeouts.inactivity.Milliseconds(), Abort: timeouts.abort.Milliseconds()})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// timeouts are a service's inactivity and abort timeouts; zero keeps the server's.
type timeouts struct{ inactivity, abort time.Duration }

// deployment is a fake SDK endpoint for one service. Its first `times` attempts run bad; later
// attempts behave (replay, then Output and End). It records every attempt's StartMessage.
type deployment struct {
	service  string
	object   bool // a Virtual Object, else a plain service
	timeouts timeouts
	times    int
	bad      func(s *stream)
	// misbehaves, when set, decides instead of times whether an attempt of an invocation runs
	// bad, given how many attempts of that invocation came before.
	misbehaves func(invocation string, before int) bool

	mu struct {
		sync.Mutex
		starts   []*pb.StartMessage // per attempt; nil when the attempt did not read Start
		at       []time.Time        // when each attempt arrived
		ids      []string           // x-restate-invocation-id of each attempt
		problems []string           // what the fake saw that it did not expect
		cutOff   []string           // problems of attempts the runtime had given up on
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
		_, _ = w.Write([]byte(manifest(ty, d.timeouts, d.service)))
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

// cutOffs are the problems seen in attempts the runtime had already given up on (it cancelled
// their requests), such as a write after the runtime reset the stream.
func (d *deployment) cutOffs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.mu.cutOff...)
}

// problem records what the fake saw in attempt s that it did not expect. If the runtime had given
// up on the attempt by then, it is recorded as cut off instead: the runtime resets the stream
// (cancelling the request) before the fake's read or write can fail on it.
func (s *stream) problem(format string, args ...any) {
	msg := fmt.Sprintf("attempt %d: ", s.attempt) + fmt.Sprintf(format, args...)
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.r.Context().Err() != nil {
		s.d.mu.cutOff = append(s.d.mu.cutOff, msg)
		return
	}
	s.d.mu.problems = append(s.d.mu.problems, msg)
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
		s.problem("first frame %v, %v", f.Type, err)
		return false
	}
	m, err := f.Message()
	if err != nil {
		s.problem("Start: %v", err)
		return false
	}
	s.start = m.(*pb.StartMessage)
	s.d.mu.Lock()
	s.d.mu.starts[s.attempt-1] = s.start
	s.d.mu.Unlock()
	for range s.start.KnownEntries {
		f, err := s.in.ReadFrame()
		if err != nil {
			s.problem("replay: %v", err)
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
		s.problem("write %T: %v", m, err)
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
		s.problem("replay starts with %s %v (%v), want the input", s.replay[0].Type, m, err)
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
		s.problem("the runtime never gave up on a hanging deployment")
	}
}

// awaitNotification reads runtime frames until one of type t arrives.
func (s *stream) awaitNotification(t protocol.MessageType) bool {
	for {
		f, err := s.in.ReadFrame()
		if err != nil {
			s.problem("waiting for %s: %v", t, err)
			return false
		}
		if f.Type == t {
			return true
		}
	}
}
