package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/kafka"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// Log is where a consumer's records go: the partitions (partition.Router implements it).
type Log interface {
	// Ingest proposes a record to its source's home partition and returns the outcome, which
	// carries the source's position.
	Ingest(ctx context.Context, in command.Ingest) (statemachine.Outcome, error)
	// Attach waits for invocation id to end; found is false while it does not exist.
	Attach(ctx context.Context, id ids.InvocationID) (ingress.Attachment, bool, error)
}

// Config configures one subscription's consumer.
type Config struct {
	Subscription registry.Subscription
	// Cluster is the subscription's Kafka cluster, its properties parsed (kafka.Parse).
	Cluster kafka.Config
	Log     Log
	// Retention is the retention of an invocation of the sink (nil: none given).
	Retention *command.Retention
	Logger    *slog.Logger
	// InstanceID, when set, makes the consumer a static member of its group under that id.
	InstanceID string
	// Opts are added to the franz-go client's options (tests: shorter waits).
	Opts []kgo.Opt
	// Tracer, when set, makes a span for each record that becomes an invocation.
	Tracer *tracing.Tracer
}

// Consumer consumes one subscription's topic. Its run goroutine owns sources; the invocations in
// flight are tracked by inflight (a semaphore) and attachers (their goroutines).
type Consumer struct {
	cfg    Config
	client *kgo.Client
	group  string
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	inflight  chan struct{} // one token per invocation in flight
	attachers sync.WaitGroup
	sources   map[sourceKey]*source // run's only
	paused    bool                  // run's only: fetching paused at the bound
}

type sourceKey struct {
	topic     string
	partition int32
}

// source is what the consumer knows of one Kafka partition: from is the stored position as
// last learned (command.IngestFromUnknown until it asks); seekedTo is the position it last
// sought back to (-1: none).
type source struct{ from, seekedTo int64 }

// retryWait bounds the wait before proposing records again after an error (no leader, refused
// under load, outcome unknown).
const retryWait = time.Second

// Start creates the franz-go client of cfg's subscription (its consumer group, its topic, its
// start offset) and starts consuming.
func Start(cfg Config) (*Consumer, error) {
	sub := cfg.Subscription
	opts, err := cfg.Cluster.Opts()
	if err != nil {
		return nil, fmt.Errorf("ingest: subscription %s: cluster %s: %w", sub.ID, sub.Cluster, err)
	}
	start := kgo.NewOffset().AtEnd()
	if sub.StartOffset == registry.StartEarliest {
		start = kgo.NewOffset().AtStart()
	}
	group := sub.GroupID
	if group == "" {
		group = sub.ID.String()
	}
	opts = append(opts,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(sub.Topic),
		kgo.ConsumeResetOffset(start),
		// Offsets are committed only for records ingested (a hint where to start fetching: the
		// position stored with the records is the truth).
		kgo.AutoCommitMarks(),
	)
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	opts = append(opts, cfg.Opts...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("ingest: subscription %s: kafka client: %w", sub.ID, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	max := sub.MaxInFlight
	if max <= 0 {
		max = registry.DefaultMaxInFlight
	}
	c := &Consumer{
		cfg: cfg, client: client, group: group, log: cfg.Logger.With("subscription", sub.ID.String(), "topic", sub.Topic),
		done: make(chan struct{}), inflight: make(chan struct{}, max), sources: map[sourceKey]*source{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Close stops consuming: the poll loop and the attachers end, the client closes (committing the
// offsets marked). Records proposed stay proposed; their invocations run on. The consumer stays
// a member of its group (static membership) until the group's session timeout, so that the
// node, restarted, takes its partitions back at once; Leave leaves it at once.
func (c *Consumer) Close() {
	c.cancel()
	<-c.done
	c.attachers.Wait()
	c.client.Close()
}

// Leave is Close for a subscription deleted: the consumer also leaves its group, so that
// nothing of the group waits for it.
func (c *Consumer) Leave() {
	c.cancel()
	<-c.done
	c.attachers.Wait()
	c.client.Close() // a static member does not leave its group on close: ask the group
	if c.cfg.InstanceID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(c.cfg.adminOpts()...)
	if err != nil {
		c.log.Warn("kafka consumer group not left", "err", err)
		return
	}
	defer admin.Close()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = c.group
	m := kmsg.NewLeaveGroupRequestMember()
	m.InstanceID = &c.cfg.InstanceID
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, admin)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		c.log.Warn("kafka consumer group not left", "group", c.group, "err", err)
	}
}

// adminOpts are the options of a short-lived client for group requests: the cluster's, without
// the consumer's.
func (cfg Config) adminOpts() []kgo.Opt {
	opts, _ := cfg.Cluster.Opts() // they worked for the consumer
	return opts
}

func (c *Consumer) run() {
	defer close(c.done)
	for c.ctx.Err() == nil {
		c.waitBelowBound()
		fetches := c.client.PollRecords(c.ctx, cap(c.inflight))
		if fetches.IsClientClosed() || c.ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("kafka fetch failed", "kafka_partition", partition, "err", err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			c.ingest(c.source(p.Topic, p.Partition), p.Records)
		})
	}
}

func (c *Consumer) source(topic string, partition int32) *source {
	k := sourceKey{topic, partition}
	s := c.sources[k]
	if s == nil {
		s = &source{from: command.IngestFromUnknown, seekedTo: -1}
		c.sources[k] = s
	}
	return s
}

// maxBatch bounds the records of one Ingest (one log entry).
const maxBatch = 256

// ingest makes the records of one Kafka partition (in offset order) invocations, once, in
// batches. When the stored position says records before these were not ingested, it seeks back
// there and drops the rest (they come again).
func (c *Consumer) ingest(src *source, rs []*kgo.Record) {
	backoff := 50 * time.Millisecond
	var spans recordSpans
	for c.ctx.Err() == nil {
		rs = src.unseen(rs)
		if len(rs) == 0 {
			return
		}
		n := c.acquire(min(len(rs), maxBatch))
		if n == 0 {
			return
		}
		batch := rs[:n]
		in := command.Ingest{Subscription: c.cfg.Subscription.ID.String(), Topic: batch[0].Topic, Partition: batch[0].Partition, From: src.from}
		for _, r := range batch {
			rec := Record(in.Subscription, c.target(), c.cfg.Retention, r)
			rec.Invoke.Trace = spans.start(c, r, &rec)
			in.Records = append(in.Records, rec)
		}
		o, err := c.cfg.Log.Ingest(c.ctx, in)
		if err != nil {
			c.releaseN(n)
			c.log.Debug("records not ingested, proposing them again", "kafka_partition", in.Partition, "from", in.Records[0].Offset, "records", n, "err", err)
			c.sleep(backoff)
			backoff = min(2*backoff, retryWait)
			continue
		}
		backoff = 50 * time.Millisecond
		pos := int64(command.IngestFromUnknown)
		if o.Position != nil {
			pos = *o.Position
		}
		switch o.Code {
		case statemachine.Applied:
			src.from = pos
			c.client.MarkCommitRecords(batch[n-1])
			spans.end(in.Records)
			for _, r := range in.Records {
				if r.Skip != "" {
					c.releaseN(1)
					c.log.Warn("record skipped", "kafka_partition", in.Partition, "offset", r.Offset, "reason", r.Skip)
					continue
				}
				c.attach(r.Invoke.ID)
			}
			rs = rs[n:]
		case statemachine.Stale:
			c.releaseN(n)
			src.from = pos
			if pos < 0 || pos >= rs[0].Offset || src.seekedTo == pos {
				// Nothing stored (these come first), or some of these were ingested before
				// (unseen drops them), or the records from pos on up to the first fetched
				// after a seek to pos do not exist (compacted, transaction markers).
				continue
			}
			// Records from pos on were not ingested: read them again.
			src.seekedTo = pos
			c.client.SetOffsets(map[string]map[int32]kgo.EpochOffset{in.Topic: {in.Partition: {Epoch: -1, Offset: pos}}})
			return
		default:
			c.releaseN(n)
			c.log.Error("records refused, skipping them", "kafka_partition", in.Partition, "from", in.Records[0].Offset, "records", n, "outcome", o.Message)
			rs = rs[n:]
		}
	}
}

// unseen drops the records below the stored position (ingested before).
func (s *source) unseen(rs []*kgo.Record) []*kgo.Record {
	if s.from < 0 {
		return rs
	}
	i := 0
	for i < len(rs) && rs[i].Offset < s.from {
		i++
	}
	return rs[i:]
}

// acquire takes up to n in-flight tokens, at least one, waiting (fetching paused) while the
// bound is reached; 0 when the consumer stops.
func (c *Consumer) acquire(n int) int {
	got := 0
	for got < n {
		select {
		case c.inflight <- struct{}{}:
			got++
			continue
		default:
		}
		if got > 0 {
			return got
		}
		c.pause()
		select {
		case c.inflight <- struct{}{}:
			got++
		case <-c.ctx.Done():
			return 0
		}
	}
	return got
}

func (c *Consumer) releaseN(n int) {
	for range n {
		<-c.inflight
	}
}

// waitBelowBound resumes fetching once a token is free again.
func (c *Consumer) waitBelowBound() {
	if !c.paused {
		return
	}
	select {
	case c.inflight <- struct{}{}:
		c.releaseN(1)
	case <-c.ctx.Done():
		return
	}
	c.client.ResumeFetchTopics(c.cfg.Subscription.Topic)
	c.paused = false
}

func (c *Consumer) pause() {
	if !c.paused {
		c.client.PauseFetchTopics(c.cfg.Subscription.Topic)
		c.paused = true
	}
}

// attach holds the in-flight token of invocation id until it ends.
func (c *Consumer) attach(id ids.InvocationID) {
	c.attachers.Go(func() {
		defer c.releaseN(1)
		for backoff := 20 * time.Millisecond; c.ctx.Err() == nil; backoff = min(2*backoff, retryWait) {
			_, found, err := c.cfg.Log.Attach(c.ctx, id)
			if err == nil && found {
				return
			}
			// Not created yet (the outbox delivers it soon), or no leader for a moment.
			c.sleep(backoff)
		}
	})
}

func (c *Consumer) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}

// recordSpans are the spans of records proposed and not yet ingested (tracing on): a record
// proposed again (the outcome was unknown, or stale before the position was known) keeps its
// span and trace, so it gets one span, ended once its invocation is made.
type recordSpans map[int64]recordSpan

type recordSpan struct {
	span  tracing.Span
	trace *command.Trace
}

// start returns the trace of the invocation rec makes from r, starting r's span the first time.
func (rs *recordSpans) start(c *Consumer, r *kgo.Record, rec *command.IngestRecord) *command.Trace {
	if !c.cfg.Tracer.Enabled() || rec.Skip != "" {
		return nil
	}
	if s, ok := (*rs)[r.Offset]; ok {
		return s.trace
	}
	if *rs == nil {
		*rs = recordSpans{}
	}
	span, trace := c.cfg.Tracer.StartKafka(tracing.KafkaRecord{ID: rec.Invoke.ID, Target: rec.Invoke.Target,
		Headers: rec.Invoke.Headers, Group: c.group, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
	(*rs)[r.Offset] = recordSpan{span, trace}
	return trace
}

// end ends the spans of the records ingested.
func (rs recordSpans) end(ingested []command.IngestRecord) {
	for _, r := range ingested {
		if s, ok := rs[r.Offset]; ok {
			s.span.End()
			delete(rs, r.Offset)
		}
	}
}
