package partition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/statemachine"
)

// ErrClosed is returned for proposals made after Close.
var ErrClosed = errors.New("partition: closed")

// proposal is one command waiting to be appended, and where its outcome goes.
type proposal struct {
	cmd  command.Command
	done chan proposalResult
}

type proposalResult struct {
	outcome statemachine.Outcome
	err     error
}

type inflight struct {
	// wait waits for the entry's result, and gives up with raftlog.ErrAbandoned once abort closes.
	wait      func(ctx context.Context, abort <-chan struct{}) ([]byte, error)
	proposals []*proposal
	// leaderChanged is closed when the shard's leader changes after the entry was proposed.
	leaderChanged <-chan struct{}
	// proposed is when the entry was proposed (commit latency, for the Observer).
	proposed time.Time
}

// errLeaderChanged: the shard's leader changed while an entry was in flight. The entry may never
// be committed (proposed to, or forwarded to, a leader that died) and dragonboat would report that
// only at the proposal timeout; meanwhile every later entry of the partition would wait behind it.
// Its proposals get an unknown outcome at once instead: their callers propose again (the state
// machine deduplicates) or attach, and a late commit of the entry is harmless (deduplicated, or
// stale behind the new leader's fence).
var errLeaderChanged = fmt.Errorf("%w: the shard's leader changed while the entry was in flight", raftlog.ErrProposal)

// propose enqueues cmd and returns the channel its outcome arrives on. It counts in queued
// until its outcome is known.
func (p *Partition) propose(cmd command.Command) chan proposalResult {
	pr := &proposal{cmd: cmd, done: make(chan proposalResult, 1)}
	p.queued.Add(1)
	select {
	case p.proposals <- pr:
	case <-p.stop:
		p.settle(pr, proposalResult{err: ErrClosed})
	}
	return pr.done
}

// settle hands a proposal its outcome.
func (p *Partition) settle(pr *proposal, r proposalResult) {
	p.queued.Add(-1)
	pr.done <- r
}

// ProposeWait proposes cmd, work from outside the partition, and waits for its outcome. It is
// refused at once (a *RefusedError, nothing queued) while the partition does not run or its
// queue is full.
func (p *Partition) ProposeWait(ctx context.Context, cmd command.Command) (statemachine.Outcome, error) {
	if err := p.admit(cmd); err != nil {
		return statemachine.Outcome{}, err
	}
	select {
	case r := <-p.propose(cmd):
		return r.outcome, r.err
	case <-ctx.Done():
		return statemachine.Outcome{}, ctx.Err()
	}
}

// runProposer batches queued proposals into log entries, in arrival order. While earlier entries
// are being committed, new proposals accumulate and go out together in the next entry. It is a
// part (parts.go): it returns when stop is closed.
func (p *Partition) runProposer(stop <-chan struct{}) {
	for {
		var first *proposal
		select {
		case first = <-p.proposals:
		case <-stop:
			return
		}
		if !p.proposeBatch(first) {
			return
		}
	}
}

// errPartFailed: a part of the partition failed (panicked) while it held the proposal, before it
// was proposed to the log: nothing was written.
var errPartFailed = errors.New("partition: a part failed before the proposal was written")

// proposeBatch proposes first and what queued behind it as one log entry and hands it to the
// completer; false when the partition closed meanwhile. If it panics, the batch's proposals get an
// outcome (nothing written, or unknown once proposed) before the panic goes on to the supervisor.
func (p *Partition) proposeBatch(first *proposal) bool {
	batch := []*proposal{first}
	proposed, handed := false, false
	defer func() {
		if r := recover(); r != nil {
			switch {
			case handed:
			case proposed:
				p.failAll(batch, fmt.Errorf("%w: the proposer failed after proposing: %v", raftlog.ErrProposal, r))
			default:
				p.failAll(batch, fmt.Errorf("%w: %v", errPartFailed, r))
			}
			panic(r)
		}
	}()
drain:
	for len(batch) < p.cfg.MaxBatch {
		select {
		case pr := <-p.proposals:
			batch = append(batch, pr)
		default:
			break drain
		}
	}
	cmds := make([]command.Command, len(batch))
	for i, pr := range batch {
		cmds[i] = pr.cmd
	}
	if f := p.hook().beforeBatch; f != nil {
		f(cmds)
	}
	start := time.Now()
	now := start.UnixMilli()
	if f := p.hook().batchTime; f != nil {
		now = f(now, cmds)
	}
	data, err := command.Encode(command.Batch{Time: now, Commands: cmds})
	if err != nil {
		p.failAll(batch, err)
		return true
	}
	changed := p.cfg.Router.leaderChanged(p.cfg.ID)
	prop := p.cfg.Host.ProposeAsync(p.cfg.ShardID, data, p.cfg.ProposeTimeout)
	proposed = true
	// Handed over even when this loop was told to stop (a restart): only the partition's close
	// gives up on an entry that was proposed.
	select {
	case p.inflight <- inflight{wait: prop.WaitOr, proposals: batch, leaderChanged: changed, proposed: start}:
		handed = true
		return true
	case <-p.stop:
		p.failAll(batch, ErrClosed)
		return false
	}
}

// runCompleter waits for entries in order and hands each proposal its outcome. It is a part
// (parts.go): it returns when stop is closed, after the entry it is waiting for; when the
// partition closes, that entry's proposals get an unknown outcome (raftlog.ErrProposal).
func (p *Partition) runCompleter(stop <-chan struct{}) {
	ctx, cancel := cancelWhen(context.Background(), p.stop)
	defer cancel()
	for {
		select {
		case f := <-p.inflight:
			p.complete(ctx, f)
		case <-stop:
			return
		}
	}
}

// complete waits for one entry and settles its proposals; if it panics, the ones not settled yet
// get an unknown outcome first.
func (p *Partition) complete(ctx context.Context, f inflight) {
	settled := 0
	defer func() {
		if r := recover(); r != nil {
			p.failAll(f.proposals[settled:], fmt.Errorf("%w: the completer failed: %v", raftlog.ErrProposal, r))
			panic(r)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, p.cfg.ProposeTimeout+time.Second)
	wait := f.wait
	if lost := p.hook().lostEntry; lost != nil && lost(commandsOf(f.proposals)) {
		wait = func(ctx context.Context, abort <-chan struct{}) ([]byte, error) {
			select {
			case <-abort:
				return nil, raftlog.ErrAbandoned
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", raftlog.ErrProposal, ctx.Err())
			}
		}
	}
	data, err := wait(wctx, f.leaderChanged)
	cancel()
	if errors.Is(err, raftlog.ErrAbandoned) {
		err = errLeaderChanged
	}
	if err != nil {
		p.failAll(f.proposals, err)
		settled = len(f.proposals)
		return
	}
	var outcomes []statemachine.Outcome
	if err := msgpack.Unmarshal(data, &outcomes); err != nil || len(outcomes) != len(f.proposals) {
		p.failAll(f.proposals, fmt.Errorf("partition: bad apply result (%d outcomes for %d commands): %v", len(outcomes), len(f.proposals), err))
		settled = len(f.proposals)
		return
	}
	if h := p.hook().entryApplied; h != nil {
		h(commandsOf(f.proposals))
	}
	if o := p.cfg.Observer; o != nil {
		o.EntryApplied(time.Since(f.proposed), journalAppended(f.proposals, outcomes))
	}
	for i, pr := range f.proposals {
		p.settle(pr, proposalResult{outcome: outcomes[i]})
		settled = i + 1
	}
}

func commandsOf(batch []*proposal) []command.Command {
	cmds := make([]command.Command, len(batch))
	for i, pr := range batch {
		cmds[i] = pr.cmd
	}
	return cmds
}

func (p *Partition) failAll(batch []*proposal, err error) {
	for _, pr := range batch {
		p.settle(pr, proposalResult{err: err})
	}
}
