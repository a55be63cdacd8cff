package partition

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
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
	i := r.index(id.PartitionKey)
	o, err := r.proposeWait(ctx, i, cmd)
	if err != nil {
		return o, fmt.Errorf("partition %d: %w", i, err)
	}
	return o, nil
}

// ErrNoReplica is returned by reads of a partition this node holds no replica of.
var ErrNoReplica = errors.New("partition: no replica on this node")

// readable returns the local replica of the partition owning pk for a read.
func (r *Router) readable(pk ids.PartitionKey) (*Partition, error) {
	p := r.For(pk)
	if p == nil {
		return nil, fmt.Errorf("partition %d: %w; ask a node that holds it (GET /cluster-health)", r.index(pk), ErrNoReplica)
	}
	return p, nil
}

// PatchState proposes the replacement of a Virtual Object key's state (applied in the key's lock
// order) and returns the outcome: Applied (done or queued behind the key's holder), or Invalid
// when a version was given and no longer matches.
func (r *Router) PatchState(ctx context.Context, p command.PatchState) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, p.ID, command.Command{Kind: command.KindPatchState, PatchState: &p})
}

// State reads a Virtual Object key's state, ordered by state key, from its partition's tables.
func (r *Router) State(service, key string) ([]storage.StateEntry, error) {
	p, err := r.readable(ids.KeyedPartitionKey(service, key))
	if err != nil {
		return nil, err
	}
	state, err := storage.AllState(p.cfg.DB, service, key)
	if err != nil {
		return nil, fmt.Errorf("partition %d: state of %s/%s: %w", p.ID(), service, key, err)
	}
	return state, nil
}

// Pause proposes that invocation id pause (an operator's pause): Applied, Duplicate when it is
// paused already, Invalid when it is not running or suspended, NotFound.
func (r *Router) Pause(ctx context.Context, id ids.InvocationID) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, id, command.Command{Kind: command.KindPause, Pause: &command.Pause{ID: id}})
}

// Resume proposes that a paused (or suspended) invocation id start a new attempt, on the
// deployment repin names if set: Applied, NotStarted, Ended, NotFound, or Invalid when the
// deployment cannot change.
func (r *Router) Resume(ctx context.Context, id ids.InvocationID, repin *command.Repin) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, id, command.Command{Kind: command.KindResume, Resume: &command.Resume{ID: id, Repin: repin}})
}

// Status reads invocation id's status record from its partition's tables (what was applied).
func (r *Router) Status(_ context.Context, id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	p, err := r.readable(id.PartitionKey)
	if err != nil {
		return storage.InvocationStatus{}, false, err
	}
	st, found, err := storage.Status(p.cfg.DB, id)
	if err != nil {
		return st, false, fmt.Errorf("partition %d: status of %s: %w", p.ID(), id, err)
	}
	return st, found, nil
}

// RestartAsNew proposes a new invocation from ended invocation id (its journal up to index from)
// and returns the outcome and the new invocation's id, drawn here in id's partition.
func (r *Router) RestartAsNew(ctx context.Context, id ids.InvocationID, from uint32, repin *command.Repin, keep bool) (statemachine.Outcome, ids.InvocationID, error) {
	var entropy [16]byte
	if _, err := rand.Read(entropy[:]); err != nil {
		return statemachine.Outcome{}, ids.InvocationID{}, fmt.Errorf("invocation id entropy: %w", err)
	}
	newID := ids.NewInvocationID(id.PartitionKey, entropy)
	o, err := r.proposeFor(ctx, id, command.Command{Kind: command.KindRestartAsNew, RestartAsNew: &command.RestartAsNew{ID: id, NewID: newID, From: from, Repin: repin, KeepPin: keep}})
	return o, newID, err
}
