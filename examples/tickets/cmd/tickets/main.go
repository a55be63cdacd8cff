// Command tickets serves the Seat and Cart objects over h2c, to register with any server that
// speaks the Restate protocol: resolute server or the official restate-server. Tickets are
// printed on stdout.
package main

import (
	"flag"
	"log"
	"os"
	"time"

	"github.com/resolute-run/resolute/examples/tickets"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	hold := flag.Duration("hold", tickets.DefaultHold, "how long a seat stays in a cart")
	flag.Parse()
	log.Printf("tickets deployment listening on %s (holds last %v)", *addr, *hold)
	cfg := tickets.Config{
		HoldFor:   func() time.Duration { return *hold },
		BoxOffice: &tickets.PrintingBoxOffice{Out: os.Stdout},
	}
	log.Fatal(tickets.Endpoint(cfg).ListenAndServe(*addr))
}
