package partition

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
)

// Admission control. Work from outside the partition (ingress invocations, signals, admin
// operations: everything that goes through ProposeWait) is admitted only while the partition
// runs and fewer than Config.MaxQueued proposals wait in front of its proposer or are in flight
// in the log. A call (an ingress request that waits for its invocation's result) is admitted
// only while fewer than Config.MaxCalling calls wait on the partition: under overload the log
// keeps up (appending is cheap) while invocations pile up behind the deployments and the CPU,
// and the callers waiting are what measures that backlog. A refusal happens before anything is queued, so a refused request left no trace:
// its caller may retry it as it is, with or without an idempotency key. Work the partition
// already accepted (attempts' journal entries, timers, outbox deliveries) is never refused:
// refusing it would stall invocations that callers wait for.

// DefaultMaxQueued is the default Config.MaxQueued.
const DefaultMaxQueued = 2048

// DefaultMaxCalling is the default Config.MaxCalling.
const DefaultMaxCalling = 1024

// retryAfterOverload is what a refused caller is told to wait: about the time the proposer
// needs to drain a full queue on a loaded machine.
const retryAfterOverload = time.Second

// ErrOverloaded and ErrUnavailable classify refusals (errors.Is).
var (
	ErrOverloaded  = errors.New("partition: overloaded")
	ErrUnavailable = errors.New("partition: unavailable")
)

// RefusedError is a refusal to admit work: nothing was written. Overloaded tells a full queue
// (the caller should slow down) from a partition that cannot run (Overloaded false).
type RefusedError struct {
	Partition  uint32
	Overloaded bool
	Reason     string
	After      time.Duration
}

func (e *RefusedError) Error() string {
	if e.Overloaded {
		return fmt.Sprintf("partition %d is overloaded (%s); nothing was accepted, retry later", e.Partition, e.Reason)
	}
	return fmt.Sprintf("partition %d is not running (%s); nothing was accepted, retry later", e.Partition, e.Reason)
}

// Is makes errors.Is(err, ErrOverloaded) and errors.Is(err, ErrUnavailable) work.
func (e *RefusedError) Is(target error) bool {
	return (target == ErrOverloaded && e.Overloaded) || (target == ErrUnavailable && !e.Overloaded)
}

// RetryAfter is how long the caller should wait before retrying (the ingress's Retry-After).
func (e *RefusedError) RetryAfter() time.Duration { return e.After }

// Unavailable is true when the partition cannot run, false when it is only busy.
func (e *RefusedError) Unavailable() bool { return !e.Overloaded }

// admit says whether one more proposal from outside may join the queue, or why not. Commands
// that take work away (cancel, kill, pause, purge) pass a full queue: an operator shedding load
// must not be refused for the load.
func (p *Partition) admit(cmd command.Command) error {
	if reason, down := p.health.down(); down {
		return &RefusedError{Partition: p.cfg.ID, Reason: reason, After: p.health.retryAfter()}
	}
	if relief(cmd.Kind) {
		return nil
	}
	if n := p.queued.Load(); n >= int64(p.cfg.MaxQueued) {
		return &RefusedError{Partition: p.cfg.ID, Overloaded: true, After: retryAfterOverload,
			Reason: fmt.Sprintf("%d proposals queued, the limit is %d", n, p.cfg.MaxQueued)}
	}
	return nil
}

func relief(k command.Kind) bool {
	return k == command.KindTerminate || k == command.KindPause || k == command.KindPurge
}

// admitCall says whether one more call may wait on the partition, or why not.
func (p *Partition) admitCall() error {
	if n := p.calling.Load(); n >= int64(p.cfg.MaxCalling) {
		return &RefusedError{Partition: p.cfg.ID, Overloaded: true, After: retryAfterOverload,
			Reason: fmt.Sprintf("%d calls wait for their invocations, the limit is %d", n, p.cfg.MaxCalling)}
	}
	return nil
}

// health says whether the partition's actor runs: while it does not, nothing from outside is
// admitted (the proposals would sit in the log with nobody to act on them).
type health struct {
	mu struct {
		sync.Mutex
		reason string // "" while healthy
		since  time.Time
		next   time.Duration // when the next recovery attempt is due, from since
		panic  string        // the actor's last panic
	}
}

func (h *health) setLastPanic(r string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.panic = r
}

func (h *health) lastPanic() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.panic
}

func (h *health) down() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.reason, h.mu.reason != ""
}

func (h *health) setDown(reason string, retryIn time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.reason == "" {
		h.mu.since = time.Now()
	}
	h.mu.reason, h.mu.next = reason, time.Since(h.mu.since)+retryIn
}

// setUp reports whether the partition was down.
func (h *health) setUp() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.mu.reason != ""
	h.mu.reason = ""
	return was
}

// retryAfter is the time until the next recovery attempt, at least a second.
func (h *health) retryAfter() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(time.Second, h.mu.next-time.Since(h.mu.since))
}

// Health is a partition's state as operators see it.
type Health struct {
	Partition uint32 `json:"partition"`
	Leader    bool   `json:"leader"`
	Running   bool   `json:"running"`
	// Reason says why the partition does not run ("" when it does).
	Reason string `json:"reason,omitempty"`
	// Queued is how many proposals wait for the log or are in flight.
	Queued int64 `json:"queued"`
	// Calling is how many calls wait for their invocations.
	Calling int64 `json:"calling"`
}

// Health reports whether the partition runs and how full its queue is.
func (p *Partition) Health() Health {
	reason, down := p.health.down()
	return Health{Partition: p.cfg.ID, Leader: p.IsLeader(), Running: !down, Reason: reason, Queued: p.queued.Load(), Calling: p.calling.Load()}
}

// Health lists the states of the partitions this node holds a replica of.
func (n *Node) Health() []Health {
	out := make([]Health, 0, len(n.router.parts))
	for _, p := range n.local() {
		out = append(out, p.Health())
	}
	return out
}

// Unhealthy is nil when every partition runs, else an error naming those that do not.
func (n *Node) Unhealthy() error {
	var errs []error
	for _, h := range n.Health() {
		if !h.Running {
			errs = append(errs, fmt.Errorf("partition %d is not running: %s", h.Partition, h.Reason))
		}
	}
	return errors.Join(errs...)
}
