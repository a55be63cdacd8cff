package partition

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// BenchmarkProposeWait measures the proposal path alone (admission, proposer, log, apply,
// completer) with 64 concurrent proposers of a command the state machine answers without
// writing (a purge of an unknown invocation).
func BenchmarkProposeWait(b *testing.B) {
	var runs atomic.Int64
	n := startNode(b, b.TempDir(), counterEndpoint(&runs))
	defer n.close()
	p := n.node.Router().For(0)
	cmd := command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: ids.NewInvocationID(0, [16]byte{1})}}
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, err := p.ProposeWait(context.Background(), cmd)
			if err != nil || o.Code != statemachine.NotFound {
				b.Errorf("propose: %+v %v", o, err)
				return
			}
		}
	})
}
