package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// kind is what an operation does through ingress.
type kind string

const (
	kindAdd    kind = "add"    // POST /Counter/{key}/add, idempotent
	kindSend   kind = "send"   // POST /Counter/{key}/add/send, idempotent
	kindGet    kind = "get"    // POST /Counter/{key}/get (shared)
	kindGetX   kind = "getx"   // POST /Counter/{key}/getx (exclusive)
	kindFlow   kind = "flow"   // POST /Workflowish/run, idempotent; adds to key
	kindFanout kind = "fanout" // POST /Workflowish/fanout, idempotent; sends subs
	kindSub    kind = "sub"    // an add sent by a fanout, attached by its id at the drain
	kindNap    kind = "nap"    // POST /Workflowish/nap, idempotent; sleeps, then adds to key
	kindAwait  kind = "await"  // POST /Workflowish/await, idempotent; waits on an awakeable the checker resolves, then adds to key
	// POST /Promised/{id}/run/send (a workflow: once per key) and
	// /Promised/{id}/complete (its promise); the run adds to key.
	kindPromised kind = "promised"
)

// op is one operation and what the client saw of it. A worker owns its op
// until it is done; the drain then owns every op.
type op struct {
	id     string
	kind   kind
	key    string
	delta  int
	idem   bool // carries its id as idempotency-key
	steps  int  // Run steps of a flow
	delay  int  // ms: a nap's or an await's sleep, the delay of a send or a sub (0: none)
	sent   bool // a nap or an await sent one-way (/send), attached at the drain
	subs   []deployment.Sub
	parent *op // the fanout that sent a sub
	wf     *promised

	call  int64 // ns since the run started, before the first request
	ret   int64 // ns when the first 2xx answer was read; 0 while none
	acked bool  // ingress answered 2xx
	tries int
	invID string // x-restate-id (or invocationId of a 202)
	body  []byte // the first 2xx body (of a call, not of a send)
	fail  string // an answer that is neither 2xx nor retryable

	// Filled by the drain's attach (idempotent ops only).
	attached   bool
	attachRet  int64
	attachID   string
	attachBody []byte
}

// oneWay reports whether o is sent (202 with no output) rather than called:
// sends, subs, sent naps and sent awaits.
func (o *op) oneWay() bool { return o.kind == kindSend || o.kind == kindSub || o.sent }

// result is the body that carries the op's output: a call's own answer, or
// the attach answer of a one-way op.
func (o *op) result() []byte {
	if o.oneWay() {
		if !o.attached {
			return nil // no answer, or an error's
		}
		return o.attachBody
	}
	return o.body
}

// path is the ingress path that calls (not sends) the op.
func (o *op) path() string {
	switch o.kind {
	case kindAdd, kindSend, kindSub:
		return "/" + deployment.CounterName + "/" + o.key + "/add"
	case kindGet, kindGetX:
		return "/" + deployment.CounterName + "/" + o.key + "/" + string(o.kind)
	case kindFlow:
		return "/" + deployment.WorkflowName + "/run"
	case kindFanout:
		return "/" + deployment.WorkflowName + "/fanout"
	case kindNap:
		return "/" + deployment.WorkflowName + "/nap"
	case kindAwait:
		return "/" + deployment.WorkflowName + "/await"
	case kindPromised:
		return "/" + deployment.PromisedName + "/" + o.id + "/run"
	}
	panic("chaos: unknown op kind " + string(o.kind))
}

func (o *op) input() any {
	switch o.kind {
	case kindAdd, kindSend, kindSub:
		return deployment.AddIn{ID: o.id, Delta: o.delta}
	case kindFlow:
		return deployment.FlowIn{ID: o.id, Key: o.key, Delta: o.delta, Steps: o.steps}
	case kindFanout:
		return deployment.FanIn{ID: o.id, Subs: o.subs}
	case kindNap:
		return deployment.NapIn{ID: o.id, Key: o.key, Delta: o.delta, SleepMs: o.delay}
	case kindAwait:
		return deployment.AwaitIn{ID: o.id, Key: o.key, Delta: o.delta, SleepMs: o.delay}
	case kindPromised:
		return deployment.PromisedIn{ID: o.id, Key: o.key, Delta: o.delta}
	}
	return nil
}

// keys names the counters: a few hot keys that most operations hit, and many
// cold ones.
type keys struct{ hot, cold []string }

func newKeys(hot, cold int) keys {
	var k keys
	for i := range hot {
		k.hot = append(k.hot, fmt.Sprintf("hot-%d", i))
	}
	for i := range cold {
		k.cold = append(k.cold, fmt.Sprintf("cold-%02d", i))
	}
	return k
}

func (k keys) pick(rng *rand.Rand) string {
	if rng.IntN(100) < 70 {
		return k.hot[rng.IntN(len(k.hot))]
	}
	return k.cold[rng.IntN(len(k.cold))]
}

// maxTimerMs bounds sleeps and delays: long enough that timers armed before
// a kill fall due while the server is down and after it is back.
const maxTimerMs = 3000

// timerMs draws a timer length of 100ms to maxTimerMs.
func timerMs(rng *rand.Rand) int { return 100 + rng.IntN(maxTimerMs-99) }

// newOp draws the n-th operation of worker w.
func newOp(rng *rand.Rand, k keys, w, n int) *op {
	o := &op{id: fmt.Sprintf("w%d-%d", w, n), key: k.pick(rng), delta: 1 + rng.IntN(9), idem: true}
	switch r := rng.IntN(100); {
	case r < 20:
		o.kind = kindAdd
	case r < 30:
		o.kind = kindSend
		if rng.IntN(2) == 0 {
			o.delay = timerMs(rng)
		}
	case r < 39:
		o.kind, o.delta, o.idem = kindGet, 0, rng.IntN(2) == 0
	case r < 46:
		o.kind, o.delta, o.idem = kindGetX, 0, rng.IntN(2) == 0
	case r < 60:
		o.kind, o.steps = kindFlow, 2+rng.IntN(3)
	case r < 72:
		// Most naps are sent: a called nap holds its worker for the sleep,
		// so the few called ones sleep at most 1s.
		o.kind, o.delay, o.sent = kindNap, timerMs(rng), rng.IntN(12) > 0
		if !o.sent {
			o.delay = 100 + o.delay%900
		}
	case r < 83:
		// Most awaits are sent: a called one holds its worker until the
		// resolver resolves it (soon: it is never held back for a kill).
		// A third sleep 0.5 s between reporting the awakeable and waiting
		// on it: resolutions arrive before the wait, while it is suspended.
		o.kind, o.sent = kindAwait, rng.IntN(6) > 0
		if rng.IntN(3) == 0 {
			o.delay = 500
		}
	case r < 91:
		o.kind, o.sent, o.wf = kindPromised, true, newPromised(rng, o.id)
	default:
		o.kind, o.key, o.delta = kindFanout, "", 0
		for i := range 1 + rng.IntN(3) {
			s := deployment.Sub{Key: k.pick(rng), ID: fmt.Sprintf("%s.%d", o.id, i), Delta: 1 + rng.IntN(9)}
			if rng.IntN(2) == 0 {
				s.DelayMs = timerMs(rng)
			}
			o.subs = append(o.subs, s)
		}
	}
	return o
}

// client issues the operations and records them. Its requests go to the
// ingresses in turn, so that in a cluster they enter by every node, and a
// request retried after a node failed to answer goes to the next one.
type client struct {
	ingresses []string
	next      atomic.Uint64 // the ingress of the next request, modulo len(ingresses)
	http      *http.Client
	start     time.Time
	inFlight  atomic.Int64 // requests sent and not yet answered
	mu        struct {
		sync.Mutex
		ops       []*op
		byID      map[string]*op
		exchanges []exchange
	}
}

// exchange is one request as the client saw it: the ingress it entered
// by, when, and the answer's status (0: none, a connection error or a
// timeout).
type exchange struct {
	ingress    int // index in client.ingresses
	method     string
	path       string
	sent, done int64
	status     int
}

// requestTimeout bounds each request; one that reaches it is retried (with
// its idempotency key) like a connection error.
const requestTimeout = 20 * time.Second

// timedOut counts the exchanges that got no answer within requestTimeout.
func timedOut(xs []exchange) int {
	n := 0
	for _, x := range xs {
		if x.status == 0 && time.Duration(x.done-x.sent) >= requestTimeout {
			n++
		}
	}
	return n
}

// slowest describes the exchange that waited longest for its answer, "" if
// there is none.
func slowest(xs []exchange) string {
	var worst *exchange
	for i := range xs {
		if worst == nil || xs[i].done-xs[i].sent > worst.done-worst.sent {
			worst = &xs[i]
		}
	}
	if worst == nil {
		return ""
	}
	return fmt.Sprintf("%v (%s %s entering by ingress %d at %v, status %d)", time.Duration(worst.done-worst.sent).Round(time.Millisecond),
		worst.method, worst.path, worst.ingress+1, time.Duration(worst.sent).Round(time.Millisecond), worst.status)
}

func newClient(ingresses []string, start time.Time) *client {
	return &client{
		ingresses: ingresses,
		start:     start,
		http:      &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
}

// ingress is the index and base URL of the next request's ingress: the
// one ctx names (viaIngress), else the next in turn.
func (c *client) ingress(ctx context.Context) (int, string) {
	if i, ok := ctx.Value(ingressKey{}).(int); ok {
		return i, c.ingresses[i]
	}
	i := int((c.next.Add(1) - 1) % uint64(len(c.ingresses)))
	return i, c.ingresses[i]
}

// ingressKey is the context key of the ingress index viaIngress pins.
type ingressKey struct{}

// viaIngress returns ctx with every request sent under it entering by the
// ingress of index i.
func viaIngress(ctx context.Context, i int) context.Context {
	return context.WithValue(ctx, ingressKey{}, i)
}

// exchanges are every request's exchange so far.
func (c *client) exchanges() []exchange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]exchange(nil), c.mu.exchanges...)
}

func (c *client) now() int64 { return int64(time.Since(c.start)) }

func (c *client) add(o *op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.ops = append(c.mu.ops, o)
	if c.mu.byID == nil {
		c.mu.byID = map[string]*op{}
	}
	c.mu.byID[o.id] = o
}

// lookup returns the op with id, nil if there is none. Only the fields set
// before the op was added may be read: the worker writes the others.
func (c *client) lookup(id string) *op {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.byID[id]
}

func (c *client) ops() []*op {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*op(nil), c.mu.ops...)
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	hdr    http.Header
	body   []byte
	err    error
}

// retryable reports whether the request may be sent again: the connection
// failed, or ingress (not the invocation) answered 5xx.
func (a answer) retryable() bool {
	if a.err != nil {
		return true
	}
	return a.status >= 500 && a.hdr.Get("x-restate-error-source") != "invocation"
}

func (a answer) ok() bool { return a.err == nil && a.status/100 == 2 }

func (a answer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	return fmt.Sprintf("status %d: %s", a.status, bytes.TrimSpace(a.body))
}

// post sends in as JSON (no body when nil).
func (c *client) post(ctx context.Context, path string, in any, idemKey string) answer {
	if in == nil {
		return c.postBody(ctx, path, "", nil, idemKey)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return answer{err: err}
	}
	return c.postBody(ctx, path, "application/json", b, idemKey)
}

// postBody sends body with contentType (no body when contentType is empty).
func (c *client) postBody(ctx context.Context, path, contentType string, body []byte, idemKey string) answer {
	var rd io.Reader = http.NoBody
	hdr := http.Header{}
	if contentType != "" {
		rd = bytes.NewReader(body)
		hdr.Set("content-type", contentType)
	}
	if idemKey != "" {
		hdr.Set("idempotency-key", idemKey)
	}
	return c.send(ctx, http.MethodPost, path, rd, hdr)
}

// get sends a GET to path.
func (c *client) get(ctx context.Context, path string) answer {
	return c.send(ctx, http.MethodGet, path, http.NoBody, nil)
}

// send issues one request to the next ingress, and records the exchange.
func (c *client) send(ctx context.Context, method, path string, body io.Reader, hdr http.Header) answer {
	i, base := c.ingress(ctx)
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return answer{err: err}
	}
	maps.Copy(req.Header, hdr)
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	x := exchange{ingress: i, method: method, path: path, sent: c.now()}
	a := c.roundTrip(req)
	x.done = c.now()
	if a.err == nil {
		x.status = a.status
	}
	c.mu.Lock()
	c.mu.exchanges = append(c.mu.exchanges, x)
	c.mu.Unlock()
	return a
}

func (c *client) roundTrip(req *http.Request) answer {
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, hdr: resp.Header, body: data, err: err}
}

// backoff is the pause before the n-th retry of a request.
func backoff(n int) time.Duration {
	return min(time.Duration(n)*50*time.Millisecond, 500*time.Millisecond)
}

// do issues o until ingress acknowledges it, as a client holding an
// idempotency key does; an op without one is tried once. It gives up only
// when ctx ends (the drain deadline).
func (c *client) do(ctx context.Context, o *op) {
	if o.kind == kindPromised {
		c.doPromised(ctx, o)
		return
	}
	o.call = c.now()
	path, idemKey := o.path(), ""
	if o.oneWay() {
		path += "/send"
		if o.kind == kindSend && o.delay > 0 {
			path += fmt.Sprintf("?delay=%dms", o.delay)
		}
	}
	if o.idem {
		idemKey = o.id
	}
	for ctx.Err() == nil {
		o.tries++
		a := c.post(ctx, path, o.input(), idemKey)
		switch {
		case a.ok():
			o.ret, o.acked = c.now(), true
			o.invID = a.hdr.Get("x-restate-id")
			if !o.oneWay() {
				o.body = a.body
			}
			return
		case !a.retryable():
			o.fail = a.String()
			return
		case !o.idem:
			return
		}
		sleepCtx(ctx, backoff(o.tries))
	}
}

// attach calls an idempotent op again with its idempotency key: ingress
// answers the stored result, waiting for it if the invocation is running.
func (c *client) attach(ctx context.Context, o *op) {
	if o.kind == kindPromised {
		c.attachPromised(ctx, o)
		return
	}
	for try := 1; ctx.Err() == nil; try++ {
		a := c.post(ctx, o.path(), o.input(), o.id)
		if a.ok() || !a.retryable() {
			o.attached, o.attachRet = a.ok(), c.now()
			o.attachID, o.attachBody = a.hdr.Get("x-restate-id"), a.body
			if !a.ok() {
				o.fail = "attach: " + a.String()
			}
			return
		}
		sleepCtx(ctx, backoff(try))
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// worker issues operations drawn from rng until stop ends, each until it
// is acknowledged or hard ends.
func (c *client) worker(stop, hard context.Context, rng *rand.Rand, k keys, w, maxOps int, pause time.Duration) {
	for n := 0; n < maxOps && stop.Err() == nil; n++ {
		o := newOp(rng, k, w, n)
		c.add(o)
		c.do(hard, o)
		sleepCtx(stop, time.Duration(rng.Int64N(int64(pause)+1)))
	}
}
