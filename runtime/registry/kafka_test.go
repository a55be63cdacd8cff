package registry_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
)

func kafkaRejection(err error) (int, string) {
	var rej *registry.RejectedError
	if !errors.As(err, &rej) {
		return 0, ""
	}
	return rej.Status, rej.Error()
}

// TestKafkaClusters: clusters made through the API and from the configuration file, each refusal
// with restate-server's status and wording, the configuration's precedence rules, and every
// record surviving a rebuild of the view.
func TestKafkaClusters(t *testing.T) {
	db := openMem(t)
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ctx := context.Background()
	brokers := map[string]string{"bootstrap.servers": "k:9092"}
	if _, err := c.SyncConfigKafkaClusters(ctx, []registry.KafkaCluster{{Name: "cfg", Properties: map[string]string{"metadata.broker.list": "c:9092"}}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		do         func() error
		status     int
		msgContain string
	}{
		{"create", func() error { _, err := c.CreateKafkaCluster(ctx, "api", brokers); return err }, 0, ""},
		{"create again", func() error { _, err := c.CreateKafkaCluster(ctx, "api", brokers); return err }, 409, "kafka cluster 'api' already exists in schema registry"},
		{"create over the configuration", func() error { _, err := c.CreateKafkaCluster(ctx, "cfg", brokers); return err }, 409, "kafka cluster 'cfg' conflicts with static configuration"},
		{"create without brokers", func() error { _, err := c.CreateKafkaCluster(ctx, "x", map[string]string{"a": "b"}); return err }, 400, "kafka cluster 'x' properties must contain either 'bootstrap.servers' or 'metadata.broker.list'"},
		{"update", func() error {
			_, err := c.UpdateKafkaCluster(ctx, "api", map[string]string{"bootstrap.servers": "k2:9092", "sasl.password": "p"})
			return err
		}, 0, ""},
		{"update without brokers", func() error { _, err := c.UpdateKafkaCluster(ctx, "api", nil); return err }, 400, "must contain either"},
		{"update unknown", func() error { _, err := c.UpdateKafkaCluster(ctx, "nope", brokers); return err }, 404, "not found in the schema registry: kafka cluster 'nope'"},
		{"update the configuration's", func() error { _, err := c.UpdateKafkaCluster(ctx, "cfg", brokers); return err }, 409, "kafka cluster 'cfg' cannot be updated, because it was defined in the restate configuration file"},
		{"delete the configuration's", func() error { _, err := c.DeleteKafkaCluster(ctx, "cfg", true); return err }, 409, "cannot be updated"},
		{"delete unknown", func() error { _, err := c.DeleteKafkaCluster(ctx, "nope", false); return err }, 404, "not found in the schema registry: kafka cluster named 'nope'"},
	}
	for _, s := range steps {
		err := s.do()
		status, msg := kafkaRejection(err)
		if (s.status == 0) != (err == nil) || status != s.status || !strings.Contains(msg, s.msgContain) {
			t.Errorf("%s: %v (status %d), want status %d with %q", s.name, err, status, s.status, s.msgContain)
		}
	}
	for _, r := range []*registry.Registry{reg, mustReopen(t, reg, db)} {
		got := r.KafkaClusters()
		if len(got) != 2 || got[0].Name != "api" || got[1].Name != "cfg" || !got[1].FromConfig || got[0].FromConfig ||
			got[0].Properties["bootstrap.servers"] != "k2:9092" || got[0].Properties["sasl.password"] != "p" || got[0].CreatedAt == 0 || got[1].CreatedAt != 0 {
			t.Errorf("clusters %+v", got)
		}
	}
	// The configuration names "api" too and drops "cfg": the API's cluster stays, "cfg" goes.
	notes, err := c.SyncConfigKafkaClusters(ctx, []registry.KafkaCluster{{Name: "api", Properties: map[string]string{"metadata.broker.list": "c:9092"}}})
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "'api' of the configuration file is shadowed") {
		t.Errorf("sync: %q %v", notes, err)
	}
	if kc, ok := reg.KafkaCluster("api"); !ok || kc.FromConfig || !kc.Shadows || kc.Properties["bootstrap.servers"] != "k2:9092" {
		t.Errorf("api after the sync: %+v %v", kc, ok)
	}
	if _, err := c.SyncConfigKafkaClusters(ctx, []registry.KafkaCluster{}); err != nil {
		t.Fatal(err)
	}
	if kc, ok := reg.KafkaCluster("api"); !ok || kc.Shadows {
		t.Errorf("api once the configuration no longer names it: %+v %v", kc, ok)
	}
	if _, ok := reg.KafkaCluster("cfg"); ok {
		t.Error("cfg, dropped from the configuration and unused, is still there")
	}
	if _, err := c.DeleteKafkaCluster(ctx, "api", false); err != nil {
		t.Errorf("delete api: %v", err)
	}
	if got := reg.KafkaClusters(); len(got) != 0 {
		t.Errorf("clusters left: %+v", got)
	}
}

func mustReopen(t *testing.T, _ *registry.Registry, db *pebble.DB) *registry.Registry {
	t.Helper()
	r, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSubscriptions: a subscription records its source, sink (with the service and handler
// types), start offset, bound and group; each bad request is refused with restate-server's status
// and wording where it has one; a cluster in use is not deleted without force (409 naming every
// subscription), nor dropped from the configuration; everything survives a rebuild of the view.
func TestSubscriptions(t *testing.T) {
	db := openMem(t)
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ctx := context.Background()
	if _, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a:9080", Manifest: manifest(t, greeter+","+counter)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateKafkaCluster(ctx, "k1", map[string]string{"bootstrap.servers": "k:9092", "group.id": "cluster-group"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SyncConfigKafkaClusters(ctx, []registry.KafkaCluster{{Name: "cfg", Properties: map[string]string{"metadata.broker.list": "c:9092", "client.id": "mine"}}}); err != nil {
		t.Fatal(err)
	}
	first, err := c.CreateSubscription(ctx, "kafka://k1/orders", "service://Counter/add", map[string]string{"auto.offset.reset": "earliest", "resolute.max.in.flight": "7"})
	if err != nil {
		t.Fatal(err)
	}
	want := registry.Subscription{ID: first.ID, Cluster: "k1", Topic: "orders", Service: "Counter", Handler: "add",
		ServiceType: command.VirtualObject, HandlerType: command.Exclusive, StartOffset: "earliest", GroupID: "cluster-group", MaxInFlight: 7, CreatedAt: first.CreatedAt,
		Options: map[string]string{"auto.offset.reset": "earliest", "resolute.max.in.flight": "7", "group.id": "cluster-group", "client.id": "resolute"}}
	if !sameSubscription(first, want) || !strings.HasPrefix(first.ID.String(), "sub_1") || first.CreatedAt == 0 || !first.Keyed() {
		t.Errorf("first: %+v\nwant %+v", first, want)
	}
	second, err := c.CreateSubscription(ctx, "kafka://cfg/a.b_c-1", "service://Greeter/greet", nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.StartOffset != "latest" || second.MaxInFlight != registry.DefaultMaxInFlight || second.GroupID != second.ID.String() ||
		second.Options["group.id"] != second.ID.String() || second.Options["client.id"] != "" || second.Keyed() || second.Source() != "kafka://cfg/a.b_c-1" || second.Sink() != "service://Greeter/greet" {
		t.Errorf("second: %+v", second)
	}
	third, err := c.CreateSubscription(ctx, "kafka://k1/orders#ignored", "service://Greeter/greet?ignored", map[string]string{"group.id": "g", "client.id": "c", "auto.offset.reset": "smallest"})
	if err != nil || third.GroupID != "g" || third.Options["client.id"] != "c" || third.StartOffset != "earliest" {
		t.Errorf("third: %+v %v", third, err)
	}
	bad := []struct {
		source, sink string
		options      map[string]string
		status       int
		msg          string
	}{
		{"kafka://nope/t", "service://Greeter/greet", nil, 400, `Kafka cluster 'nope' not found. Available clusters: ["cfg", "k1"]`},
		{"http://k1/t", "service://Greeter/greet", nil, 400, "[META0009] invalid source URI 'http://k1/t': must have a scheme segment, with supported schemes: [kafka]."},
		{"KAFKA://k1/t", "service://Greeter/greet", nil, 400, "[META0009] invalid source URI 'KAFKA://k1/t': must have a scheme segment"},
		{"kafka://k1", "service://Greeter/greet", nil, 400, "invalid source URI 'kafka://k1/': must be kafka://CLUSTER/TOPIC: the topic is empty"},
		{"kafka://k1/a/b", "service://Greeter/greet", nil, 400, `the topic "a/b" has '/'`},
		{"kafka://k1/t?x=1", "service://Greeter/greet", nil, 400, "no query allowed"},
		{"k1/t", "service://Greeter/greet", nil, 422, "source: invalid format"},
		{"kafka:///t", "service://Greeter/greet", nil, 422, "source: invalid format"},
		{"not a uri", "service://Greeter/greet", nil, 422, "source: invalid uri character"},
		{"kafka://k1/t", "service:///greet", nil, 422, "sink: invalid format"},
		{"kafka://k1/t", "http://Greeter/greet", nil, 400, "[META0009] invalid sink URI 'http://Greeter/greet': must have a scheme segment, with supported schemes: [service]."},
		{"kafka://k1/t", "service://Greeter/nope", nil, 400, "[META0009] invalid sink URI 'service://Greeter/nope': cannot find service/handler specified in the sink URI."},
		{"kafka://k1/t", "service://Nope/greet", nil, 400, "cannot find service/handler"},
		{"kafka://k1/t", "service://Greeter", nil, 400, "invalid sink URI 'service://Greeter/': cannot find"},
		{"kafka://k1/t", "service://Greeter/greet", map[string]string{"foo": "bar", "zz": "y"}, 400, "unknown option 'foo'"},
		{"kafka://k1/t", "service://Greeter/greet", map[string]string{"auto.offset.reset": "error"}, 400, "auto.offset.reset 'error': want earliest or latest"},
		{"kafka://k1/t", "service://Greeter/greet", map[string]string{"resolute.max.in.flight": "0"}, 400, "resolute.max.in.flight '0': want a whole number from 1 to 1000000"},
		{"kafka://k1/t", "service://Greeter/greet", map[string]string{"resolute.max.in.flight": "many"}, 400, "resolute.max.in.flight 'many'"},
	}
	for _, b := range bad {
		_, err := c.CreateSubscription(ctx, b.source, b.sink, b.options)
		status, msg := kafkaRejection(err)
		if status != b.status || !strings.Contains(msg, b.msg) {
			t.Errorf("%s -> %s %v: %d %q, want %d with %q", b.source, b.sink, b.options, status, msg, b.status, b.msg)
		}
	}
	// A cluster in use stays: not deleted without force, not dropped with the configuration.
	_, err = c.DeleteKafkaCluster(ctx, "k1", false)
	if status, msg := kafkaRejection(err); status != 409 || msg != "Removing the kafka cluster 'k1' leads to subscriptions '"+first.ID.String()+"', '"+third.ID.String()+"' being orphan. Remove the subscriptions first, or use the 'force' flag." {
		t.Errorf("delete k1: %d %q", status, msg)
	}
	notes, err := c.SyncConfigKafkaClusters(ctx, nil)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "'cfg' is no longer in the configuration file but stays while subscriptions read from it: "+second.ID.String()) {
		t.Errorf("sync without cfg: %q %v", notes, err)
	}
	for _, r := range []*registry.Registry{reg, mustReopen(t, reg, db)} {
		subs := r.Subscriptions()
		if len(subs) != 3 || !sameSubscription(subs[0], want) || subs[1].ID != second.ID || subs[2].ID != third.ID {
			t.Errorf("subscriptions %+v", subs)
		}
		if s, ok := r.Subscription(second.ID); !ok || s.Topic != "a.b_c-1" {
			t.Errorf("second by id: %+v %v", s, ok)
		}
		if _, ok := r.KafkaCluster("cfg"); !ok {
			t.Error("cfg dropped while in use")
		}
	}
	if err := c.DeleteSubscription(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if status, msg := kafkaRejection(c.DeleteSubscription(ctx, first.ID)); status != 404 || msg != "not found in the schema registry: subscription with id '"+first.ID.String()+"'" {
		t.Errorf("delete again: %d %q", status, msg)
	}
	_, err = c.DeleteKafkaCluster(ctx, "k1", false)
	if status, msg := kafkaRejection(err); status != 409 || !strings.Contains(msg, "leads to subscription '"+third.ID.String()+"' being orphan. Remove the subscription first") {
		t.Errorf("delete k1 with one user: %d %q", status, msg)
	}
	orphans, err := c.DeleteKafkaCluster(ctx, "k1", true)
	if err != nil || len(orphans) != 1 || orphans[0] != third.ID.String() {
		t.Errorf("forced delete: %q %v", orphans, err)
	}
	if _, ok := reg.Subscription(first.ID); ok {
		t.Error("deleted subscription still listed")
	}
	if _, ok := reg.Subscription(ids.SubscriptionID{Hi: 1}); ok {
		t.Error("unknown id found")
	}
}

func sameSubscription(a, b registry.Subscription) bool {
	return maps.Equal(a.Options, b.Options) && a.ID == b.ID && a.Cluster == b.Cluster && a.Topic == b.Topic &&
		a.Service == b.Service && a.Handler == b.Handler && a.ServiceType == b.ServiceType && a.HandlerType == b.HandlerType &&
		a.StartOffset == b.StartOffset && a.GroupID == b.GroupID && a.MaxInFlight == b.MaxInFlight && a.CreatedAt == b.CreatedAt
}

// TestKafkaCommandsWellFormed: each Kafka command kind decodes with its own field set and is
// refused with another kind's field, so a command cannot be applied as the wrong one.
func TestKafkaCommandsWellFormed(t *testing.T) {
	kc := &registry.KafkaClusterCommand{Cluster: registry.KafkaCluster{Name: "k"}}
	for _, c := range []registry.Command{
		{Kind: registry.KindCreateKafkaCluster, CreateKafkaCluster: kc},
		{Kind: registry.KindUpdateKafkaCluster, UpdateKafkaCluster: kc},
		{Kind: registry.KindDeleteKafkaCluster, DeleteKafkaCluster: &registry.DeleteKafkaClusterCommand{Name: "k"}},
		{Kind: registry.KindSyncConfigKafkaClusters, SyncConfigKafkaClusters: &registry.SyncConfigKafkaClustersCommand{}},
		{Kind: registry.KindCreateSubscription, CreateSubscription: &registry.CreateSubscriptionCommand{Source: "kafka://k/t"}},
		{Kind: registry.KindDeleteSubscription, DeleteSubscription: &registry.DeleteSubscriptionCommand{}},
	} {
		data, err := registry.EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := registry.DecodeCommand(data); err != nil || back.Kind != c.Kind {
			t.Errorf("kind %d: %+v %v", c.Kind, back, err)
		}
		wrong := c
		wrong.Kind = registry.KindCreateKafkaCluster + (c.Kind-registry.KindCreateKafkaCluster+1)%6 // the next Kafka kind
		if wrong.Kind == c.Kind {
			t.Fatalf("kind %d: no other kind", c.Kind)
		}
		data, _ = registry.EncodeCommand(wrong)
		if _, err := registry.DecodeCommand(data); err == nil {
			t.Errorf("kind %d with the field of kind %d decoded", wrong.Kind, c.Kind)
		}
	}
}
