package testenv

import (
	"io"
	"net/http"
	"strconv"
	"sync"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// SpanCollector is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf), as a collector
// serves it: the spans a server exports, in the order they came, each with the generation it
// came in (NextGeneration: e.g. one per server start).
type SpanCollector struct {
	mu struct {
		sync.Mutex
		gen   int
		spans []ReceivedSpan
	}
}

// ReceivedSpan is a span a SpanCollector received, and the generation it came in.
type ReceivedSpan struct {
	*tracepb.Span
	Gen int
}

// ServeHTTP receives one export request.
func (c *SpanCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces with protobuf", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.mu.spans = append(c.mu.spans, ReceivedSpan{s, c.mu.gen})
			}
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// NextGeneration marks the spans received from now on with the next generation.
func (c *SpanCollector) NextGeneration() {
	c.mu.Lock()
	c.mu.gen++
	c.mu.Unlock()
}

// Spans are the spans received so far.
func (c *SpanCollector) Spans() []ReceivedSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ReceivedSpan(nil), c.mu.spans...)
}

// Attr is the string (or integer, formatted) value of span attribute key, "" if it has none.
func (s ReceivedSpan) Attr(key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		if v, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
			return strconv.FormatInt(v.IntValue, 10)
		}
		return kv.Value.GetStringValue()
	}
	return ""
}
