package partition

import (
	"context"
	"fmt"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// Terminate proposes a cancellation (or a kill) of invocation id to its partition and returns
// the state machine's outcome: Applied (done, or Pending when a cancellation was journaled for
// the handler), NotFound, Ended or Duplicate.
func (r *Router) Terminate(ctx context.Context, id ids.InvocationID, kill bool) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, id, command.Command{Kind: command.KindTerminate, Terminate: &command.Terminate{ID: id, Kill: kill}})
}

// Purge proposes the removal of ended invocation id (or of its journal only) and returns the
// outcome: Applied, NotFound, or Invalid when it has not ended.
func (r *Router) Purge(ctx context.Context, id ids.InvocationID, journalOnly bool) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, id, command.Command{Kind: command.KindPurge, Purge: &command.Purge{ID: id, JournalOnly: journalOnly}})
}

func (r *Router) proposeFor(ctx context.Context, id ids.InvocationID, cmd command.Command) (statemachine.Outcome, error) {
	p := r.For(id.PartitionKey)
	o, err := p.ProposeWait(ctx, cmd)
	if err != nil {
		return o, fmt.Errorf("partition %d: %w", p.ID(), err)
	}
	return o, nil
}
