// Command foodorder serves the FoodOrder workflow over h2c, to register with any server that
// speaks the Restate protocol: resolute server or the official restate-server. The messages the
// workflow sends (to the restaurant, the courier service, the customer) are printed on stdout.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/resolute-run/resolute/examples/foodorder"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	flag.Parse()
	log.Printf("foodorder deployment listening on %s", *addr)
	log.Fatal(foodorder.Endpoint(os.Stdout).ListenAndServe(*addr))
}
