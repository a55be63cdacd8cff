// Command broker runs franz-go's kfake, an in-memory Kafka broker that speaks Kafka's wire
// protocol, with the topics orders and notifications, to try the example without a Kafka
// installation. Everything is gone when it stops.
package main

import (
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "listen port (127.0.0.1)")
	partitions := flag.Int("partitions", 4, "partitions per topic")
	flag.Parse()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(*port), kfake.SeedTopics(int32(*partitions), "orders", "notifications"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	log.Printf("kfake broker on %v with topics orders and notifications (%d partitions each)", c.ListenAddrs(), *partitions)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
}
