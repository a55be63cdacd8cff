package partition

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// TestLeaderChangeReleasesEntriesInFlight: an entry that will never be committed (proposed to a
// leader that died: here a hook makes the completer wait for it as for one) holds up every later
// entry of its partition, since outcomes are handed out in order. When the shard's leader
// changes, its proposals get an unknown outcome (raftlog.ErrProposal) at once, not at the
// proposal timeout, and the entries behind it complete.
func TestLeaderChangeReleasesEntriesInFlight(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs))
	defer n.close()
	r := n.node.Router()
	lostID := ids.NewInvocationID(ids.KeyedPartitionKey("Counter", "lost"), [16]byte{1})
	p := r.For(lostID.PartitionKey)
	lostCmd := command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: lostID}}
	entered := make(chan struct{})
	var once atomic.Bool
	p.hooks.Store(&testHooks{lostEntry: func(cmds []command.Command) bool {
		for _, c := range cmds {
			if c.Kind == command.KindPurge && c.Purge.ID == lostID {
				if once.CompareAndSwap(false, true) {
					close(entered)
				}
				return true
			}
		}
		return false
	}})
	lost := p.propose(lostCmd)
	<-entered
	behindID := ids.NewInvocationID(lostID.PartitionKey, [16]byte{2})
	behind := p.propose(command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: behindID}})

	r.setLeader(p.ID(), 99) // dragonboat's leader update: another node leads the shard now
	select {
	case res := <-lost:
		if !errors.Is(res.err, errLeaderChanged) || !errors.Is(res.err, raftlog.ErrProposal) {
			t.Fatalf("the lost entry's proposal: %+v, want an unknown outcome because the leader changed", res)
		}
	case <-time.After(time.Minute):
		t.Fatal("the lost entry's proposal got no outcome")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	select {
	case res := <-behind:
		if res.err != nil || res.outcome.Code != statemachine.NotFound {
			t.Fatalf("the entry behind it: %+v, want NotFound (applied)", res)
		}
	case <-ctx.Done():
		t.Fatal("the entry behind the lost one never completed")
	}
}
