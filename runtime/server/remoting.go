package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Remoting: with Config.RemoteAddress a node serves its partitions to the other nodes over
// actors/remote and routes requests for partitions led elsewhere to their leaders. Each node
// publishes its addresses in the metadata shard; the others find it there.

// servedLocal is the remote.Local a node's endpoint serves: its partitions once they exist.
// The endpoint starts before the partitions (they route through it), so until then every
// request is answered as by a node that leads nothing.
type servedLocal struct {
	p    atomic.Pointer[partition.RemoteLocal]
	host *raftlog.Host // reports the replicas' progress
}

var (
	_ remote.Local          = (*servedLocal)(nil)
	_ remote.Attacher       = (*servedLocal)(nil)
	_ remote.HealthReporter = (*servedLocal)(nil)
	_ remote.Reader         = (*servedLocal)(nil)
	_ remote.ShardReporter  = (*servedLocal)(nil)
)

func (l *servedLocal) local(p uint32) (*partition.RemoteLocal, error) {
	if rl := l.p.Load(); rl != nil {
		return rl, nil
	}
	return nil, fmt.Errorf("partition %d: this node is starting: %w", p, remote.ErrNotLeader)
}

func (l *servedLocal) ProposeWait(ctx context.Context, p uint32, cmd command.Command) (statemachine.Outcome, error) {
	rl, err := l.local(p)
	if err != nil {
		return statemachine.Outcome{}, err
	}
	return rl.ProposeWait(ctx, p, cmd)
}

func (l *servedLocal) Call(ctx context.Context, p uint32, inv command.Invocation) (command.Result, error) {
	rl, err := l.local(p)
	if err != nil {
		return command.Result{}, err
	}
	return rl.Call(ctx, p, inv)
}

func (l *servedLocal) Attach(ctx context.Context, p uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	rl, err := l.local(p)
	if err != nil {
		return ingress.Attachment{}, false, err
	}
	return rl.Attach(ctx, p, id)
}

func (l *servedLocal) Output(ctx context.Context, p uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	rl, err := l.local(p)
	if err != nil {
		return ingress.Attachment{}, false, err
	}
	return rl.Output(ctx, p, id)
}

func (l *servedLocal) Status(ctx context.Context, p uint32, id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	rl, err := l.local(p)
	if err != nil {
		return storage.InvocationStatus{}, false, err
	}
	return rl.Status(ctx, p, id)
}

func (l *servedLocal) State(ctx context.Context, p uint32, service, key string) ([]storage.StateEntry, error) {
	rl, err := l.local(p)
	if err != nil {
		return nil, err
	}
	return rl.State(ctx, p, service, key)
}

func (l *servedLocal) Rows(ctx context.Context, p uint32, rd introspect.Read) ([]introspect.Rows, error) {
	rl, err := l.local(p)
	if err != nil {
		return nil, err
	}
	return rl.Rows(ctx, p, rd)
}

// ShardProgress reports every Raft replica of this node (replication lag, GET /cluster-health).
func (l *servedLocal) ShardProgress() []remote.ShardProgress {
	if l.host == nil {
		return nil
	}
	var out []remote.ShardProgress
	for _, si := range l.host.Shards() {
		out = append(out, remote.ShardProgress{Shard: si.ShardID, Leader: si.LeaderID, Term: si.Term, AppliedIndex: si.AppliedIndex})
	}
	return out
}

func (l *servedLocal) Health() []remote.PartitionHealth {
	if rl := l.p.Load(); rl != nil {
		return rl.Health()
	}
	return nil
}

// nodeDirectory is partition.Directory over the node records in the metadata shard.
type nodeDirectory struct {
	reg  *registry.Registry
	self uint64
}

func (d nodeDirectory) RemoteAddress(node uint64) (string, bool) {
	n, ok := d.reg.Node(node)
	return n.RemoteAddress, ok && n.RemoteAddress != ""
}

func (d nodeDirectory) RemoteAddresses() []string {
	var out []string
	for _, n := range d.reg.Nodes() {
		if n.ID != d.self && n.RemoteAddress != "" {
			out = append(out, n.RemoteAddress)
		}
	}
	return out
}

// metadataTryTimeout bounds one try of a proposal to the metadata shard made while the server
// starts: a proposal forwarded to a leader that is lost or replaced (an election under way, a
// connection reset while the nodes come up) is only given up on at its timeout, so without a
// bound the first one can use up the whole start and never be tried again. The proposals
// retried this way are idempotent (they set what they set).
const metadataTryTimeout = 5 * time.Second

// publishNode records this node's addresses in the metadata shard, unless they are there
// already, trying until it succeeds or ctx ends (a restarted node may wait for a quorum).
func (s *Server) publishNode(ctx context.Context) error {
	me := registry.Node{ID: s.host.NodeID(), RaftAddress: s.host.RaftAddress(), IngressAddress: s.ingressLn.Addr().String(), AdminAddress: s.adminLn.Addr().String()}
	if s.endpoint != nil {
		me.RemoteAddress = s.endpoint.Addr()
	}
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		if n, ok := s.registry.Node(me.ID); ok && n == me {
			return nil
		}
		tryCtx, cancel := context.WithTimeout(ctx, metadataTryTimeout)
		err := s.registryClient().PublishNode(tryCtx, me)
		cancel()
		if err == nil {
			return nil
		}
		slog.Warn("publish this node's addresses in the metadata shard, retrying", "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("server: publish node %d's addresses: %w (last: %v)", me.ID, ctx.Err(), err)
		}
	}
}
