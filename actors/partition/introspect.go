package partition

import (
	"context"
	"fmt"
	"sync"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/invoker"
)

// attemptReporter is implemented by an Invoker that reports its view of an invocation's
// attempts (runtime/invoker.Invoker).
type attemptReporter interface {
	Attempts(id ids.InvocationID) (invoker.AttemptInfo, bool)
}

// rows reads introspection tables from one snapshot of this replica's storage, with the
// invoker's view of running invocations when this node's invoker reports it.
func (p *Partition) rows(rd introspect.Read) ([]introspect.Rows, error) {
	snap := p.cfg.DB.NewSnapshot()
	defer snap.Close()
	var attempts introspect.AttemptsFunc
	if rep, ok := p.cfg.Invoker.(attemptReporter); ok {
		attempts = func(id ids.InvocationID) (introspect.Attempt, bool) {
			a, ok := rep.Attempts(id)
			return introspect.Attempt{Count: a.Attempt, Running: a.Running, NextRetryAt: a.NextRetryAt,
				LastFailure: a.LastFailure, Deployment: a.Deployment}, ok
		}
	}
	rows, err := introspect.PartitionRows(snap, rd, attempts)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", p.ID(), err)
	}
	return rows, nil
}

// Rows reads introspection tables from every partition rd needs (all, unless it is restricted
// to invocations: introspect.Read.Partitions), each at its leader (here or on the node that
// leads it) from one snapshot there; the partitions are read at once. It fails if any partition
// cannot be read: an answer that silently left one out would be wrong.
func (r *Router) Rows(ctx context.Context, rd introspect.Read) ([]introspect.Rows, error) {
	results := make([][]introspect.Rows, r.count)
	errs := make([]error, r.count)
	need := rd.Partitions(func(pk ids.PartitionKey) uint32 { return r.index(pk) })
	var wg sync.WaitGroup
	for i := range r.count {
		if need != nil && !need[uint32(i)] {
			continue
		}
		wg.Add(1)
		go func(i uint32) {
			defer wg.Done()
			errs[i] = r.route(ctx, i, func(p *Partition) error {
				var err error
				results[i], err = p.rows(rd)
				return err
			}, func(addr string, _ bool) error {
				var err error
				results[i], err = r.remote.Rows(ctx, addr, i, rd)
				return err
			})
		}(uint32(i))
	}
	wg.Wait()
	var out []introspect.Rows
	for i, rows := range results {
		if errs[i] != nil {
			return nil, fmt.Errorf("partition %d: read tables: %w", i, errs[i])
		}
		out = append(out, rows...)
	}
	return out, nil
}
