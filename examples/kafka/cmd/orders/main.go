// Command orders serves the Order object and the Notifications service of the order-events
// example over h2c, to register with any server that speaks the Restate protocol: resolute
// server or the official restate-server. Notices are published to a Kafka topic and "mailed"
// to stdout.
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/examples/kafka"
)

type printingMailer struct{}

func (printingMailer) Mail(n kafka.Notice) error {
	fmt.Printf("mail to %s: your order %s is %s\n", n.Customer, n.Order, n.Status)
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka brokers, comma-separated")
	topic := flag.String("topic", "notifications", "topic for notices")
	flag.Parse()
	// franz-go's producer is idempotent by default (acks from all in-sync replicas).
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	log.Printf("orders deployment listening on %s (notices to %s on %s)", *addr, *topic, *brokers)
	log.Fatal(kafka.Endpoint(kafka.Config{Producer: cl, Topic: *topic, Mailer: printingMailer{}}).ListenAndServe(*addr))
}
