package partition

import (
	"fmt"

	"github.com/resolute-run/resolute/runtime/ids"
)

// attemptLister is what the orphan check needs of the invoker (runtime/invoker.Invoker has it).
type attemptLister interface {
	Has(id ids.InvocationID) bool
}

// Orphans lists the running invocations of the partitions this node leads that have no attempt
// (live or waiting for a retry): each one is stuck until the next leader change. Right after an
// invocation starts, or while an actor restarts, one may show for an instant; an orphan that
// stays is a bug.
func (n *Node) Orphans() ([]ids.InvocationID, error) {
	live, ok := n.cfg.Invoker.(attemptLister)
	if !ok {
		return nil, fmt.Errorf("partition: the invoker cannot list its attempts")
	}
	var out []ids.InvocationID
	for _, p := range n.local() {
		if !p.IsLeader() {
			continue
		}
		active, err := p.activeInvocations()
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.cfg.ID, err)
		}
		for _, id := range active {
			if !live.Has(id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}
