package remote

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Heartbeats. A node that dies with its process closes its connections, and protoactor's
// EndpointTerminatedEvent fails the requests waiting on it at once. A node cut off by the network
// (a black hole: packets dropped, nothing closed) or frozen (SIGSTOP) closes nothing: without
// heartbeats a request waiting there, a call held at a partition's leader for minutes, would end
// only at its deadline. So while requests wait on a node, the endpoint pings it every
// HeartbeatInterval, each ping bounded by the same interval; HeartbeatMisses unanswered in a row
// fail every request waiting on it with ErrUnreachable, and its callers ask the partition's
// leader again (the router attaches there, the outcome being unknown). A node that answers its
// pings keeps its requests however long they wait.

// Defaults of Config's heartbeat settings.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultHeartbeatMisses   = 3
)

// heartbeat is the endpoint's watch over the nodes its requests wait on, run by one goroutine
// (started by Start, stopped by Close through e.ctx) and the probes it starts, at most one per
// node at a time. misses and probing are touched by that goroutine only: probes report back
// on results.
type heartbeat struct {
	e        *Endpoint
	misses   map[string]int
	probing  map[string]bool
	results  chan probeResult
	interval time.Duration
	limit    int
}

type probeResult struct {
	node string
	err  error
}

func (e *Endpoint) startHeartbeats() {
	h := &heartbeat{
		e: e, misses: map[string]int{}, probing: map[string]bool{}, results: make(chan probeResult),
		interval: e.cfg.HeartbeatInterval, limit: e.cfg.HeartbeatMisses,
	}
	e.wg.Go(h.run)
}

func (h *heartbeat) run() {
	ticker := time.NewTicker(h.interval)
	defer ticker.Stop()
	for {
		select {
		case <-h.e.ctx.Done():
			// Probes in flight end with e.ctx: drain their reports so none blocks.
			for range h.probing {
				<-h.results
			}
			return
		case r := <-h.results:
			delete(h.probing, r.node)
			h.observe(r)
		case <-ticker.C:
			waited := h.e.waitedOn()
			for node := range h.misses {
				if !slices.Contains(waited, node) {
					delete(h.misses, node) // nothing waits there: its next probe starts afresh
				}
			}
			for _, node := range waited {
				if !h.probing[node] {
					h.probing[node] = true
					go h.probe(node)
				}
			}
		}
	}
}

// probe pings node once, bounded by the interval, and reports the outcome.
func (h *heartbeat) probe(node string) {
	ctx, cancel := context.WithTimeout(h.e.ctx, h.interval)
	defer cancel()
	_, err := h.e.request(ctx, node, opHeartbeat, 0, pingRequest)
	h.results <- probeResult{node: node, err: err}
}

// observe counts node's unanswered pings in a row and fails the requests waiting on it at the
// limit.
func (h *heartbeat) observe(r probeResult) {
	if r.err == nil {
		delete(h.misses, r.node)
		return
	}
	if h.e.ctx.Err() != nil {
		return
	}
	h.misses[r.node]++
	if n := h.misses[r.node]; n >= h.limit {
		delete(h.misses, r.node)
		slog.Warn("remote: node does not answer its heartbeats, failing the requests waiting on it", "node", r.node, "missed", n, "last", r.err)
		h.e.failNode(r.node, fmt.Errorf("%w: no answer to %d heartbeats %v apart (last: %v)", ErrUnreachable, n, h.interval, r.err))
	}
}

// opHeartbeat is the op of the endpoint's own pings: they do not count as requests waiting on
// a node (else a node would be watched for ever once probed).
const opHeartbeat = "heartbeat"

// waitedOn lists the nodes that requests other than heartbeats wait on.
func (e *Endpoint) waitedOn() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var nodes []string
	for _, p := range e.mu.pending {
		if p.op != opHeartbeat && !seen[p.node] {
			seen[p.node] = true
			nodes = append(nodes, p.node)
		}
	}
	return nodes
}
