package partition

import (
	"context"
	"errors"
	"fmt"

	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// RemoteLocal serves the requests other nodes send to this node's partitions through package
// remote (it implements remote.Local, remote.Attacher and remote.HealthReporter). A partition
// answers only while this replica leads it; otherwise the request fails with remote.ErrNotLeader
// and the requesting router looks the leader up again.
//
// Work another partition already accepted (outbox deliveries) is never refused by admission, as
// locally; a new invocation or a signal is proposed until its outcome is known, as the local
// ingress does, so the requester never has to guess whether it was applied.
type RemoteLocal struct{ n *Node }

// RemoteLocal returns the node's partitions as remote nodes see them.
func (n *Node) RemoteLocal() RemoteLocal { return RemoteLocal{n: n} }

var (
	_ remote.Local          = RemoteLocal{}
	_ remote.Attacher       = RemoteLocal{}
	_ remote.HealthReporter = RemoteLocal{}
	_ remote.Reader         = RemoteLocal{}
)

func (l RemoteLocal) leading(partition uint32) (*Partition, error) {
	if int(partition) >= len(l.n.router.parts) {
		return nil, fmt.Errorf("%w: partition %d: this node has %d partitions", remote.ErrBadRequest, partition, len(l.n.router.parts))
	}
	p := l.n.router.parts[partition]
	if p == nil || !p.IsLeader() {
		return nil, fmt.Errorf("partition %d: %w", partition, remote.ErrNotLeader)
	}
	return p, nil
}

// ProposeWait proposes cmd to partition, which this node must lead.
func (l RemoteLocal) ProposeWait(ctx context.Context, partition uint32, cmd command.Command) (statemachine.Outcome, error) {
	p, err := l.leading(partition)
	if err != nil {
		return statemachine.Outcome{}, err
	}
	switch cmd.Kind {
	case command.KindDeliver, command.KindDeliverBatch:
		select {
		case r := <-p.propose(cmd):
			return r.outcome, closedAsUnavailable(partition, r.err)
		case <-ctx.Done():
			return statemachine.Outcome{}, ctx.Err()
		}
	case command.KindInvoke, command.KindSignal:
		o, _, err := p.proposeUntilKnown(ctx, cmd)
		return o, closedAsUnavailable(partition, err)
	}
	o, err := p.ProposeWait(ctx, cmd)
	return o, closedAsUnavailable(partition, err)
}

// Call proposes inv to partition (or attaches to the invocation with its id) and waits for the
// result.
func (l RemoteLocal) Call(ctx context.Context, partition uint32, inv command.Invocation) (command.Result, error) {
	p, err := l.leading(partition)
	if err != nil {
		return command.Result{}, err
	}
	r, err := p.Call(ctx, inv)
	if errors.Is(err, errLeaderLost) {
		// The requester calls again at the new leader; the invocation's nonce makes that an
		// attach to the invocation this call created, not a second one.
		return r, fmt.Errorf("partition %d: leadership lost with the call in flight: %w", partition, remote.ErrNotLeader)
	}
	return r, closedAsUnavailable(partition, err)
}

// Attach waits for invocation id of partition to end.
func (l RemoteLocal) Attach(ctx context.Context, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	p, err := l.leading(partition)
	if err != nil {
		return ingress.Attachment{}, false, err
	}
	a, found, err := p.Attach(ctx, id)
	return a, found, closedAsUnavailable(partition, err)
}

// Output answers at once with invocation id's result, if it has ended.
func (l RemoteLocal) Output(ctx context.Context, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	p, err := l.leading(partition)
	if err != nil {
		return ingress.Attachment{}, false, err
	}
	a, found, err := p.Output(ctx, id)
	return a, found, closedAsUnavailable(partition, err)
}

// Status reads invocation id's status record in partition, which this node must lead.
func (l RemoteLocal) Status(_ context.Context, partition uint32, id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	p, err := l.leading(partition)
	if err != nil {
		return storage.InvocationStatus{}, false, err
	}
	return p.Status(id)
}

// State reads a Virtual Object key's state in partition, which this node must lead.
func (l RemoteLocal) State(_ context.Context, partition uint32, service, key string) ([]storage.StateEntry, error) {
	p, err := l.leading(partition)
	if err != nil {
		return nil, err
	}
	return p.state(service, key)
}

// Rows reads introspection tables of partition, which this node must lead, from one snapshot.
func (l RemoteLocal) Rows(_ context.Context, partition uint32, rd introspect.Read) ([]introspect.Rows, error) {
	p, err := l.leading(partition)
	if err != nil {
		return nil, err
	}
	return p.rows(rd)
}

// Health reports every partition of this node.
func (l RemoteLocal) Health() []remote.PartitionHealth {
	hs := l.n.Health()
	out := make([]remote.PartitionHealth, len(hs))
	for i, h := range hs {
		out[i] = remote.PartitionHealth{Partition: h.Partition, Leader: h.Leader, Running: h.Running, Reason: h.Reason, Queued: h.Queued, Calling: h.Calling}
	}
	return out
}

// closedAsUnavailable turns a partition closing under a request (the node shuts down) into the
// refusal a requester retries elsewhere, instead of an internal error.
func closedAsUnavailable(partition uint32, err error) error {
	if err != nil && errors.Is(err, ErrClosed) {
		return &RefusedError{Partition: partition, Reason: "this node is shutting down", After: retryAfterOverload}
	}
	return err
}
