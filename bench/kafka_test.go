package main

import (
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestKafkaTopics: the topics' record numbers follow one another without overlap (a record's
// value names it across topics, which is how the deployment tells a late record of the first
// case from one of the second), and each record's value is its number and its key one of keys.
func TestKafkaTopics(t *testing.T) {
	for _, ks := range []kafkaSettings{sizePresets["tiny"].Kafka, sizePresets["default"].Kafka, {Records: 7, ThroughputRecords: 3, Keys: 2}} {
		topics := kafkaTopics(ks)
		if len(topics) != 2 || topics[0].N != ks.ThroughputRecords || topics[1].N != ks.Records {
			t.Fatalf("%+v: topics %+v, want the throughput topic then the backlog", ks, topics)
		}
		next := 0
		for _, tp := range topics {
			if tp.First != next {
				t.Errorf("%+v: topic %s starts at %d, want %d (right after the previous one)", ks, tp.Name, tp.First, next)
			}
			next = tp.First + tp.N
		}
	}
	const keys = 4
	perKey := map[string]int{}
	for n := range 10 {
		r := kafkaRecord(n, keys)
		if v, err := strconv.Atoi(string(r.Value)); err != nil || v != n {
			t.Errorf("record %d: value %q, want %d", n, r.Value, n)
		}
		perKey[string(r.Key)]++
	}
	if want := map[string]int{"k0": 3, "k1": 3, "k2": 2, "k3": 2}; !maps.Equal(perKey, want) {
		t.Errorf("records per key %v, want %v", perKey, want)
	}
}

// TestRestateKafkaConfig: the configuration file given to restate-server is TOML naming the
// cluster the subscriptions use, with every broker.
func TestRestateKafkaConfig(t *testing.T) {
	brokers := []string{"127.0.0.1:4000", "127.0.0.1:4001"}
	var got struct {
		Ingress struct {
			Clusters []struct {
				Name    string   `toml:"name"`
				Brokers []string `toml:"brokers"`
			} `toml:"kafka-clusters"`
		} `toml:"ingress"`
	}
	text := restateKafkaConfig(brokers)
	if _, err := toml.Decode(text, &got); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	cs := got.Ingress.Clusters
	if len(cs) != 1 || cs[0].Name != kafkaClusterName || !slices.Equal(cs[0].Brokers, brokers) {
		t.Errorf("%s read as %+v, want one cluster %q with brokers %v", text, cs, kafkaClusterName, brokers)
	}
}

// TestKafkaRSSText: the RSS quoted at a quarter, half, three quarters and all of the records
// handled is the first sample that reached each.
func TestKafkaRSSText(t *testing.T) {
	samples := []kafkaSample{{0, 0, 100 << 10}, {time.Second, 10, 200 << 10}, {2 * time.Second, 50, 300 << 10},
		{3 * time.Second, 60, 400 << 10}, {4 * time.Second, 100, 500 << 10}}
	if got, want := kafkaRSSText(samples, 100), "MiB at records handled 0%: 100, 25%: 300, 50%: 300, 75%: 500, 100%: 500"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := kafkaRSSText(samples[:3], 100), "MiB at records handled 0%: 100, 25%: 300, 50%: 300"; got != want {
		t.Errorf("unfinished: got %q, want %q", got, want)
	}
}
