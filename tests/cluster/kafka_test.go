package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// kafkaOrders is a Kafka sink: Orders/add appends the record's value to its key's list,
// Orders/get returns it.
func kafkaOrders() *sdk.Endpoint {
	o := sdk.NewObject("Orders").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			seen, err := sdk.Get[[]int](ctx, "seen")
			if err != nil {
				return 0, err
			}
			seen = append(seen, n)
			return len(seen), sdk.Set(ctx, "seen", seen)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) ([]int, error) {
			return sdk.Get[[]int](ctx, "seen")
		}))
	return sdk.NewEndpoint().Bind(o)
}

// TestKafkaSubscriptionOnThreeNodes: a subscription made through one node is consumed by every
// node (three members in its consumer group, sharing the topic's six partitions); the records'
// positions live in the home partitions, reached over remoting. A node is SIGKILLed as the first
// records are handled (before the group's offsets are first committed, so its restarted consumer
// fetches its partitions from their start again) and restarted: every record is handled exactly
// once, in the order produced per key.
func TestKafkaSubscriptionOnThreeNodes(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	nodes := startCluster(t, 3)
	if _, err := testenv.Register(nodes[0].Admin, testenv.ServeH2C(t, kafkaOrders().Handler())); err != nil {
		t.Fatal(err)
	}
	checkClusterHealth(t, nodes)
	cluster := fmt.Sprintf(`{"name":"local","properties":{"bootstrap.servers":%q}}`, strings.Join(kc.ListenAddrs(), ","))
	testenv.MustPost(t, nodes[0].Admin+"/kafka-clusters", cluster, http.StatusCreated)
	r := testenv.MustPost(t, nodes[1].Admin+"/subscriptions",
		`{"source":"kafka://local/orders","sink":"service://Orders/add","options":{"auto.offset.reset":"earliest","resolute.max.in.flight":"30"}}`, http.StatusCreated)
	var sub struct {
		ID string `json:"id"`
	}
	testenv.DecodeReply(t, r, &sub)
	testenv.WaitReady(t, "every node in the consumer group", 30*time.Second, func() error {
		if n := testenv.KafkaGroupMembers(t, kc.ListenAddrs(), sub.ID); n != 3 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})

	const n, keys = 1500, 12
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(i))})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	handled := func(through *testenv.Server) (map[string][]int, int, error) {
		out, total := map[string][]int{}, 0
		for k := range keys {
			key := "k" + strconv.Itoa(k)
			r, err := testenv.Invoke(through.Ingress, "/Orders/"+key+"/get", "")
			if err != nil || r.Status != http.StatusOK {
				return nil, 0, fmt.Errorf("get %s: %v %v", key, r, err)
			}
			var l []int
			if err := json.Unmarshal(r.Body, &l); err != nil {
				return nil, 0, err
			}
			out[key], total = l, total+len(l)
		}
		return out, total, nil
	}
	testenv.WaitReady(t, "the first records handled", time.Minute, func() error {
		_, total, err := handled(nodes[0])
		switch {
		case err != nil:
			return err
		case total == 0:
			return fmt.Errorf("none handled")
		case total == n:
			return fmt.Errorf("all %d handled before the kill: the backlog is too small to test", n)
		}
		return nil
	})
	nodes[1].Kill()
	nodes[1].Restart()
	var got map[string][]int
	testenv.WaitReady(t, "every record handled", 2*time.Minute, func() error {
		var total int
		var err error
		got, total, err = handled(nodes[2])
		if err == nil && total < n {
			err = fmt.Errorf("%d of %d handled", total, n)
		}
		return err
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
