package kafka

import (
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestRecordTraceparent: with tracing on, each record becomes an invocation under an
// `ingress_kafka` span, as restate-server's: a child of the record's traceparent header when it
// has one (a trace of its own otherwise), with the messaging attributes; the invocation's span is
// its child.
func TestRecordTraceparent(t *testing.T) {
	col := &testenv.SpanCollector{}
	receiver := httptest.NewServer(col)
	defer receiver.Close()
	var headers sync.Map
	kc, srv, _ := setupSink(t, orders(&headers), "Orders/add", "", "--tracing-endpoint", "http+otlp://"+strings.TrimPrefix(receiver.URL, "http://"))
	const producerTrace, producerSpan = "6bf92f3577b34da6a3ce929d0e0e4738", "02f067aa0ba902b9"
	produceRecords(t, kc, []*kgo.Record{
		{Key: []byte("k0"), Value: []byte("0"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-" + producerTrace + "-" + producerSpan + "-01")}}},
		{Key: []byte("k1"), Value: []byte("1")},
	})
	waitAll(t, srv, 2, 2)
	srv.Stop() // exports what is left

	ingest := map[string]testenv.ReceivedSpan{} // by invocation target (with the key)
	invocation := map[string]testenv.ReceivedSpan{}
	for _, s := range col.Spans() {
		switch s.Name {
		case "ingress_kafka Orders/{key}/add":
			if _, dup := ingest[s.Attr("restate.invocation.target")]; dup {
				t.Errorf("two ingress_kafka spans for %s, want one per record", s.Attr("restate.invocation.target"))
			}
			ingest[s.Attr("restate.invocation.target")] = s
		case "invocation Orders/{key}/add":
			invocation[s.Attr("restate.invocation.target")] = s
		}
	}
	for _, key := range []string{"k0", "k1"} {
		target := "Orders/" + key + "/add"
		in, ok := ingest[target]
		if !ok {
			t.Fatalf("no ingress_kafka span for %s; spans: %v", target, spanNames(col.Spans()))
		}
		for attr, want := range map[string]string{"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.source.name": topic} {
			if got := in.Attr(attr); got != want {
				t.Errorf("%s: %s = %q, want %q", target, attr, got, want)
			}
		}
		if in.Attr("messaging.consumer.group.name") == "" || in.Attr("messaging.kafka.offset") == "" || in.Attr("messaging.source.partition.id") == "" {
			t.Errorf("%s: the ingress_kafka span lacks the consumer group, offset or partition: %v", target, in.Attributes)
		}
		trace, parent := hex.EncodeToString(in.TraceId), hex.EncodeToString(in.ParentSpanId)
		if key == "k0" && (trace != producerTrace || parent != producerSpan) {
			t.Errorf("%s: ingress_kafka span in trace %s under %s, want the record's traceparent %s/%s", target, trace, parent, producerTrace, producerSpan)
		}
		if key == "k1" && (trace == producerTrace || parent != "") {
			t.Errorf("%s: a record without traceparent got an ingress_kafka span in trace %s under %q, want a trace of its own", target, trace, parent)
		}
		inv, ok := invocation[target]
		if !ok {
			t.Fatalf("no invocation span for %s; spans: %v", target, spanNames(col.Spans()))
		}
		if hex.EncodeToString(inv.TraceId) != trace || hex.EncodeToString(inv.ParentSpanId) != hex.EncodeToString(in.SpanId) {
			t.Errorf("%s: invocation span in trace %x under %x, want a child of the ingress_kafka span %s/%x", target, inv.TraceId, inv.ParentSpanId, trace, in.SpanId)
		}
	}
}

func spanNames(spans []testenv.ReceivedSpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
