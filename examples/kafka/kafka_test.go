//go:build linux

package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/examples/kafka"
	"github.com/resolute-run/resolute/tests/testenv"
)

// partitions of each topic.
const partitions = 4

// flakyMailer fails the first mail of one notice, once; it counts every call.
type flakyMailer struct {
	failOnce kafka.Notice
	mu       struct {
		sync.Mutex
		calls map[kafka.Notice]int
		sent  int
	}
}

func (m *flakyMailer) Mail(n kafka.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.calls[n]++
	if n == m.failOnce && m.mu.calls[n] == 1 {
		return errors.New("mail server unavailable")
	}
	m.mu.sent++
	return nil
}

func (m *flakyMailer) sent() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.sent
}

func (m *flakyMailer) calls(n kafka.Notice) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.calls[n]
}

// gatedMailer holds the first mail of one notice until release is closed (entered is closed
// when it starts), and counts every call.
type gatedMailer struct {
	hold             kafka.Notice
	entered, release chan struct{}
	mu               struct {
		sync.Mutex
		calls map[kafka.Notice]int
		sent  int
	}
}

func (m *gatedMailer) calls(n kafka.Notice) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.calls[n]
}

func (m *gatedMailer) Mail(n kafka.Notice) error {
	m.mu.Lock()
	m.mu.calls[n]++
	first := m.mu.calls[n] == 1
	m.mu.Unlock()
	if n == m.hold && first {
		close(m.entered)
		<-m.release
		return errors.New("the server went away")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.sent++
	return nil
}

// event is one record for the topic orders.
type event struct {
	order string
	kafka.Event
}

// TestOrderEvents runs the example against a kfake broker and the real server binary: order
// events, interleaved across three orders, are produced to the topic orders and a subscription
// hands them to Order/{order}/onEvent. Each order's history lists its events in the order
// produced, with rising Kafka offsets, events out of turn ignored; the notices of paid, shipped
// and delivered reach the topic notifications once each, with the event id and invocation id
// headers. The mail of one notice fails once, so Notifications/notify is retried: the mailer is
// called twice for it, and its notice is still on the topic once (Publish's Run was journaled).
func TestOrderEvents(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "orders", "notifications"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...)) // idempotent: franz-go's default
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	retried := kafka.Notice{Order: "o2", Status: kafka.Shipped, Customer: "bo"}
	mailer := &flakyMailer{failOnce: retried}
	mailer.mu.calls = map[kafka.Notice]int{}
	url := testenv.ServeH2C(t, kafka.Endpoint(kafka.Config{Producer: producer, Topic: "notifications", Mailer: mailer}).Handler())

	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t), Args: []string{"--partitions", "4"}})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	testenv.MustPost(t, srv.Admin+"/kafka-clusters",
		fmt.Sprintf(`{"name":"local","properties":{"bootstrap.servers":%q}}`, strings.Join(kc.ListenAddrs(), ",")), http.StatusCreated)
	testenv.MustPost(t, srv.Admin+"/subscriptions",
		`{"source":"kafka://local/orders","sink":"service://Order/onEvent","options":{"auto.offset.reset":"earliest"}}`, http.StatusCreated)

	events := []event{
		{"o1", kafka.Event{Type: kafka.Created, Customer: "ana"}},
		{"o2", kafka.Event{Type: kafka.Created, Customer: "bo"}},
		{"o1", kafka.Event{Type: kafka.Paid}},
		{"o3", kafka.Event{Type: kafka.Created, Customer: "cy"}},
		{"o2", kafka.Event{Type: kafka.Paid}},
		{"o3", kafka.Event{Type: kafka.Shipped}}, // before paid: ignored
		{"o1", kafka.Event{Type: kafka.Shipped}},
		{"o2", kafka.Event{Type: kafka.Shipped}},
		{"o3", kafka.Event{Type: kafka.Paid}},
		{"o1", kafka.Event{Type: kafka.Delivered}},
		{"o3", kafka.Event{Type: kafka.Paid}}, // twice: ignored
		{"o2", kafka.Event{Type: kafka.Delivered}},
	}
	produceEvents(t, kc, events)

	want := map[string]kafka.View{
		"o1": {Status: kafka.Delivered, Customer: "ana", History: []kafka.Step{{Event: "created"}, {Event: "paid"}, {Event: "shipped"}, {Event: "delivered"}}},
		"o2": {Status: kafka.Delivered, Customer: "bo", History: []kafka.Step{{Event: "created"}, {Event: "paid"}, {Event: "shipped"}, {Event: "delivered"}}},
		"o3": {Status: kafka.Paid, Customer: "cy", History: []kafka.Step{
			{Event: "created"}, {Event: "shipped", Ignored: `the order is "created", the next event is paid`},
			{Event: "paid"}, {Event: "paid", Ignored: `the order is "paid", the next event is shipped`}}},
	}
	for order, w := range want {
		var got kafka.View
		testenv.WaitReady(t, order+"'s events handled", time.Minute, func() error {
			got = view(t, srv, order)
			if len(got.History) < len(w.History) {
				return fmt.Errorf("%d of %d events handled", len(got.History), len(w.History))
			}
			return nil
		})
		// Offsets rise within an order (one key, one Kafka partition); then compare without them.
		last := int64(-1)
		for i, s := range got.History {
			off, err := strconv.ParseInt(s.KafkaOffset, 10, 64)
			if err != nil || off <= last {
				t.Errorf("%s, event %d: kafka offset %q after %d, want a larger number", order, i, s.KafkaOffset, last)
			}
			last = off
			got.History[i].KafkaOffset = ""
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s is %+v, want %+v", order, got, w)
		}
	}

	// Seven notices: paid, shipped, delivered of o1 and o2, paid of o3.
	notices := []kafka.Notice{
		{Order: "o1", Status: kafka.Paid, Customer: "ana"}, {Order: "o1", Status: kafka.Shipped, Customer: "ana"},
		{Order: "o1", Status: kafka.Delivered, Customer: "ana"}, {Order: "o2", Status: kafka.Paid, Customer: "bo"},
		retried, {Order: "o2", Status: kafka.Delivered, Customer: "bo"}, {Order: "o3", Status: kafka.Paid, Customer: "cy"},
	}
	testenv.WaitReady(t, "every notice mailed", time.Minute, func() error {
		if n := mailer.sent(); n < len(notices) {
			return fmt.Errorf("%d of %d mailed", n, len(notices))
		}
		return nil
	})
	for _, n := range notices {
		want := 1
		if n == retried {
			want = 2 // failed once, then retried
		}
		if got := mailer.calls(n); got != want {
			t.Errorf("mail of %+v tried %d times, want %d", n, got, want)
		}
	}

	// Every notice was acked by the broker before its mail went out, so all are on the topic
	// before the end markers written now.
	recs := readAll(t, kc, "notifications")
	var got []string
	ids := map[string]bool{}
	for _, r := range recs {
		var body struct{ Order, Status string }
		if err := json.Unmarshal(r.Value, &body); err != nil {
			t.Fatalf("notice %s: %v", r.Value, err)
		}
		got = append(got, body.Order+" "+body.Status)
		if string(r.Key) != body.Order {
			t.Errorf("notice %s has key %q, want the order id", r.Value, r.Key)
		}
		inv, id := header(r, kafka.HeaderInvocation), header(r, kafka.HeaderEventID)
		if !strings.HasPrefix(inv, "inv_") || id != inv+"/publish" || ids[id] {
			t.Errorf("notice %s: headers %s=%q %s=%q, want an invocation id and a new event id <invocation>/publish",
				r.Value, kafka.HeaderInvocation, inv, kafka.HeaderEventID, id)
		}
		ids[id] = true
	}
	var wantRecs []string
	for _, n := range notices {
		wantRecs = append(wantRecs, n.Order+" "+n.Status)
	}
	slices.Sort(got)
	slices.Sort(wantRecs)
	if !slices.Equal(got, wantRecs) {
		t.Errorf("notices on the topic: %q, want each once: %q", got, wantRecs)
	}
}

// TestPublishOnceAcrossServerKill: the server is SIGKILLed while Notifications/notify mails,
// after its Publish step: after the restart the invocation is retried, the mail goes out, and
// the notice is on the topic once (the Run's result was journaled before the kill).
func TestPublishOnceAcrossServerKill(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "orders", "notifications"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	held := kafka.Notice{Order: "o9", Status: kafka.Paid, Customer: "dee"}
	mailer := &gatedMailer{hold: held, entered: make(chan struct{}), release: make(chan struct{})}
	mailer.mu.calls = map[kafka.Notice]int{}
	var once sync.Once
	open := func() { once.Do(func() { close(mailer.release) }) }
	t.Cleanup(open) // a test that failed early must not leave the mail blocked
	url := testenv.ServeH2C(t, kafka.Endpoint(kafka.Config{Producer: producer, Topic: "notifications", Mailer: mailer}).Handler())
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t), Args: []string{"--partitions", "4"}})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	testenv.MustPost(t, srv.Admin+"/kafka-clusters",
		fmt.Sprintf(`{"name":"local","properties":{"bootstrap.servers":%q}}`, strings.Join(kc.ListenAddrs(), ",")), http.StatusCreated)
	testenv.MustPost(t, srv.Admin+"/subscriptions",
		`{"source":"kafka://local/orders","sink":"service://Order/onEvent","options":{"auto.offset.reset":"earliest"}}`, http.StatusCreated)
	produceEvents(t, kc, []event{{"o9", kafka.Event{Type: kafka.Created, Customer: "dee"}}, {"o9", kafka.Event{Type: kafka.Paid}}})

	select {
	case <-mailer.entered:
	case <-time.After(time.Minute):
		t.Fatal("the mail of o9's paid notice never started")
	}
	srv.Kill()
	srv.Restart()
	open() // the first attempt's mail returns into a dead stream; the retry mails again
	testenv.WaitReady(t, "the notice mailed", time.Minute, func() error {
		mailer.mu.Lock()
		defer mailer.mu.Unlock()
		if mailer.mu.sent < 1 {
			return fmt.Errorf("mail tried %d times, none went out", mailer.mu.calls[held])
		}
		return nil
	})
	var got []string
	for _, r := range readAll(t, kc, "notifications") {
		got = append(got, string(r.Key)+" "+string(r.Value)+" "+header(r, kafka.HeaderEventID))
	}
	if len(got) != 1 || !strings.Contains(got[0], `"status":"paid"`) {
		t.Errorf("notices on the topic: %q, want o9's paid notice once", got)
	}
	if n := mailer.calls(held); n != 2 {
		t.Errorf("mail of %+v tried %d times, want 2 (held across the kill, then retried)", held, n)
	}
	if v := view(t, srv, "o9"); v.Status != kafka.Paid || len(v.History) != 2 {
		t.Errorf("o9 is %+v, want paid after two events", v)
	}
}

// produceEvents writes the events to the topic orders, keyed by order id, in the order given.
func produceEvents(t *testing.T, kc *kfake.Cluster, events []event) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, e := range events {
		b, err := json.Marshal(e.Event)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Key: []byte(e.order), Value: b})
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readAll writes an end marker to every partition of topic and reads the topic from its start
// up to the markers: every record produced (and acked) before this call.
func readAll(t *testing.T, kc *kfake.Cluster, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for p := range int32(partitions) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte("end")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var recs []*kgo.Record
	for ends := 0; ends < partitions; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("read %s: %v (%d of %d partitions read)", topic, err, ends, partitions)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "end" {
				ends++
			} else {
				recs = append(recs, r)
			}
		})
	}
	return recs
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func view(t *testing.T, srv *testenv.Server, order string) kafka.View {
	t.Helper()
	r, err := testenv.Invoke(srv.Ingress, "/Order/"+order+"/get", "")
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("get %s: %v %v", order, r, err)
	}
	var v kafka.View
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("get %s: %s: %v", order, r.Body, err)
	}
	return v
}
