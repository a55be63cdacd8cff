// Package kafka tests Kafka subscriptions end to end: franz-go's kfake cluster (the real Kafka
// wire protocol, in the test process), the real server binary, a Go SDK deployment.
package kafka

import (
	"context"
	"encoding/json"
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

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

const topic = "orders"

// orders is the sink: Orders/add appends the record's value (a number) to its key's list;
// Orders/get returns the list. headers records the Kafka headers each key's first record had.
func orders(headers *sync.Map) *sdk.Endpoint {
	o := sdk.NewObject("Orders").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			seen, err := sdk.Get[[]int](ctx, "seen")
			if err != nil {
				return 0, err
			}
			headers.LoadOrStore(ctx.Key(), ctx.Headers())
			seen = append(seen, n)
			return len(seen), sdk.Set(ctx, "seen", seen)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) ([]int, error) {
			return sdk.Get[[]int](ctx, "seen")
		}))
	return sdk.NewEndpoint().Bind(o)
}

// setup starts a kfake cluster with the topic (4 partitions), the server and the orders
// deployment, and subscribes Orders/add to the topic from its start, with the options given
// (JSON members).
func setup(t *testing.T, options string) (*kfake.Cluster, *testenv.Server, *sync.Map, string) {
	t.Helper()
	var headers sync.Map
	kc, srv, sub := setupSink(t, orders(&headers), "Orders/add", options)
	return kc, srv, &headers, sub
}

// setupSink is setup with the deployment ep and the sink service/handler, and the server's
// arguments args added.
func setupSink(t *testing.T, ep *sdk.Endpoint, sink, options string, args ...string) (*kfake.Cluster, *testenv.Server, string) {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	srv := testenv.StartServer(t, testenv.ServerConfig{Args: append([]string{"--partitions", "4"}, args...)})
	if _, err := testenv.Register(srv.Admin, testenv.ServeH2C(t, ep.Handler())); err != nil {
		t.Fatal(err)
	}
	cluster := fmt.Sprintf(`{"name":"local","properties":{"bootstrap.servers":%q}}`, strings.Join(kc.ListenAddrs(), ","))
	testenv.MustPost(t, srv.Admin+"/kafka-clusters", cluster, http.StatusCreated)
	r := testenv.MustPost(t, srv.Admin+"/subscriptions",
		`{"source":"kafka://local/orders","sink":"service://`+sink+`","options":{"auto.offset.reset":"earliest"`+options+`}}`, http.StatusCreated)
	var sub struct {
		ID string `json:"id"`
	}
	testenv.DecodeReply(t, r, &sub)
	return kc, srv, sub.ID
}

// produce writes n records, key k<i mod keys>, value i (from first on), and waits for the acks.
func produce(t *testing.T, kc *kfake.Cluster, first, n, keys int) {
	t.Helper()
	var recs []*kgo.Record
	for i := first; i < first+n; i++ {
		recs = append(recs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "x-source", Value: []byte("test")}}})
	}
	produceRecords(t, kc, recs)
}

// produceRecords writes recs to the topic and waits for the acks.
func produceRecords(t *testing.T, kc *kfake.Cluster, recs []*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// seen reads each key's list through the ingress.
func seen(t *testing.T, srv *testenv.Server, keys int) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for k := range keys {
		key := "k" + strconv.Itoa(k)
		r, err := testenv.Invoke(srv.Ingress, "/Orders/"+key+"/get", "")
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("get %s: %v %v", key, r, err)
		}
		var list []int
		if err := json.Unmarshal(r.Body, &list); err != nil {
			t.Fatalf("get %s: %s: %v", key, r.Body, err)
		}
		out[key] = list
	}
	return out
}

// waitAll waits until the keys have n values in all, and checks each key got exactly the values
// produced for it (first..first+n), once each, in the order they were produced.
func waitAll(t *testing.T, srv *testenv.Server, n, keys int) {
	t.Helper()
	var got map[string][]int
	testenv.WaitReady(t, fmt.Sprintf("%d records handled", n), 2*time.Minute, func() error {
		got = seen(t, srv, keys)
		total := 0
		for _, l := range got {
			total += len(l)
		}
		if total < n {
			return fmt.Errorf("%d of %d handled", total, n)
		}
		return nil
	})
	for k := range keys {
		key := "k" + strconv.Itoa(k)
		var want []int
		for i := k; i < n; i += keys {
			want = append(want, i)
		}
		if !slices.Equal(got[key], want) {
			t.Errorf("%s handled %v, want %v (each record once, in the order produced)", key, got[key], want)
		}
	}
}

// TestRecordsBecomeInvocationsInOrder: records produced with 8 keys over 4 Kafka partitions reach
// the Virtual Object of their key once each, in the order produced, with the Kafka metadata as
// headers.
func TestRecordsBecomeInvocationsInOrder(t *testing.T) {
	kc, srv, headers, sub := setup(t, "")
	const n, keys = 400, 8
	produce(t, kc, 0, n, keys)
	waitAll(t, srv, n, keys)
	h, ok := headers.Load("k3")
	if !ok {
		t.Fatal("no headers recorded for k3")
	}
	hs := h.(map[string]string)
	for _, name := range []string{"kafka.offset", "kafka.partition", "kafka.timestamp"} {
		if _, err := strconv.ParseInt(hs[name], 10, 64); err != nil {
			t.Errorf("header %s = %q, want a number (headers %v)", name, hs[name], hs)
		}
	}
	for name, want := range map[string]string{"kafka.topic": topic, "kafka.key": "azM=", "restate.subscription.id": sub, "x-source": "test"} {
		if hs[name] != want {
			t.Errorf("header %s = %q, want %q (headers %v)", name, hs[name], want, hs)
		}
	}
}

// TestExactlyOnceAcrossKill: the server is SIGKILLed as the first records of a backlog are
// handled (before the group's offsets are first committed) and restarted;
// every record is handled exactly once, in order per key (the positions stored with the
// records, not the consumer group's commits, decide where consumption resumes). A small
// in-flight bound keeps most of the backlog in Kafka until the kill, and the group's offsets,
// committed every few seconds, behind the stored positions.
func TestExactlyOnceAcrossKill(t *testing.T) {
	kc, srv, _, _ := setup(t, `,"resolute.max.in.flight":"40"`)
	const n, keys = 2000, 16
	produce(t, kc, 0, n, keys)
	testenv.WaitReady(t, "the first records handled", time.Minute, func() error {
		total := 0
		for _, l := range seen(t, srv, keys) {
			total += len(l)
		}
		if total == 0 {
			return fmt.Errorf("none handled")
		}
		if total == n {
			return fmt.Errorf("all %d handled before the kill: the backlog is too small to test", n)
		}
		return nil
	})
	srv.Kill()
	srv.Restart()
	waitAll(t, srv, n, keys)
}
