package partition

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Observer is told, by a partition's completer, of every log entry this replica proposed and saw
// applied: how long it took from proposal to applied, and how many journal entries (AppendEntry
// commands of attempts) it appended. It is called on the completer's goroutine and must be cheap.
// The state machine knows nothing of it: counting happens at the proposer's edge.
type Observer interface {
	EntryApplied(elapsed time.Duration, journalAppended int)
}

// journalAppended counts the AppendEntry commands of an entry that the state machine applied.
func journalAppended(batch []*proposal, outcomes []statemachine.Outcome) int {
	n := 0
	for i, pr := range batch {
		if pr.cmd.Kind == command.KindAppendEntry && outcomes[i].Code == statemachine.Applied {
			n++
		}
	}
	return n
}

// Gauges is what metrics read of one partition replica of this node at a scrape.
type Gauges struct {
	ID     uint32
	Leader bool
	// Queued counts the proposals queued or in flight (the admission bound's measure).
	Queued int64
	// Phases and Timers are read from the tables, for partitions this replica leads only (so that
	// a cluster's nodes do not count a partition twice); zero otherwise.
	Phases storage.PhaseCounts
	Timers int
}

// Gauges reads every partition replica of this node. The tables are read from a pebble snapshot,
// never from the applier's batch, so a scrape does not block the log.
func (n *Node) Gauges() ([]Gauges, error) {
	var out []Gauges
	for _, p := range n.local() {
		g := Gauges{ID: p.cfg.ID, Leader: p.IsLeader(), Queued: p.queued.Load()}
		if g.Leader {
			if err := p.readGauges(&g); err != nil {
				return out, fmt.Errorf("partition %d: read gauges: %w", p.cfg.ID, err)
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func (p *Partition) readGauges(g *Gauges) error {
	snap := p.cfg.DB.NewSnapshot()
	defer snap.Close()
	var r pebble.Reader = snap
	var err error
	if g.Phases, err = storage.CountPhases(r); err != nil {
		return err
	}
	g.Timers, err = storage.CountTimers(r)
	return err
}
