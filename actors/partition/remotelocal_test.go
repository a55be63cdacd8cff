package partition

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// TestRemoteLocal: what another node's requests reach. A partition this replica leads answers
// calls, attaches and proposals as locally; one it does not lead answers remote.ErrNotLeader (the
// requester looks for the leader), an unknown one a bad request; an outbox delivery is accepted
// even when admission refuses new work (as locally: refusing it would stall invocations others
// wait for); health reports every partition.
func TestRemoteLocal(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs), func(c *NodeConfig) { c.MaxQueued = 1 })
	defer n.close()
	l := n.node.RemoteLocal()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	inv := objectInvocation("remote", 7)
	part := n.node.Router().For(inv.ID.PartitionKey)
	res, err := l.Call(ctx, part.ID(), inv)
	if err != nil || res.Failure != nil || string(res.Value) != "7" {
		t.Fatalf("call through RemoteLocal: %+v %v, want 7", res, err)
	}
	a, found, err := l.Attach(ctx, part.ID(), inv.ID)
	if err != nil || !found || a.Result == nil || string(a.Result.Value) != "7" {
		t.Fatalf("attach through RemoteLocal: %+v %v %v", a, found, err)
	}
	unknown := command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: ids.NewInvocationID(inv.ID.PartitionKey, [16]byte{9})}}
	if o, err := l.ProposeWait(ctx, part.ID(), unknown); err != nil || o.Code != statemachine.NotFound {
		t.Fatalf("propose through RemoteLocal: %+v %v, want NotFound", o, err)
	}
	if _, err := l.ProposeWait(ctx, 99, unknown); !errors.Is(err, remote.ErrBadRequest) {
		t.Fatalf("unknown partition: %v, want ErrBadRequest", err)
	}

	// Not the leader: the requester must look elsewhere.
	part.leader.Store(false)
	_, err = l.Call(ctx, part.ID(), objectInvocation("remote", 1))
	part.leader.Store(true)
	if !errors.Is(err, remote.ErrNotLeader) {
		t.Fatalf("call to a partition this replica does not lead: %v, want ErrNotLeader", err)
	}

	// Admission full (MaxQueued 1, one proposal held in the proposer; a purge passes a full queue):
	// new work is refused, an outbox delivery goes through once the proposer moves on.
	held, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	part.hooks.Store(&testHooks{beforeBatch: func([]command.Command) {
		if once.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
	}})
	first := make(chan error, 1)
	go func() { _, err := l.ProposeWait(ctx, part.ID(), unknown); first <- err }()
	<-held
	var releaseOnce atomic.Bool
	defer func() {
		if releaseOnce.CompareAndSwap(false, true) {
			close(release)
		}
	}()
	newWork := objectInvocation("refused", 1)
	if _, err := l.ProposeWait(ctx, part.ID(), command.Command{Kind: command.KindInvoke, Invoke: &newWork}); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a new invocation while the queue is full: %v, want a refusal", err)
	}
	payload, _ := json.Marshal(1)
	dinv := objectInvocation("delivered", 1)
	dinv.Input = payload
	delivery := command.Command{Kind: command.KindDeliverBatch, DeliverBatch: &command.DeliverBatch{Producer: 42, Items: []command.OutboxEntry{{Seq: 1,
		Message: command.OutboxMessage{Invoke: &dinv}}}}}
	delivered := make(chan error, 1)
	go func() {
		o, err := l.ProposeWait(ctx, part.ID(), delivery)
		if err == nil && o.Code != statemachine.Applied {
			err = errors.New("delivery outcome " + o.Message)
		}
		delivered <- err
	}()
	time.Sleep(50 * time.Millisecond) // the delivery is queued behind the held proposal, not refused
	releaseOnce.Store(true)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("held proposal: %v", err)
	}
	if err := <-delivered; err != nil {
		t.Fatalf("outbox delivery while admission was full: %v, want it applied", err)
	}

	hs := l.Health()
	if len(hs) != len(n.node.Health()) || !hs[part.ID()].Leader || !hs[part.ID()].Running {
		t.Fatalf("health %+v", hs)
	}
}
