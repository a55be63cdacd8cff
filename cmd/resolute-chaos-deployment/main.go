// Command resolute-chaos-deployment serves the chaos checker's deployment
// (package chaos/deployment) over h2c until it is killed.
//
//	resolute-chaos-deployment --addr 127.0.0.1:9080 --exec-log runs.log
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/resolute-run/resolute/chaos/deployment"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address (h2c)")
	execLog := flag.String("exec-log", "chaos-exec.log", "file to append each Run execution to")
	flag.Parse()
	log, err := deployment.OpenExecLog(*execLog)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: *addr, Handler: deployment.Endpoint(log).Handler()}
	fmt.Fprintf(os.Stderr, "resolute-chaos-deployment: serving on %s, exec log %s\n", *addr, *execLog)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
