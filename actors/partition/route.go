package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// Routing. A request for a partition goes to its leader: to the local replica when this node
// leads it, else over actors/remote to the node that does. Without remoting (a single node, or a
// cluster started without remote addresses, where every node holds every partition) it goes to
// the local replica, whose proposals dragonboat forwards to the leader.
//
// The leader of a partition this node holds a replica of is known from dragonboat's leader
// updates; the leader of any other partition is found by asking the nodes (Ping answers which
// partitions a node leads) and cached until a request is refused with ErrNotLeader. A request
// whose partition has no reachable leader waits, up to DefaultNoLeaderWait, and is then refused
// as unavailable (503).

// DefaultNoLeaderWait bounds how long a request waits for its partition to have a reachable
// leader.
const DefaultNoLeaderWait = 10 * time.Second

// Directory tells the router where the other nodes are.
type Directory interface {
	// RemoteAddress is node id's remoting address, if it published one.
	RemoteAddress(node uint64) (string, bool)
	// RemoteAddresses lists every other node's remoting address.
	RemoteAddresses() []string
}

// Router maps partition keys to partitions and submits invocations (it implements the ingress's
// Dispatcher).
type Router struct {
	count int
	parts []*Partition // by partition; nil where this node holds no replica

	remote       remote.Remote // nil: no remoting
	dir          Directory
	self         uint64
	noLeaderWait time.Duration
	// leaders is the leader each partition is believed to have: a node id from dragonboat's
	// leader updates (partitions with a local replica) or a remoting address found by asking the
	// nodes (the others). 0 and "" mean unknown.
	leaders []atomic.Uint64
	found   []atomic.Pointer[string]
	// changed[i] is closed (and replaced) when partition i's leader changes.
	changed []atomic.Pointer[chan struct{}]
}

// errLeaderLost: the leader a request went to stopped leading (or this node lost touch with it)
// while the request was in flight; its outcome is unknown.
var errLeaderLost = errors.New("partition: leader lost with the request in flight")

// leaderChanged returns a channel closed when partition i's leader next changes.
func (r *Router) leaderChanged(i uint32) <-chan struct{} {
	if int(i) >= len(r.changed) {
		return nil
	}
	for {
		if c := r.changed[i].Load(); c != nil {
			return *c
		}
		c := make(chan struct{})
		r.changed[i].CompareAndSwap(nil, &c)
	}
}

// For returns the local replica of the partition owning pk, nil if this node holds none.
func (r *Router) For(pk ids.PartitionKey) *Partition { return r.parts[r.index(pk)] }

func (r *Router) index(pk ids.PartitionKey) uint32 { return uint32(pk.Partition(r.count)) }

// Partitions lists this node's replicas in partition order (nil where it holds none).
func (r *Router) Partitions() []*Partition { return r.parts }

// Count is the number of partitions.
func (r *Router) Count() int { return r.count }

// setLeader records that node leads partition i (0: unknown).
func (r *Router) setLeader(i uint32, node uint64) {
	if int(i) < len(r.leaders) {
		if r.leaders[i].Swap(node) != node && int(i) < len(r.changed) {
			if c := r.changed[i].Swap(nil); c != nil {
				close(*c)
			}
		}
	}
}

// target is where a request for one partition goes: the local replica, or the leader's node.
type target struct {
	local *Partition
	addr  string
}

// lookup says where partition i's requests go now, if that is known.
func (r *Router) lookup(i uint32) (target, bool) {
	p := r.parts[i]
	if p != nil && (r.remote == nil || p.IsLeader()) {
		return target{local: p}, true
	}
	if p != nil {
		leader := r.leaders[i].Load()
		if leader == 0 || leader == r.self {
			return target{}, false // an election, or this replica is about to take over
		}
		addr, ok := r.dir.RemoteAddress(leader)
		return target{addr: addr}, ok
	}
	if a := r.found[i].Load(); a != nil {
		return target{addr: *a}, true
	}
	return target{}, false
}

// discover asks every other node at once which of them leads partition i, each bounded by
// discoverWait, and records the first that says it does. (Asked one after another under one
// bound, a silent node asked first used up the whole bound and the leader was never found.)
func (r *Router) discover(ctx context.Context, i uint32) {
	ctx, cancel := context.WithTimeout(ctx, discoverWait)
	defer cancel()
	addrs := r.dir.RemoteAddresses()
	leaders := make(chan string, len(addrs))
	var asked sync.WaitGroup
	for _, addr := range addrs {
		asked.Go(func() {
			pong, err := r.remote.Ping(ctx, addr)
			if err != nil {
				return
			}
			for _, h := range pong.Partitions {
				if h.Partition == i && h.Leader {
					leaders <- addr
					return
				}
			}
		})
	}
	go func() {
		asked.Wait()
		close(leaders)
	}()
	if addr, ok := <-leaders; ok {
		r.found[i].Store(&addr)
	}
}

// discoverWait bounds the wait for the nodes' answers to discover.
const discoverWait = time.Second

// forget drops what the router believed about partition i's leader at addr.
func (r *Router) forget(i uint32, addr string) {
	if a := r.found[i].Load(); a != nil && *a == addr {
		r.found[i].CompareAndSwap(a, nil)
	}
}

// route runs a request for partition i where the partition's leader is: local on the local
// replica, remote on the leader's node. A remote attempt that failed because that node does not
// lead the partition (any more) or cannot be reached is retried once the leader is known again,
// until ctx ends or DefaultNoLeaderWait passes without a leader that answers. retried tells the
// remote function that an earlier attempt's outcome is unknown.
func (r *Router) route(ctx context.Context, i uint32, local func(*Partition) error, remoteDo func(addr string, retried bool) error) error {
	give := time.Now().Add(r.noLeaderWait)
	backoff := 20 * time.Millisecond
	retried := false
	var last error
	for {
		t, ok := r.lookup(i)
		if !ok && r.parts[i] == nil {
			r.discover(ctx, i)
			t, ok = r.lookup(i)
		}
		if ok && t.local != nil {
			err := local(t.local)
			if err == nil || !errors.Is(err, errLeaderLost) {
				return err
			}
			last, retried = err, true
		} else if ok {
			err := remoteDo(t.addr, retried)
			if err == nil || !leaderLost(err) {
				return err
			}
			last = err
			retried = retried || errors.Is(err, remote.ErrUnreachable) || errors.Is(err, errLeaderLost)
			r.forget(i, t.addr)
			slog.Debug("partition leader not reached, looking again", "partition", i, "node", t.addr, "err", err)
		}
		if time.Now().After(give) && retried {
			return fmt.Errorf("partition %d: %w; no leader reachable since: %v", i, errLeaderLost, last)
		}
		if time.Now().After(give) {
			reason := "no leader known"
			if last != nil {
				reason = "no leader reachable: " + last.Error()
			}
			return &RefusedError{Partition: i, Reason: reason, After: retryAfterOverload}
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("partition %d: %w (last attempt: %v)", i, ctx.Err(), last)
			}
			return fmt.Errorf("partition %d: waiting for a leader: %w", i, ctx.Err())
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// leaderLost reports whether a remote request failed because its node does not lead the
// partition or could not be reached, so the request should go to the leader found next.
func leaderLost(err error) bool {
	if errors.Is(err, remote.ErrNotLeader) || errors.Is(err, remote.ErrUnreachable) || errors.Is(err, errLeaderLost) {
		return true
	}
	var refused interface{ Unavailable() bool }
	return errors.As(err, &refused) && refused.Unavailable()
}

// Send proposes inv to its partition and returns once it is in the log.
func (r *Router) Send(ctx context.Context, inv command.Invocation) (previously bool, executionTime int64, err error) {
	i := r.index(inv.ID.PartitionKey)
	withNonce(&inv)
	err = r.route(ctx, i, func(p *Partition) error {
		previously, executionTime, err = p.Invoke(ctx, inv)
		return err
	}, func(addr string, retried bool) error {
		o, err := r.remote.ProposeWait(ctx, addr, i, command.Command{Kind: command.KindInvoke, Invoke: &inv})
		if err == nil {
			previously, executionTime = invoked(o, inv, retried)
		}
		return err
	})
	return previously, executionTime, err
}

// Call proposes inv (or attaches to the invocation with its id) and waits for the result.
//
// Remotely, the caller waits at the leader. When that node is lost, or the wait outlives the
// remoting timeout, the call attaches at the partition's (new) leader to the invocation it may
// have created, and proposes it again only when there is none (a workflow run is proposed again
// at once: its nonce tells its own invocation from another request's).
func (r *Router) Call(ctx context.Context, inv command.Invocation) (res command.Result, err error) {
	i := r.index(inv.ID.PartitionKey)
	withNonce(&inv)
	err = r.route(ctx, i, func(p *Partition) error {
		res, err = p.Call(ctx, inv)
		return err
	}, func(addr string, retried bool) error {
		changed := r.leaderChanged(i)
		ctx, cancel := cancelWhen(ctx, changed)
		defer cancel()
		lost := func(err error) error {
			select {
			case <-changed:
				return fmt.Errorf("%w: the leader of partition %d changed (%v)", errLeaderLost, i, err)
			default:
				return err
			}
		}
		for {
			// A workflow run is called again instead: an attach would wait for a run another
			// request started, which this one must be refused (409); the nonce tells them apart.
			if retried && !inv.Target.WorkflowRun() {
				a, found, err := r.remote.Attach(ctx, addr, i, inv.ID)
				if err == nil && found && a.Result != nil {
					res = *a.Result
					return nil
				}
				if err != nil && !timedOut(ctx, err) {
					return lost(err)
				}
				if err == nil && found {
					continue
				}
			}
			var err error
			res, err = r.remote.Call(ctx, addr, i, inv)
			if err == nil {
				return nil
			}
			if !timedOut(ctx, err) {
				return lost(err)
			}
			retried = true
		}
	})
	return res, err
}

// cancelWhen returns a copy of parent that is canceled also once done is closed (its goroutine
// ends with the returned context).
func cancelWhen(parent context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// withNonce draws inv's nonce, unless it has one: every proposal of this request, however often
// and through whichever node it is retried, then carries the same.
func withNonce(inv *command.Invocation) {
	for inv.Nonce == 0 {
		inv.Nonce = rand.Uint64()
	}
}

// timedOut reports whether a remote request ended by the remoting layer's own timeout while the
// caller still waits.
func timedOut(ctx context.Context, err error) bool {
	return ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
}

// Signal proposes sig (an awakeable's resolution) to the partition of its invocation and returns
// once it is in the log.
func (r *Router) Signal(ctx context.Context, sig command.Signal) error {
	i := r.index(sig.ID.PartitionKey)
	cmd := command.Command{Kind: command.KindSignal, Signal: &sig}
	err := r.route(ctx, i, func(p *Partition) error {
		_, _, err := p.proposeUntilKnown(ctx, cmd)
		return err
	}, func(addr string, _ bool) error {
		_, err := r.remote.ProposeWait(ctx, addr, i, cmd)
		return err
	})
	if err != nil {
		return fmt.Errorf("partition %d: signal %s: %w", i, sig.ID, err)
	}
	return nil
}

// Attach waits for the invocation id to end and returns its result.
func (r *Router) Attach(ctx context.Context, id ids.InvocationID) (a ingress.Attachment, found bool, err error) {
	i := r.index(id.PartitionKey)
	err = r.route(ctx, i, func(p *Partition) error {
		a, found, err = p.Attach(ctx, id)
		return err
	}, func(addr string, _ bool) error {
		for {
			a, found, err = r.remote.Attach(ctx, addr, i, id)
			if !timedOut(ctx, err) {
				return err
			}
		}
	})
	return a, found, err
}

// Output reads the invocation id now: its result once it has ended.
func (r *Router) Output(ctx context.Context, id ids.InvocationID) (a ingress.Attachment, found bool, err error) {
	i := r.index(id.PartitionKey)
	err = r.route(ctx, i, func(p *Partition) error {
		a, found, err = p.Output(ctx, id)
		return err
	}, func(addr string, _ bool) error {
		a, found, err = r.remote.Output(ctx, addr, i, id)
		return err
	})
	return a, found, err
}

// proposeWait proposes cmd to partition i and waits for its outcome.
func (r *Router) proposeWait(ctx context.Context, i uint32, cmd command.Command) (o statemachine.Outcome, err error) {
	err = r.route(ctx, i, func(p *Partition) error {
		o, err = p.ProposeWait(ctx, cmd)
		return err
	}, func(addr string, _ bool) error {
		o, err = r.remote.ProposeWait(ctx, addr, i, cmd)
		return err
	})
	return o, err
}

// deliver proposes an outbox batch to partition i, past admission (the producer accepted the
// work already).
func (r *Router) deliver(ctx context.Context, i uint32, batch *command.DeliverBatch) <-chan proposalResult {
	cmd := command.Command{Kind: command.KindDeliverBatch, DeliverBatch: batch}
	if t, ok := r.lookup(i); ok && t.local != nil {
		return t.local.propose(cmd)
	}
	done := make(chan proposalResult, 1)
	go func() {
		var o statemachine.Outcome
		err := r.route(ctx, i, func(p *Partition) error {
			select {
			case res := <-p.propose(cmd):
				o = res.outcome
				return res.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}, func(addr string, _ bool) error {
			var err error
			o, err = r.remote.ProposeWait(ctx, addr, i, cmd)
			return err
		})
		done <- proposalResult{outcome: o, err: err}
	}()
	return done
}

// IngestHome is the partition that ingests the records of a Kafka source (subscription, topic,
// Kafka partition) and keeps its position: one partition per source, so its records are
// proposed, deduplicated and sent on in offset order.
func (r *Router) IngestHome(subscription, topic string, kafkaPartition int32) uint32 {
	return r.index(ids.HashPartitionKey(fmt.Sprintf("kafka/%s/%s/%d", subscription, topic, kafkaPartition)))
}

// Ingest proposes a batch of Kafka records to their source's home partition and returns the outcome (with
// the source's position: statemachine.Outcome.Position).
func (r *Router) Ingest(ctx context.Context, in command.Ingest) (statemachine.Outcome, error) {
	i := r.IngestHome(in.Subscription, in.Topic, in.Partition)
	o, err := r.proposeWait(ctx, i, command.Command{Kind: command.KindIngest, Ingest: &in})
	if err != nil {
		return o, fmt.Errorf("partition %d: ingest %s/%s/%d (%d records): %w", i, in.Subscription, in.Topic, in.Partition, len(in.Records), err)
	}
	return o, nil
}
