// Command gosdk serves the official Restate Go SDK side of Resolute's
// compatibility test (tests/compat): a Virtual Object GoCounter that mirrors
// the TypeScript TsCounter in compat/ts and calls it across SDKs.
//
// It lives in its own module so that the main module never requires
// github.com/restatedev/sdk-go.
//
//	go build -o gosdk . && ./gosdk -port 9081
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	restate "github.com/restatedev/sdk-go"
	"github.com/restatedev/sdk-go/server"
)

func main() {
	port := flag.Int("port", defaultPort(), "TCP port to serve on (loopback); default $PORT or 9081")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	err := server.NewRestate().Bind(goCounter()).Start(ctx, addr)
	if err != nil {
		log.Fatalf("gosdk: %v", err)
	}
}

func defaultPort() int {
	if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
		return p
	}
	return 9081
}

// goCounter is GoCounter: exclusive add(n) and callTs(n), shared get.
func goCounter() restate.ServiceDefinition {
	return restate.NewObject("GoCounter").
		Handler("add", restate.NewObjectHandler(add)).
		Handler("get", restate.NewObjectSharedHandler(get)).
		Handler("callTs", restate.NewObjectHandler(callTs))
}

// add reads "count", records n through a durable side effect, writes the sum
// and returns it.
func add(ctx restate.ObjectContext, n int) (int, error) {
	count, err := restate.Get[int](ctx, "count")
	if err != nil {
		return 0, err
	}
	delta, err := restate.Run(ctx, func(restate.RunContext) (int, error) {
		return n, nil
	}, restate.WithName("delta"))
	if err != nil {
		return 0, err
	}
	restate.Set(ctx, "count", count+delta)
	return count + delta, nil
}

func get(ctx restate.ObjectSharedContext, _ restate.Void) (int, error) {
	return restate.Get[int](ctx, "count")
}

// callTs calls TsCounter/{same key}/add(n) and returns its result.
func callTs(ctx restate.ObjectContext, n int) (int, error) {
	return restate.Object[int](ctx, "TsCounter", restate.Key(ctx), "add").Request(n)
}
