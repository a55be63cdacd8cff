// Command resolute-chaos-deployment serves the chaos checker's deployment
// (package chaos/deployment) over h2c until it is killed.
//
//	resolute-chaos-deployment --addr 127.0.0.1:9080 --exec-log runs.log [--services Counter]
package main

import (
	"cmp"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/resolute-run/resolute/chaos/deployment"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address (h2c)")
	execLog := flag.String("exec-log", "chaos-exec.log", "file to append each Run execution to")
	services := flag.String("services", "", "comma-separated services to serve (Counter, Workflowish); all if empty")
	flag.Parse()
	log, err := deployment.OpenExecLog(*execLog)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var names []string
	if *services != "" {
		names = strings.Split(*services, ",")
	}
	ep, err := deployment.Endpoint(log, names...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *addr, Handler: ep.Handler()}
	fmt.Fprintf(os.Stderr, "resolute-chaos-deployment: serving %s on %s, exec log %s\n", cmp.Or(*services, "all services"), *addr, *execLog)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
