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
//	              timer, and those of them that did so before it was due),
//	              {"awakePublished","awakeDone","waitingEntered","waitingDone"} (distinct
//	              tags or workflow keys), {"awakeDoneRuns","waitingDoneRuns"} (returns of
//	              those handlers), {"ended":{"Service/handler":n}} (attempts of the
//	              Awakeable and WaitingWorkflow handlers whose stream has ended)
//	GET  /awakeables {tag: awakeable id} published by Awakeable/wait
//	GET  /waiting    {workflow key: value} returned by WaitingWorkflow/run
//	GET  /kafka?from=A&to=B {"distinct","runs"}: records of the kafka scenario whose value
//	              (the record's number) is in [A, B) that KafkaSink/add handled (distinct
//	              numbers, and returns of the handler)
//	POST /reset   clear the counters and block Run bodies again
//	POST /release release every blocked Run body, and let later ones pass
//
// Awakeable and WaitingWorkflow announce an inactivity timeout of waitInactivity,
// so that the runtime makes their waiting invocations suspend soon (the default
// is a minute); the other services keep the runtime's default.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
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
	ep := sdk.NewEndpoint().Bind(benchService(&c), counterObject(), awakeableService(&c), waitingWorkflow(&c), kafkaSink(&c))
	h := &endpoint{ep: ep, c: &c, inactivity: map[string]time.Duration{
		"Awakeable": waitInactivity, "WaitingWorkflow": waitInactivity,
	}}
	// 10,000 invocations held open at once need far more than the default
	// 250 concurrent streams per connection.
	h2 := &http2.Server{MaxConcurrentStreams: 1 << 20}
	go func() {
		log.Fatal(http.ListenAndServe(*control, c.mux()))
	}()
	fmt.Fprintf(os.Stderr, "bench go deployment on %s, control on %s\n", *addr, *control)
	log.Fatal(http.ListenAndServe(*addr, h2c.NewHandler(h, h2)))
}

// waitInactivity is the inactivity timeout of the services whose invocations wait for
// the harness (Awakeable, WaitingWorkflow): the runtime closes their idle streams after
// it, and the SDK suspends them.
const waitInactivity = time.Second

// endpoint serves ep and counts, per "Service/handler" of the services in inactivity,
// the attempts whose stream has ended; an attempt that ends before its handler returned
// has suspended. It also adds each of those services' inactivity timeout to the
// discovery manifest: the SDK has no option for it yet.
type endpoint struct {
	ep         http.Handler
	c          *counters
	inactivity map[string]time.Duration
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	n := len(segs)
	switch {
	case segs[n-1] == "discover":
		e.discover(w, r)
	case n >= 3 && segs[n-3] == "invoke" && e.inactivity[segs[n-2]] != 0:
		defer e.c.attemptEnded(segs[n-2] + "/" + segs[n-1])
		e.ep.ServeHTTP(w, r)
	default:
		e.ep.ServeHTTP(w, r)
	}
}

// discover answers the SDK's manifest with inactivityTimeout (milliseconds, the manifest's
// unit) set on the services of e.inactivity.
func (e *endpoint) discover(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	e.ep.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec, rec.Body.Bytes())
		return
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		http.Error(w, fmt.Sprintf("bench deployment: decode the SDK's manifest: %v", err), http.StatusInternalServerError)
		return
	}
	services, _ := m["services"].([]any)
	for _, s := range services {
		svc, _ := s.(map[string]any)
		name, _ := svc["name"].(string)
		if d := e.inactivity[name]; svc != nil && d != 0 {
			svc["inactivityTimeout"] = d.Milliseconds()
		}
	}
	body, err := json.Marshal(m)
	if err != nil {
		http.Error(w, fmt.Sprintf("bench deployment: encode the manifest: %v", err), http.StatusInternalServerError)
		return
	}
	copyResponse(w, rec, body)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("content-length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// awakeableService: wait(tag) creates an awakeable, publishes its id under tag for the
// harness (in this process: nothing is journaled for it, and a replay publishes the same
// id again), waits for it and returns its value.
func awakeableService(c *counters) *sdk.Service {
	return sdk.NewService("Awakeable").
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, tag string) (string, error) {
			a := sdk.Awakeable[string](ctx)
			c.awakePublished.set(tag, a.ID())
			v, err := a.Result()
			if err != nil {
				return "", err
			}
			c.awakeDone.set(tag, v)
			c.awakeDoneRuns.Add(1)
			return v, nil
		}))
}

// waitingWorkflow: run waits for its durable promise "value" and returns it; the shared
// handler resolve(value) completes that promise.
func waitingWorkflow(c *counters) *sdk.Workflow {
	return sdk.NewWorkflow("WaitingWorkflow").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, _ sdk.Void) (string, error) {
			c.waitingEntered.set(ctx.Key(), "")
			v, err := sdk.Promise[string](ctx, "value").Result()
			if err != nil {
				return "", err
			}
			c.waitingDone.set(ctx.Key(), v)
			c.waitingDoneRuns.Add(1)
			return v, nil
		})).
		Handler("resolve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, v string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, "value").Resolve(v)
		}))
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

// overloadSteps is how many Run steps Counter.addAfterSteps journals before it adds: the
// overload scenario's workload, costly enough per call that the load generator, on the same
// cores as the server, can offer four times the rate the server sustains.
const overloadSteps = 8

func counterObject() *sdk.Object {
	add := func(ctx sdk.ObjectContext, n int) (int, error) {
		count, err := sdk.Get[int](ctx, "count")
		if err != nil {
			return 0, err
		}
		return count + n, sdk.Set(ctx, "count", count+n)
	}
	return sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(add)).
		Handler("addAfterSteps", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			for i := range overloadSteps {
				if _, err := sdk.Run(ctx, func(sdk.RunContext) (int, error) { return i, nil }); err != nil {
					return 0, err
				}
			}
			return add(ctx, n)
		}))
}

// strMap is a string map shared by handlers and the control API.
type strMap struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *strMap) set(k, v string) {
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}

func (s *strMap) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *strMap) clear() {
	s.mu.Lock()
	s.m = map[string]string{}
	s.mu.Unlock()
}

func (s *strMap) writeJSON(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("content-type", "application/json")
	json.NewEncoder(w).Encode(s.m)
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
	// awakePublished: tag → awakeable id; awakeDone: tag → value returned;
	// waitingEntered: workflow keys whose run started; waitingDone: key → value returned.
	awakePublished, awakeDone, waitingEntered, waitingDone strMap
	awakeDoneRuns, waitingDoneRuns                         atomic.Int64
	kafka                                                  kafkaRuns
	mu                                                     struct {
		sync.Mutex
		gate  chan struct{}
		ended map[string]int64 // "Service/handler" → attempts whose stream ended
	}
}

func (c *counters) attemptEnded(handler string) {
	c.mu.Lock()
	c.mu.ended[handler]++
	c.mu.Unlock()
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
	c.awakePublished.clear()
	c.awakeDone.clear()
	c.waitingEntered.clear()
	c.waitingDone.clear()
	c.awakeDoneRuns.Store(0)
	c.waitingDoneRuns.Store(0)
	c.kafka.clear()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.ended = map[string]int64{}
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
		c.mu.Lock()
		ended := maps.Clone(c.mu.ended)
		c.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{
			"sleepEntered": c.sleepEntered.len(), "sleepWoke": c.sleepWoke.len(), "blockEntered": c.blockEntered.len(),
			"sleepWokeRuns": c.sleepWokeRuns.Load(), "sleepEarly": c.sleepEarly.Load(),
			"awakePublished": c.awakePublished.len(), "awakeDone": c.awakeDone.len(), "awakeDoneRuns": c.awakeDoneRuns.Load(),
			"waitingEntered": c.waitingEntered.len(), "waitingDone": c.waitingDone.len(), "waitingDoneRuns": c.waitingDoneRuns.Load(),
			"ended": ended,
		})
	})
	mux.HandleFunc("GET /awakeables", func(w http.ResponseWriter, _ *http.Request) { c.awakePublished.writeJSON(w) })
	mux.HandleFunc("GET /waiting", func(w http.ResponseWriter, _ *http.Request) { c.waitingDone.writeJSON(w) })
	mux.HandleFunc("GET /kafka", func(w http.ResponseWriter, r *http.Request) {
		from, err1 := strconv.Atoi(r.URL.Query().Get("from"))
		to, err2 := strconv.Atoi(r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil || from < 0 || to < from {
			http.Error(w, "want ?from=A&to=B with 0 <= A <= B", http.StatusBadRequest)
			return
		}
		distinct, runs := c.kafka.count(from, to)
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(map[string]int64{"distinct": distinct, "runs": runs})
	})
	mux.HandleFunc("POST /reset", func(http.ResponseWriter, *http.Request) { c.reset() })
	mux.HandleFunc("POST /release", func(http.ResponseWriter, *http.Request) { c.release() })
	return mux
}

// kafkaSink: add(n) is the sink of the kafka scenario's subscriptions. A record's key is the
// Virtual Object key and its value n, the record's number, unique over the scenario's topics.
// It counts the key's records in the object's state (get + set, as Counter/add: the runtime's
// per-record work is a keyed invocation with state) and, in this process, the returns per
// record number, so the harness sees records missing and records handled more than once.
func kafkaSink(c *counters) *sdk.Object {
	return sdk.NewObject("KafkaSink").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			if err := sdk.Set(ctx, "count", count+1); err != nil {
				return 0, err
			}
			c.kafka.add(n)
			return count + 1, nil
		}))
}

// kafkaRuns counts handler returns per record number: a slice indexed by the number, grown as
// needed (a million records take 4 MB).
type kafkaRuns struct {
	mu   sync.Mutex
	runs []uint32
}

func (k *kafkaRuns) add(n int) {
	if n < 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if n >= len(k.runs) {
		k.runs = append(k.runs, make([]uint32, n+1-len(k.runs)+len(k.runs)/2)...)
	}
	k.runs[n]++
}

// count returns how many numbers in [from, to) were handled, and the returns in all.
func (k *kafkaRuns) count(from, to int) (distinct, runs int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range k.runs[min(from, len(k.runs)):min(to, len(k.runs))] {
		if r > 0 {
			distinct++
			runs += int64(r)
		}
	}
	return distinct, runs
}

func (k *kafkaRuns) clear() {
	k.mu.Lock()
	k.runs = nil
	k.mu.Unlock()
}
