package partition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
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
	wait      func(context.Context) ([]byte, error)
	proposals []*proposal
}

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
// are being committed, new proposals accumulate and go out together in the next entry.
func (p *Partition) runProposer() {
	defer p.wg.Done()
	defer close(p.inflight)
	for {
		var first *proposal
		select {
		case first = <-p.proposals:
		case <-p.stop:
			return
		}
		batch := []*proposal{first}
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
		now := time.Now().UnixMilli()
		if f := p.hook().batchTime; f != nil {
			now = f(now, cmds)
		}
		data, err := command.Encode(command.Batch{Time: now, Commands: cmds})
		if err != nil {
			p.failAll(batch, err)
			continue
		}
		prop := p.cfg.Host.ProposeAsync(p.cfg.ShardID, data, p.cfg.ProposeTimeout)
		select {
		case p.inflight <- inflight{wait: prop.Wait, proposals: batch}:
		case <-p.stop:
			p.failAll(batch, ErrClosed)
			return
		}
	}
}

// runCompleter waits for entries in order and hands each proposal its outcome.
func (p *Partition) runCompleter() {
	defer p.wg.Done()
	for f := range p.inflight {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ProposeTimeout+time.Second)
		data, err := f.wait(ctx)
		cancel()
		if err != nil {
			p.failAll(f.proposals, err)
			continue
		}
		var outcomes []statemachine.Outcome
		if err := msgpack.Unmarshal(data, &outcomes); err != nil || len(outcomes) != len(f.proposals) {
			p.failAll(f.proposals, fmt.Errorf("partition: bad apply result (%d outcomes for %d commands): %v", len(outcomes), len(f.proposals), err))
			continue
		}
		for i, pr := range f.proposals {
			p.settle(pr, proposalResult{outcome: outcomes[i]})
		}
	}
}

func (p *Partition) failAll(batch []*proposal, err error) {
	for _, pr := range batch {
		p.settle(pr, proposalResult{err: err})
	}
}
