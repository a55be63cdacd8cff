package raftlog

import (
	"context"
	"fmt"
	"time"
)

// Barrier returns once this node's replica of shardID has applied every entry the shard's leader
// had committed when Barrier was called (dragonboat's ReadIndex). On a new leader that means the
// entries of earlier terms too: a leader commits them only with an entry of its own term, so
// until then its tables may lack what the previous leader acknowledged. It fails when ctx ends
// first or the shard cannot confirm its leader (no quorum); the caller decides whether to retry.
func (h *Host) Barrier(ctx context.Context, shardID uint64) error {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	rs, err := h.nh.ReadIndex(shardID, timeout)
	if err != nil {
		return fmt.Errorf("raftlog: barrier on shard %d: %w", shardID, err)
	}
	defer rs.Release()
	select {
	case r := <-rs.ResultC():
		if !r.Completed() {
			return fmt.Errorf("raftlog: barrier on shard %d: %s", shardID, describe(r))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("raftlog: barrier on shard %d: %w", shardID, ctx.Err())
	}
}
