package ingest

import (
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/kafka"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// ManagerConfig configures a node's Manager.
type ManagerConfig struct {
	Registry *registry.Registry
	Log      Log
	Logger   *slog.Logger
	// Interval is how often the registry is looked at for subscriptions made or deleted
	// (DefaultInterval if 0).
	Interval time.Duration
	// NodeID names this node's consumers in their groups (static membership: a node restarted
	// takes its partitions back at once instead of after the session timeout).
	NodeID uint64
	// Opts are added to every consumer's franz-go options.
	Opts []kgo.Opt
	// Tracer, when set, makes a span for each record that becomes an invocation.
	Tracer *tracing.Tracer
}

// DefaultInterval is how often a Manager looks at the registry.
const DefaultInterval = 250 * time.Millisecond

// Manager runs a consumer for every subscription in the registry: started when the
// subscription appears (or its cluster's properties change), closed when it is deleted. Every
// node of a cluster runs one per subscription, in the subscription's consumer group, so Kafka
// shares the topic's partitions among them. It owns one goroutine and the consumers.
type Manager struct {
	cfg  ManagerConfig
	stop chan struct{}
	done chan struct{}

	running map[ids.SubscriptionID]*managed // the run goroutine's only
}

type managed struct {
	consumer *Consumer
	sub      registry.Subscription
	cluster  map[string]string
}

// StartManager starts watching cfg.Registry.
func StartManager(cfg ManagerConfig) *Manager {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{}), running: map[ids.SubscriptionID]*managed{}}
	go m.run()
	return m
}

// Close closes every consumer and stops watching.
func (m *Manager) Close() {
	close(m.stop)
	<-m.done
}

func (m *Manager) run() {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	var seen *registry.View
	failed := map[ids.SubscriptionID]bool{} // for the view seen: logged once
	for {
		if v := m.cfg.Registry.View(); v != seen || len(failed) > 0 {
			if v != seen {
				clear(failed)
			}
			seen = v
			m.sync(v, failed)
		}
		select {
		case <-m.stop:
			for id, r := range m.running {
				r.consumer.Close()
				delete(m.running, id)
			}
			return
		case <-t.C:
		}
	}
}

// sync starts and closes consumers so that one runs per subscription of v.
func (m *Manager) sync(v *registry.View, failed map[ids.SubscriptionID]bool) {
	want := map[ids.SubscriptionID]registry.Subscription{}
	for _, s := range v.Subscriptions() {
		want[s.ID] = s
	}
	for id, r := range m.running {
		s, ok := want[id]
		cluster, _ := v.KafkaCluster(s.Cluster)
		if ok && reflect.DeepEqual(s, r.sub) && maps.Equal(cluster.Properties, r.cluster) {
			continue
		}
		if ok {
			r.consumer.Close() // started again below, with what changed
		} else {
			r.consumer.Leave()
		}
		delete(m.running, id)
		m.cfg.Logger.Info("kafka subscription consumer stopped", "subscription", id.String(), "deleted", !ok)
	}
	for id, s := range want {
		if _, ok := m.running[id]; ok {
			continue
		}
		cluster, ok := v.KafkaCluster(s.Cluster)
		if !ok {
			m.fail(failed, id, "its Kafka cluster "+s.Cluster+" is not in the registry", nil)
			continue
		}
		kc, err := kafka.Parse(cluster.Properties)
		if err != nil {
			m.fail(failed, id, "its Kafka cluster's properties", err)
			continue
		}
		c, err := Start(Config{Subscription: s, Cluster: kc, Log: m.cfg.Log, Retention: retentionOf(v, s), Logger: m.cfg.Logger, Tracer: m.cfg.Tracer,
			InstanceID: fmt.Sprintf("resolute-node-%d", m.cfg.NodeID), Opts: m.cfg.Opts})
		if err != nil {
			m.fail(failed, id, "starting its consumer", err)
			continue
		}
		delete(failed, id)
		m.running[id] = &managed{consumer: c, sub: s, cluster: maps.Clone(cluster.Properties)}
		m.cfg.Logger.Info("kafka subscription consumer started", "subscription", id.String(), "source", s.Source(), "sink", s.Sink())
	}
}

// retentionOf is the retention of an invocation of s's sink, as the ingress gives a call's.
func retentionOf(v *registry.View, s registry.Subscription) *command.Retention {
	svc, ok := v.Service(s.Service)
	if !ok {
		return nil
	}
	r := svc.Retention(s.Handler, false)
	return &r
}

func (m *Manager) fail(failed map[ids.SubscriptionID]bool, id ids.SubscriptionID, what string, err error) {
	if !failed[id] {
		m.cfg.Logger.Error("kafka subscription not consumed", "subscription", id.String(), "problem", what, "err", err)
	}
	failed[id] = true
}
