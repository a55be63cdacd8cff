// Command payments serves the Payments service over h2c, to register with any server that speaks
// the Restate protocol: resolute server or the official restate-server. Without --provider it
// also runs payments.FakeProvider on --fake-addr and prints its ledger, with the awakeable of each
// shipment (resolve it to deliver the carrier's label).
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"

	"github.com/resolute-run/resolute/examples/payments"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	provider := flag.String("provider", "", "base URL of the provider's API (empty: run the fake one)")
	fakeAddr := flag.String("fake-addr", "127.0.0.1:9081", "listen address of the fake provider")
	flag.Parse()
	if *provider == "" {
		fake := &payments.FakeProvider{}
		fake.AfterAct = func(line string) {
			if f := strings.Fields(line); f[0] == "ship" {
				line += "; the carrier resolves awakeable " + fake.Awakeable(f[1])
			}
			log.Printf("provider: %s", line)
		}
		*provider = "http://" + *fakeAddr
		go func() { log.Fatal(http.ListenAndServe(*fakeAddr, fake)) }()
	}
	log.Printf("payments deployment listening on %s (provider %s)", *addr, *provider)
	log.Fatal(payments.Endpoint(payments.HTTPProvider{BaseURL: *provider}).ListenAndServe(*addr))
}
