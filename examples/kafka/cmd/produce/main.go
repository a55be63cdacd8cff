// Command produce writes an order event to the topic orders, keyed by the order id, or reads a
// topic from its start (the notices: -read notifications).
//
//	produce [-brokers HOST:PORT] ORDER TYPE [CUSTOMER]
//	produce [-brokers HOST:PORT] -read TOPIC
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/examples/kafka"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka brokers, comma-separated")
	topic := flag.String("topic", "orders", "topic of the events")
	read := flag.String("read", "", "print this topic's records from its start, for a few seconds, instead of producing")
	flag.Parse()
	seeds := kgo.SeedBrokers(strings.Split(*brokers, ",")...)
	if *read != "" {
		if err := readTopic(seeds, *read); err != nil {
			log.Fatal(err)
		}
		return
	}
	if flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: produce [-brokers HOST:PORT] ORDER TYPE [CUSTOMER] | -read TOPIC")
		os.Exit(2)
	}
	e := kafka.Event{Type: flag.Arg(1), Customer: flag.Arg(2)}
	value, err := json.Marshal(e)
	if err != nil {
		log.Fatal(err)
	}
	cl, err := kgo.NewClient(seeds, kgo.DefaultProduceTopic(*topic))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(flag.Arg(0)), Value: value}).First()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s: partition %d, offset %d\n", r.Key, r.Value, r.Partition, r.Offset)
}

// readTopic prints the records of topic that arrive within 3 s of the last one (or of the start).
func readTopic(seeds kgo.Opt, topic string) error {
	cl, err := kgo.NewClient(seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		fs := cl.PollFetches(ctx)
		quiet := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, h.Key+"="+string(h.Value))
			}
			fmt.Printf("%s/%d@%d %s %s [%s]\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value, strings.Join(hs, " "))
		})
		if quiet {
			return nil
		}
		if err := fs.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
	}
}
