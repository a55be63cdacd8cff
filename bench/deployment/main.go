// Command deployment serves the benchmark services with Resolute's Go SDK: the
// twin of compat/ts/bench.mjs (same service names, handlers and control API),
// so `go run ./bench` drives both deployments with the same load.
//
//	deployment --addr 127.0.0.1:9080 --control-addr 127.0.0.1:9081
//
// --addr serves the Restate service protocol over h2c. --control-addr is a
// plain HTTP API for the harness:
//
//	GET  /stats   {"sleepEntered","sleepWoke","blockEntered"} (distinct invocation ids),
//	              {"sleepWokeRuns","sleepEarly"} (sleep handlers that ran past their
//	              timer, and those of them that did so before it was due)
//	POST /reset   clear the counters and block Run bodies again
//	POST /release release every blocked Run body, and let later ones pass
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/sdk"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "service protocol (h2c) listen address")
	control := flag.String("control-addr", "127.0.0.1:9081", "control API listen address")
	flag.Parse()

	var c counters
	c.reset()
	ep := sdk.NewEndpoint().Bind(benchService(&c), counterObject())
	// 10,000 invocations held open at once need far more than the default
	// 250 concurrent streams per connection.
	h2 := &http2.Server{MaxConcurrentStreams: 1 << 20}
	go func() {
		log.Fatal(http.ListenAndServe(*control, c.mux()))
	}()
	fmt.Fprintf(os.Stderr, "bench go deployment on %s, control on %s\n", *addr, *control)
	log.Fatal(http.ListenAndServe(*addr, h2c.NewHandler(ep, h2)))
}

func benchService(c *counters) *sdk.Service {
	return sdk.NewService("Bench").
		Handler("noop", sdk.ServiceHandler(func(_ sdk.Context, x int) (int, error) { return x, nil })).
		Handler("leaf", sdk.ServiceHandler(func(_ sdk.Context, x int) (int, error) { return x, nil })).
		Handler("steps", sdk.ServiceHandler(steps)).
		Handler("fanout", sdk.ServiceHandler(fanout)).
		Handler("sleep", sdk.ServiceHandler(func(ctx sdk.Context, wakeAt int64) (int, error) {
			c.sleepEntered.add(ctx.InvocationID())
			d := time.Until(time.UnixMilli(wakeAt))
			if err := sdk.Sleep(ctx, max(d, 0)); err != nil {
				return 0, err
			}
			if time.Now().UnixMilli() < wakeAt {
				c.sleepEarly.Add(1)
			}
			c.sleepWokeRuns.Add(1)
			c.sleepWoke.add(ctx.InvocationID())
			return 0, nil
		})).
		Handler("block", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (int, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (int, error) {
				c.block(ctx.InvocationID())
				return 0, nil
			}, sdk.WithName("block"))
		}))
}

// steps performs n sequential durable side effects.
func steps(ctx sdk.Context, n int) (int, error) {
	sum := 0
	for i := range n {
		v, err := sdk.Run(ctx, func(sdk.RunContext) (int, error) { return i, nil }, sdk.WithName(fmt.Sprintf("step%d", i)))
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// fanout calls Bench/leaf n times concurrently and awaits them all.
func fanout(ctx sdk.Context, n int) (int, error) {
	futs := make([]*sdk.CallFuture[int], n)
	all := make([]sdk.Future, n)
	for i := range n {
		futs[i] = sdk.CallAsync[int](ctx, sdk.ToService("Bench", "leaf"), i)
		all[i] = futs[i]
	}
	if err := sdk.Wait(ctx, all...); err != nil {
		return 0, err
	}
	sum := 0
	for _, f := range futs {
		v, err := f.Result()
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func counterObject() *sdk.Object {
	return sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		}))
}

// idSet counts distinct invocation ids.
type idSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.ids[id] = struct{}{}
	s.mu.Unlock()
}

func (s *idSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *idSet) clear() {
	s.mu.Lock()
	s.ids = map[string]struct{}{}
	s.mu.Unlock()
}

// counters are what the harness reads through the control API. Blocked Run
// bodies wait on gate until release closes it.
type counters struct {
	sleepEntered, sleepWoke, blockEntered idSet
	sleepWokeRuns, sleepEarly             atomic.Int64
	mu                                    struct {
		sync.Mutex
		gate chan struct{}
	}
}

// reset clears the counters and closes the gate again. An open gate is kept,
// so bodies still blocked from before (a killed server's attempts) are
// released with the new ones.
func (c *counters) reset() {
	c.sleepEntered.clear()
	c.sleepWoke.clear()
	c.sleepWokeRuns.Store(0)
	c.sleepEarly.Store(0)
	c.blockEntered.clear()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.gate == nil || isClosed(c.mu.gate) {
		c.mu.gate = make(chan struct{})
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *counters) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !isClosed(c.mu.gate) {
		close(c.mu.gate)
	}
}

func (c *counters) block(id string) {
	c.blockEntered.add(id)
	c.mu.Lock()
	gate := c.mu.gate
	c.mu.Unlock()
	<-gate
}

func (c *counters) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(map[string]int64{
			"sleepEntered": int64(c.sleepEntered.len()), "sleepWoke": int64(c.sleepWoke.len()), "blockEntered": int64(c.blockEntered.len()),
			"sleepWokeRuns": c.sleepWokeRuns.Load(), "sleepEarly": c.sleepEarly.Load(),
		})
	})
	mux.HandleFunc("POST /reset", func(http.ResponseWriter, *http.Request) { c.reset() })
	mux.HandleFunc("POST /release", func(http.ResponseWriter, *http.Request) { c.release() })
	return mux
}
