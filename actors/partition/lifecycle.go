package partition

import (
	"context"
	"crypto/rand"
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

// PatchState proposes the replacement of a Virtual Object key's state (applied in the key's lock
// order) and returns the outcome: Applied (done or queued behind the key's holder), or Invalid
// when a version was given and no longer matches.
func (r *Router) PatchState(ctx context.Context, p command.PatchState) (statemachine.Outcome, error) {
	return r.proposeFor(ctx, p.ID, command.Command{Kind: command.KindPatchState, PatchState: &p})
}

// State reads a Virtual Object key's state, ordered by state key, from its partition's tables at
// the partition's leader.
func (r *Router) State(ctx context.Context, service, key string) (state []storage.StateEntry, err error) {
	i := r.index(ids.KeyedPartitionKey(service, key))
	err = r.route(ctx, i, func(p *Partition) error {
		state, err = p.state(service, key)
		return err
	}, func(addr string, _ bool) error {
		state, err = r.remote.State(ctx, addr, i, service, key)
		return err
	})
	return state, err
}

// state reads a Virtual Object key's state from this replica's tables.
func (p *Partition) state(service, key string) ([]storage.StateEntry, error) {
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

// Status reads invocation id's status record from its partition's tables (what was applied) at
// the partition's leader.
func (r *Router) Status(ctx context.Context, id ids.InvocationID) (st storage.InvocationStatus, found bool, err error) {
	i := r.index(id.PartitionKey)
	err = r.route(ctx, i, func(p *Partition) error {
		st, found, err = p.Status(id)
		return err
	}, func(addr string, _ bool) error {
		st, found, err = r.remote.Status(ctx, addr, i, id)
		return err
	})
	if err != nil {
		return st, false, fmt.Errorf("partition %d: status of %s: %w", i, id, err)
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
