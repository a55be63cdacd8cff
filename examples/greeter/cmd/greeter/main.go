// Command greeter serves the greeter example over h2c, to register with any server that speaks
// the Restate protocol: resolute server or the official restate-server.
package main

import (
	"flag"
	"log"

	"github.com/resolute-run/resolute/examples/greeter"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	flag.Parse()
	log.Printf("greeter deployment listening on %s", *addr)
	log.Fatal(greeter.Endpoint().ListenAndServe(*addr))
}
