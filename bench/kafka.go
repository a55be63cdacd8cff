package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The kafka scenario: a kfake cluster (franz-go's in-process Kafka, the real wire protocol) in
// the bench process holds topics pre-filled before any server starts; for each server a
// subscription feeds one topic to KafkaSink/add (a Virtual Object keyed by the record key that
// counts in its state), from the earliest offset, and the harness measures how fast the
// deployment sees every record and the server's RSS while the backlog drains.

// kafkaSettings are the kafka scenario's sizes (0: the --size preset's).
type kafkaSettings struct {
	Records           int `json:"records"`           // the backlog case's topic
	ThroughputRecords int `json:"throughputRecords"` // the throughput case's topic
	Keys              int `json:"keys"`              // distinct record keys (Virtual Object keys)
}

// kafkaClusterName is the cluster's name in both servers, kafkaPartitions the topics' Kafka
// partitions.
const (
	kafkaClusterName = "bench"
	kafkaPartitions  = 8
)

// kafkaTopic is one pre-filled topic: records numbered first..first+n-1.
type kafkaTopic struct {
	Name  string
	First int
	N     int
	Case  string
}

// kafkaSource is the running kfake cluster and its topics.
type kafkaSource struct {
	cluster *kfake.Cluster
	brokers []string
	keys    int
	topics  []kafkaTopic
}

// kafkaTopics lays out the scenario's topics: the throughput case first, then the backlog,
// numbered one after the other so that a record's number (its value) names it across topics.
func kafkaTopics(ks kafkaSettings) []kafkaTopic {
	return []kafkaTopic{
		{Name: "bench-throughput", First: 0, N: ks.ThroughputRecords, Case: fmt.Sprintf("%d records, throughput", ks.ThroughputRecords)},
		{Name: "bench-backlog", First: ks.ThroughputRecords, N: ks.Records, Case: fmt.Sprintf("%d-record backlog", ks.Records)},
	}
}

// kafkaRecord is record number n: key "k<n mod keys>", value n as JSON (KafkaSink/add's input).
func kafkaRecord(n, keys int) *kgo.Record {
	return &kgo.Record{Key: []byte("k" + strconv.Itoa(n%keys)), Value: []byte(strconv.Itoa(n))}
}

// startKafka starts the kfake cluster on 127.0.0.1 and fills its topics.
func startKafka(ctx context.Context, ks kafkaSettings, logf func(string, ...any)) (*kafkaSource, error) {
	topics := kafkaTopics(ks)
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, names...))
	if err != nil {
		return nil, fmt.Errorf("kafka: start kfake: %w", err)
	}
	src := &kafkaSource{cluster: c, brokers: c.ListenAddrs(), keys: ks.Keys, topics: topics}
	for _, t := range topics {
		start := time.Now()
		if err := src.fill(ctx, t); err != nil {
			c.Close()
			return nil, err
		}
		logf("bench: kafka: %s filled with %d records (%d keys) in %v", t.Name, t.N, ks.Keys, time.Since(start).Round(100*time.Millisecond))
	}
	return src, nil
}

// fill produces the topic's records and waits for every acknowledgement.
func (k *kafkaSource) fill(ctx context.Context, t kafkaTopic) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.DefaultProduceTopic(t.Name),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return fmt.Errorf("kafka: producer: %w", err)
	}
	defer cl.Close()
	var failed atomic.Int64
	var first atomic.Value
	for n := t.First; n < t.First+t.N; n++ {
		cl.Produce(ctx, kafkaRecord(n, k.keys), func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				first.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: fill %s: %w", t.Name, err)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("kafka: fill %s: %d records not produced; first: %v", t.Name, n, first.Load())
	}
	return nil
}

func (k *kafkaSource) close() { k.cluster.Close() }

// restateKafkaConfig is the [[ingress.kafka-clusters]] section naming the kfake cluster, for
// restate-server's --config-file (restate-server 1.7 reads clusters from its configuration).
func restateKafkaConfig(brokers []string) string {
	quoted := make([]string, len(brokers))
	for i, b := range brokers {
		quoted[i] = strconv.Quote(b)
	}
	return fmt.Sprintf("[[ingress.kafka-clusters]]\nname = %q\nbrokers = [%s]\n", kafkaClusterName, strings.Join(quoted, ", "))
}

// kafkaPollEvery is how often the deployment's counts are read; kafkaStallAfter is how long
// the count may stand still before the case fails with what was handled.
const (
	kafkaPollEvery  = 100 * time.Millisecond
	kafkaStallAfter = 2 * time.Minute
)

func kafkaScenario(ctx context.Context, e *env) []result {
	src := e.cfg.kafkaSrc
	if src == nil {
		r := e.result("kafka", "(all)")
		r.Err = "no Kafka cluster was started"
		return []result{r}
	}
	var out []result
	for _, t := range src.topics {
		if t.N > 0 {
			out = append(out, e.kafkaCase(ctx, src, t))
		}
	}
	return out
}

// kafkaCase subscribes KafkaSink/add to the topic from its earliest offset and waits until the
// deployment has handled every record, sampling the server's RSS meanwhile; then deletes the
// subscription.
func (e *env) kafkaCase(ctx context.Context, src *kafkaSource, t kafkaTopic) result {
	r := e.result("kafka", t.Case)
	fail := func(format string, args ...any) result {
		r.Err = fmt.Sprintf(format, args...)
		return r
	}
	if e.dep.kind != "go" {
		return fail("only the go deployment has KafkaSink")
	}
	if err := e.dep.post("reset"); err != nil {
		return fail("%v", err)
	}
	if e.srv.kind == "resolute" {
		if err := ensureKafkaCluster(ctx, e.srv.admin, src.brokers); err != nil {
			return fail("%v", err)
		}
	}
	before, err := e.srv.rssKiB()
	if err != nil {
		return fail("read RSS: %v", err)
	}
	t0 := time.Now()
	id, err := subscribe(ctx, e.srv.admin, t.Name)
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		if err := unsubscribe(e.srv.admin, id); err != nil {
			e.cfg.logf("bench: kafka: %v", err)
		}
	}()
	// The server's RSS while the backlog drains, with the records handled so far.
	samples := []kafkaSample{{0, 0, before}}
	progress, err := e.dep.waitKafka(ctx, t, kafkaStallAfter, func(now time.Time, handled int64) {
		if kib, err := e.srv.rssKiB(); err == nil {
			samples = append(samples, kafkaSample{now.Sub(t0), handled, kib})
		}
	})
	csv := filepath.Join(e.cfg.workDir, fmt.Sprintf("kafka-%s-%s-%s.csv", e.srv.kind, e.dep.kind, t.Name))
	if werr := writeKafkaCSV(csv, samples); werr != nil {
		e.cfg.logf("bench: kafka: %v", werr)
	}
	if err != nil {
		return fail("%v (RSS %s)", err, kafkaRSSText(samples, t.N))
	}
	elapsed := progress.at.Sub(t0)
	// Records handled again after the count was complete are re-deliveries too: look once more
	// after a moment.
	time.Sleep(time.Second)
	final, err := e.dep.kafkaCounts(ctx, t)
	if err != nil {
		return fail("%v", err)
	}
	mib := func(kib int64) float64 { return float64(kib) / 1024 }
	end, rssMax := samples[len(samples)-1].rssKiB, int64(0)
	for _, s := range samples {
		rssMax = max(rssMax, s.rssKiB)
	}
	r.Figures = []figure{
		{"records/s", float64(t.N) / elapsed.Seconds(), "higher"},
		{"drained s", elapsed.Seconds(), "lower"},
		{"RSS before MiB", mib(before), "lower"},
		{"RSS max MiB", mib(rssMax), "lower"},
		{"RSS end MiB", mib(end), "lower"},
		{"RSS growth MiB", mib(rssMax - before), "lower"},
		{"re-deliveries", float64(final.Runs - final.Distinct), "lower"},
	}
	r.Note = fmt.Sprintf("%d records over %d keys and %d Kafka partitions; first handled %.1fs after the subscription; RSS %s",
		t.N, src.keys, kafkaPartitions, progress.first.Sub(t0).Seconds(), kafkaRSSText(samples, t.N))
	return r
}

// ensureKafkaCluster creates the kfake cluster through resolute's admin API, unless it exists.
func ensureKafkaCluster(ctx context.Context, admin string, brokers []string) error {
	payload, _ := json.Marshal(map[string]any{"name": kafkaClusterName,
		"properties": map[string]string{"bootstrap.servers": strings.Join(brokers, ",")}})
	status, body, err := request(ctx, controlClient, http.MethodPost, admin+"/kafka-clusters", string(payload))
	if err != nil {
		return fmt.Errorf("create the Kafka cluster: %w", err)
	}
	if status != http.StatusCreated && !(status == http.StatusConflict && strings.Contains(string(body), "already exists")) {
		return fmt.Errorf("create the Kafka cluster: status %d: %.300s", status, body)
	}
	return nil
}

// subscribe creates the subscription of KafkaSink/add to the topic, from its earliest offset,
// and returns its id.
func subscribe(ctx context.Context, admin, topic string) (string, error) {
	payload, _ := json.Marshal(map[string]any{
		"source":  "kafka://" + kafkaClusterName + "/" + topic,
		"sink":    "service://KafkaSink/add",
		"options": map[string]string{"auto.offset.reset": "earliest"},
	})
	status, body, err := request(ctx, controlClient, http.MethodPost, admin+"/subscriptions", string(payload))
	if err != nil {
		return "", fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	var sub struct {
		ID string `json:"id"`
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return "", fmt.Errorf("subscribe to %s: status %d: %.300s", topic, status, body)
	}
	if err := json.Unmarshal(body, &sub); err != nil || sub.ID == "" {
		return "", fmt.Errorf("subscribe to %s: no id in %.300s (%v)", topic, body, err)
	}
	return sub.ID, nil
}

func unsubscribe(admin, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, body, err := request(ctx, controlClient, http.MethodDelete, admin+"/subscriptions/"+id, "")
	if err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("delete subscription %s: status %d: %.300s", id, status, body)
	}
	return nil
}

// kafkaCount is what the deployment counted for a topic's record numbers: distinct numbers
// handled, and handler returns in all.
type kafkaCount struct {
	Distinct int64 `json:"distinct"`
	Runs     int64 `json:"runs"`
}

func (d *deployment) kafkaCounts(ctx context.Context, t kafkaTopic) (kafkaCount, error) {
	var c kafkaCount
	err := getJSON(ctx, fmt.Sprintf("%s/kafka?from=%d&to=%d", d.control, t.First, t.First+t.N), &c)
	if err != nil {
		return c, fmt.Errorf("deployment %s: kafka counts: %w", d.kind, err)
	}
	return c, nil
}

// kafkaProgress: when the first record was seen handled, and when the last.
type kafkaProgress struct {
	first, at time.Time
}

// waitKafka polls the deployment until every record of the topic was handled, calling poll
// with the count after each read. It fails when the count stood still for stall, naming how
// many were handled.
func (d *deployment) waitKafka(ctx context.Context, t kafkaTopic, stall time.Duration, poll func(time.Time, int64)) (kafkaProgress, error) {
	var p kafkaProgress
	last, lastMove := int64(-1), time.Now()
	for {
		c, err := d.kafkaCounts(ctx, t)
		now := time.Now()
		if err == nil {
			poll(now, c.Distinct)
			if c.Distinct > 0 && p.first.IsZero() {
				p.first = now
			}
			if c.Distinct >= int64(t.N) {
				p.at = now
				return p, nil
			}
			if c.Distinct != last {
				last, lastMove = c.Distinct, now
			}
		}
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
		if now.Sub(lastMove) > stall {
			return p, fmt.Errorf("only %d of %d records handled; none more for %v (last error: %v)", max(last, 0), t.N, stall, err)
		}
		time.Sleep(kafkaPollEvery)
	}
}

// kafkaSample is the server's RSS when the deployment had handled so many records.
type kafkaSample struct {
	at      time.Duration // since the subscription was created
	handled int64
	rssKiB  int64
}

// kafkaRSSText is the RSS (MiB) when a quarter, half, three quarters and all of n records had
// been handled: whether memory follows the records handled or stays flat.
func kafkaRSSText(samples []kafkaSample, n int) string {
	var parts []string
	next := 0
	for _, q := range []int{0, 25, 50, 75, 100} {
		for next < len(samples) && samples[next].handled*100 < int64(q)*int64(n) {
			next++
		}
		if next == len(samples) {
			break
		}
		parts = append(parts, fmt.Sprintf("%d%%: %.0f", q, float64(samples[next].rssKiB)/1024))
	}
	return "MiB at records handled " + strings.Join(parts, ", ")
}

// writeKafkaCSV writes the samples: seconds since the subscription, records handled, RSS KiB.
func writeKafkaCSV(path string, samples []kafkaSample) error {
	var b strings.Builder
	b.WriteString("seconds,handled,rss_kib\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%.2f,%d,%d\n", s.at.Seconds(), s.handled, s.rssKiB)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("kafka: samples: %w", err)
	}
	return nil
}
