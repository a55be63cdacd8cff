package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/actors/partition/pb"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Invoker is what a partition needs of the invoker (runtime/invoker.Invoker implements it).
type Invoker interface {
	Start(p invoker.Partition, id ids.InvocationID)
	Notify(id ids.InvocationID, index uint32, e command.Entry)
	Abort(id ids.InvocationID)
	Yield(p invoker.Partition, id ids.InvocationID)
	Ended(id ids.InvocationID, target command.Target, trace *command.Trace, createdAt int64, failure *command.Failure)
	AbortAll(p invoker.Partition)
}

// Config configures one partition.
type Config struct {
	ID             uint32
	ShardID        uint64
	DB             *pebble.DB
	Host           *raftlog.Host
	Invoker        Invoker
	Router         *Router
	MaxBatch       int
	ProposeTimeout time.Duration
	// MaxQueued bounds the proposals queued or in flight above which work from outside is
	// refused (DefaultMaxQueued if 0); see admission.go.
	MaxQueued int
	// MaxCalling bounds the calls waiting for their invocations above which new calls are
	// refused (DefaultMaxCalling if 0).
	MaxCalling int
	// RecoverInterval: how long a partition that cannot run waits before it tries again.
	RecoverInterval time.Duration
	// Observer, if set, is told of every entry this replica proposed once it is applied (metrics).
	Observer Observer
}

// Partition is one partition replica on this node.
type Partition struct {
	cfg       Config
	applier   *applier
	proposals chan *proposal
	inflight  chan inflight
	kick      chan struct{}
	timerArm  chan storage.Timer
	timerCtl  chan timerControl
	leader    atomic.Bool
	lostLead  atomic.Pointer[chan struct{}] // closed (and replaced) when this replica stops leading
	// leaderEpoch counts the times this replica became leader (awaitLeaderReady).
	leaderEpoch atomic.Uint64
	// readyTerm is the Raft term of the leadership whose Fence this replica applied: the term its
	// attempts' commands carry (0 until the first, and where the term is not known).
	readyTerm atomic.Uint64
	// readyEpoch is the leaderEpoch whose fence applied: equal to leaderEpoch while this
	// replica's current leadership is ready, so a restarted actor need not fence again.
	readyEpoch atomic.Uint64
	// delivered is the last outbox seq this leader delivered (possibly not yet truncated).
	delivered atomic.Uint64
	pid       atomic.Pointer[actor.PID]
	system    *actor.ActorSystem
	waiters   waiters
	// queued counts proposals queued or in flight (admission control).
	queued atomic.Int64
	// calling counts the calls waiting for their invocations (admission control).
	calling atomic.Int64
	health  health
	// attempts tracks attempts' proposals whose outcome is not known yet (see recovery.go).
	attempts attemptProposals
	// attachRead, if set (by tests), runs in Attach between the status read and the wait.
	attachRead func(ids.InvocationID)
	// hooks, if set (by tests), observe or change what the partition does.
	hooks atomic.Pointer[testHooks]
	// parts hands each part over from one loop to the next (parts.go).
	parts partLoops

	stop chan struct{}
	wg   sync.WaitGroup
	// closed is set by Close before stop is closed: after it, no goroutine joins wg.
	closed struct {
		sync.Mutex
		yes bool
	}
}

func newPartition(cfg Config, system *actor.ActorSystem) *Partition {
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 256
	}
	if cfg.ProposeTimeout == 0 {
		cfg.ProposeTimeout = 10 * time.Second
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.MaxCalling == 0 {
		cfg.MaxCalling = DefaultMaxCalling
	}
	if cfg.RecoverInterval == 0 {
		cfg.RecoverInterval = DefaultRecoverInterval
	}
	p := &Partition{
		cfg:       cfg,
		applier:   &applier{sm: statemachine.StateMachine{Partition: cfg.ID}},
		proposals: make(chan *proposal, 4096),
		inflight:  make(chan inflight, 64),
		kick:      make(chan struct{}, 1),
		timerArm:  make(chan storage.Timer, 1024),
		timerCtl:  make(chan timerControl, 4),
		system:    system,
		stop:      make(chan struct{}),
	}
	p.waiters.m = map[ids.InvocationID][]chan command.Result{}
	p.attempts.init()
	p.applier.setPublish(p.publish)
	// The loops (proposer, completer, timers, shuffle) start with the partition's actor, as its
	// children (parts.go).
	return p
}

// testHooks let tests observe or change what a partition does; every field may be nil.
type testHooks struct {
	// beforeBatch runs on the proposer goroutine before a batch is proposed (it may block).
	beforeBatch func([]command.Command)
	// snapshotWaits runs when a Snapshot waits for an earlier attempt's proposals.
	snapshotWaits func(ids.InvocationID)
	// activeInvocations replaces the read of the running invocations in becomeLeader.
	activeInvocations func() ([]ids.InvocationID, error)
	// batchTime replaces the time stamped on a batch (this node's clock, in ms).
	batchTime func(now int64, cmds []command.Command) int64
	// entryApplied runs on the completer when an entry's outcomes arrived, before they are handed
	// out (it may panic: a test of supervision).
	entryApplied func([]command.Command)
	// beforeFire runs on the timer service before it proposes a due timer (it may panic).
	beforeFire func(storage.Timer)
	// lostEntry, when it says so for an entry's commands, makes the completer wait for that
	// entry as for one proposed to a leader that died: until its context ends.
	lostEntry func([]command.Command) bool
}

var noHooks = &testHooks{}

func (p *Partition) hook() *testHooks {
	if h := p.hooks.Load(); h != nil {
		return h
	}
	return noHooks
}

// activeInvocations reads the running invocations.
func (p *Partition) activeInvocations() ([]ids.InvocationID, error) {
	if f := p.hook().activeInvocations; f != nil {
		return f()
	}
	return storage.ActiveInvocations(p.cfg.DB)
}

// ID is the partition number.
func (p *Partition) ID() uint32 { return p.cfg.ID }

// IsLeader reports whether this replica currently leads the partition.
func (p *Partition) IsLeader() bool { return p.leader.Load() }

// publish sends committed actions to the actor (called on dragonboat's apply goroutine).
func (p *Partition) publish(actions []statemachine.Action) {
	if pid := p.pid.Load(); pid != nil {
		p.system.Root.Send(pid, appliedActions{actions: actions})
	}
}

// leadershipLost returns a channel closed when this replica next stops leading.
func (p *Partition) leadershipLost() <-chan struct{} {
	for {
		if c := p.lostLead.Load(); c != nil {
			return *c
		}
		c := make(chan struct{})
		p.lostLead.CompareAndSwap(nil, &c)
	}
}

func (p *Partition) setLeader(is bool) {
	if was := p.leader.Swap(is); was && !is {
		if c := p.lostLead.Swap(nil); c != nil {
			close(*c)
		}
	}
	if pid := p.pid.Load(); pid != nil {
		p.system.Root.Send(pid, &pb.LeaderChanged{IsLeader: is})
	}
}

// Propose implements invoker.Partition: the outcome of an attempt's command, as an error. Until
// the outcome is known, a new attempt of the same invocation waits before reading its snapshot;
// a Stale journal entry makes the actor check that the invocation still has an attempt.
func (p *Partition) Propose(cmd command.Command) <-chan error {
	out := make(chan error, 1)
	cmd.Term = p.readyTerm.Load()
	id, tracked := attemptOf(cmd)
	if tracked {
		p.attempts.add(id)
	}
	res := p.propose(cmd)
	go func() {
		r := <-res
		if tracked {
			p.attempts.done(id)
		}
		if r.err == nil && r.outcome.Code == statemachine.Stale && cmd.Kind == command.KindAppendEntry {
			p.recheck(id)
		}
		out <- outcomeError(r)
	}()
	return out
}

func outcomeError(r proposalResult) error {
	if r.err != nil {
		return r.err
	}
	switch r.outcome.Code {
	case statemachine.Applied, statemachine.Duplicate:
		return nil
	default:
		// Stale, or Invalid (the state machine failed the invocation): either way the attempt
		// must stop without a retry.
		return fmt.Errorf("%w: %s", invoker.ErrStale, r.outcome.Message)
	}
}

// Snapshot implements invoker.Partition: a consistent read of what an attempt needs.
func (p *Partition) Snapshot(id ids.InvocationID) (invoker.Snapshot, error) {
	if err := p.attempts.wait(id, p.stop, p.hook().snapshotWaits); err != nil {
		return invoker.Snapshot{}, err
	}
	snap := p.cfg.DB.NewSnapshot()
	defer snap.Close()
	st, found, err := storage.Status(snap, id)
	if err != nil {
		return invoker.Snapshot{}, err
	}
	if !found {
		return invoker.Snapshot{}, fmt.Errorf("%w: invocation %s not found", invoker.ErrStale, id)
	}
	if st.Phase != storage.Running {
		return invoker.Snapshot{}, fmt.Errorf("%w: invocation %s is %s", invoker.ErrStale, id, st.Phase)
	}
	journal, err := storage.Journal(snap, id)
	if err != nil {
		return invoker.Snapshot{}, err
	}
	out := invoker.Snapshot{Status: st, Journal: journal}
	if t := st.Invocation.Target; t.Keyed() {
		if out.State, err = storage.AllState(snap, t.Service, t.Key); err != nil {
			return invoker.Snapshot{}, err
		}
	}
	return out, nil
}

// Status reads an invocation's status (for ingress and admin).
func (p *Partition) Status(id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	return storage.Status(p.cfg.DB, id)
}

// Invoke proposes a new invocation; previously is true when one with its id already existed.
//
// A refusal (*RefusedError) means nothing was written. Once admitted, the invocation is not given
// up on: when the log cannot say whether the entry was applied (a proposal timeout under load),
// the same command is proposed again, which the state machine deduplicates by invocation id,
// until the outcome is known or ctx ends. A Duplicate after such a retry is this call's own.
func (p *Partition) Invoke(ctx context.Context, inv command.Invocation) (previously bool, executionTime int64, err error) {
	o, retried, err := p.proposeUntilKnown(ctx, command.Command{Kind: command.KindInvoke, Invoke: &inv})
	if err != nil {
		return false, 0, fmt.Errorf("partition %d: invoke %s: %w", p.cfg.ID, inv.ID, err)
	}
	previously, executionTime = invoked(o, inv, retried)
	return previously, executionTime, nil
}

// invoked is what proposing inv found: whether another request created the invocation
// (existed), and the execution time of the invocation that holds the id (the existing one's, or
// inv's own).
func invoked(o statemachine.Outcome, inv command.Invocation, retried bool) (previously bool, executionTime int64) {
	if existed(o, inv, retried) {
		return true, o.ExecutionTime
	}
	return false, inv.ExecutionTime
}

// existed reports whether outcome o of proposing inv found an invocation another request
// created: a Duplicate whose nonce is not inv's. Without a nonce (requests from before nonces), a
// Duplicate after a retry is taken as the retried proposal's own.
func existed(o statemachine.Outcome, inv command.Invocation, retried bool) bool {
	if o.Code != statemachine.Duplicate {
		return false
	}
	if inv.Nonce != 0 {
		return o.Nonce != inv.Nonce
	}
	return !retried
}

// proposeUntilKnown is ProposeWait for commands the state machine deduplicates: when the log
// cannot say whether the entry was applied, it proposes cmd again (past admission: it was
// admitted once) until the outcome is known or ctx ends.
func (p *Partition) proposeUntilKnown(ctx context.Context, cmd command.Command) (o statemachine.Outcome, retried bool, err error) {
	o, err = p.ProposeWait(ctx, cmd)
	for backoff := 50 * time.Millisecond; err != nil && errors.Is(err, raftlog.ErrProposal); backoff = min(2*backoff, time.Second) {
		slog.Debug("proposal outcome unknown, proposing again", "partition", p.cfg.ID, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return o, retried, fmt.Errorf("%w (it may have been applied)", ctx.Err())
		}
		retried = true
		select {
		case r := <-p.propose(cmd):
			o, err = r.outcome, r.err
		case <-ctx.Done():
			return o, retried, fmt.Errorf("%w (it may have been applied)", ctx.Err())
		}
	}
	return o, retried, err
}

// Call proposes the invocation (or attaches to the existing one with its id) and waits for the
// result.
func (p *Partition) Call(ctx context.Context, inv command.Invocation) (command.Result, error) {
	if err := p.admitCall(); err != nil {
		return command.Result{}, fmt.Errorf("partition %d: call %s: %w", p.cfg.ID, inv.ID, err)
	}
	p.calling.Add(1)
	defer p.calling.Add(-1)
	ch := p.waiters.add(inv.ID)
	defer p.waiters.remove(inv.ID, ch)
	lost := p.leadershipLost()
	// The waiter is registered before proposing, so the Finished action cannot be missed: it comes
	// when the invocation ends, or at once when the id belongs to one that already ended. A lost
	// action (actor restart, new leader) is made good by becomeLeader from the status table.
	previously, _, err := p.Invoke(ctx, inv)
	if err != nil {
		return command.Result{}, err
	}
	if previously && inv.Target.WorkflowRun() {
		// A workflow runs once per key; a second request is refused, not attached.
		f := statemachine.WorkflowAlreadyInvoked()
		return command.Result{Failure: &f}, nil
	}
	select {
	case r := <-ch:
		return r, nil
	case <-lost:
		return command.Result{}, fmt.Errorf("partition %d: call %s: %w", p.cfg.ID, inv.ID, errLeaderLost)
	case <-ctx.Done():
		return command.Result{}, ctx.Err()
	}
}

// Attach waits for the invocation id to end (ingress.Dispatcher): at once when it has ended
// already, with found=false when there is no such invocation.
func (p *Partition) Attach(ctx context.Context, id ids.InvocationID) (ingress.Attachment, bool, error) {
	ch := p.waiters.add(id)
	defer p.waiters.remove(id, ch)
	// As in Call, the waiter is registered before the status is read: an end applied before the
	// read shows in the status, one applied after it comes as the Finished action.
	a, found, err := p.Output(ctx, id)
	if err != nil || !found || a.Result != nil {
		return a, found, err
	}
	if p.attachRead != nil {
		p.attachRead(id)
	}
	select {
	case r := <-ch:
		a.Result = &r
		return a, true, nil
	case <-ctx.Done():
		return ingress.Attachment{}, false, ctx.Err()
	}
}

// Output reads the invocation id now (ingress.Dispatcher): its result once it has ended.
func (p *Partition) Output(_ context.Context, id ids.InvocationID) (ingress.Attachment, bool, error) {
	st, found, err := p.Status(id)
	if err != nil {
		return ingress.Attachment{}, false, fmt.Errorf("partition %d: status of %s: %w", p.cfg.ID, id, err)
	}
	if !found {
		return ingress.Attachment{}, false, nil
	}
	a := ingress.Attachment{Target: st.Invocation.Target, Retention: st.Invocation.Retention}
	if st.Phase == storage.Completed && st.Result != nil {
		a.Result, a.EndedAt = st.Result, st.ModifiedAt
	}
	return a, true, nil
}

// Waiting is how many callers (Call, Attach) wait for the invocation id to end.
func (p *Partition) Waiting(id ids.InvocationID) int { return p.waiters.count(id) }

// Close stops the partition's goroutines. The actor is stopped by the supervisor.
func (p *Partition) Close() {
	p.closed.Lock()
	p.closed.yes = true
	p.closed.Unlock()
	close(p.stop)
	p.wg.Wait()
	// The loops are gone: what they left queued gets its outcome.
	for {
		select {
		case f := <-p.inflight:
			p.failAll(f.proposals, ErrClosed)
		case pr := <-p.proposals:
			p.settle(pr, proposalResult{err: ErrClosed})
		default:
			return
		}
	}
}

// waiters are callers waiting for invocations to finish.
type waiters struct {
	mu struct {
		sync.Mutex
	}
	m map[ids.InvocationID][]chan command.Result
}

func (w *waiters) add(id ids.InvocationID) chan command.Result {
	ch := make(chan command.Result, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch
}

func (w *waiters) remove(id ids.InvocationID, ch chan command.Result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, id)
	} else {
		w.m[id] = list
	}
}

func (w *waiters) resolve(id ids.InvocationID, r command.Result) {
	w.mu.Lock()
	list := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	for _, ch := range list {
		ch <- r
	}
}

func (w *waiters) count(id ids.InvocationID) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m[id])
}

func (w *waiters) ids() []ids.InvocationID {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]ids.InvocationID, 0, len(w.m))
	for id := range w.m {
		out = append(out, id)
	}
	return out
}

// runShuffle delivers the outbox to target partitions while this replica leads.
// It is a part (parts.go): it returns when stop is closed, and starts with a round, since a kick
// may have been taken by a loop that failed.
func (p *Partition) runShuffle(stop <-chan struct{}) {
	backoff := 10 * time.Millisecond
	p.wakeShuffle()
	for {
		select {
		case <-p.kick:
		case <-stop:
			return
		}
		if !p.IsLeader() {
			continue
		}
		if err := p.deliverOutbox(); err != nil {
			slog.Warn("outbox delivery failed, retrying", "partition", p.cfg.ID, "err", err)
			select {
			case <-time.After(backoff):
			case <-stop:
				return
			}
			backoff = min(backoff*2, time.Second)
			p.wakeShuffle()
			continue
		}
		backoff = 10 * time.Millisecond
	}
}

func (p *Partition) wakeShuffle() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// deliverOutbox sends the stored outbox to the target partitions: per target one DeliverBatch
// (one log entry, applied all or none) holding that target's messages in seq order, the targets
// in parallel. A receiver deduplicates by the producer's high-water mark, so a message must never
// be applied after a later one to the same target failed: hence one batch in flight per target.
// The outbox is then truncated without waiting; a truncation that fails only means the next
// round re-delivers messages the receivers ignore.
func (p *Partition) deliverOutbox() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		head, err := storage.OutboxHead(p.cfg.DB)
		if err != nil {
			return err
		}
		entries, err := storage.Outbox(p.cfg.DB, max(head, p.delivered.Load())+1, 512)
		if err != nil || len(entries) == 0 {
			return err
		}
		upTo, err := p.deliverBatches(ctx, entries)
		if upTo > 0 {
			p.delivered.Store(upTo)
			p.propose(command.Command{Kind: command.KindTruncateOutbox, TruncateOutbox: &command.TruncateOutbox{UpTo: upTo}})
		}
		if err != nil {
			return err
		}
	}
}

// deliverBatches delivers entries and returns the highest seq up to which every entry is
// delivered (0 if none).
func (p *Partition) deliverBatches(ctx context.Context, entries []storage.OutboxEntry) (uint64, error) {
	type pending struct {
		target uint32
		batch  command.DeliverBatch
		done   <-chan proposalResult
	}
	var order []uint32
	byTarget := map[uint32]*pending{}
	for _, e := range entries {
		t := p.cfg.Router.index(e.Message.PartitionKey())
		pd, ok := byTarget[t]
		if !ok {
			pd = &pending{target: t, batch: command.DeliverBatch{Producer: p.cfg.ID}}
			byTarget[t] = pd
			order = append(order, t)
		}
		pd.batch.Items = append(pd.batch.Items, command.OutboxEntry{Seq: e.Seq, Message: e.Message})
	}
	for _, t := range order {
		pd := byTarget[t]
		pd.done = p.cfg.Router.deliver(ctx, t, &pd.batch)
	}
	upTo := entries[len(entries)-1].Seq
	var firstErr error
	for _, t := range order {
		pd := byTarget[t]
		var r proposalResult
		select {
		case r = <-pd.done:
		case <-ctx.Done():
			r.err = ctx.Err()
		}
		if r.err != nil {
			// Everything from this target's first message on may be undelivered.
			upTo = min(upTo, pd.batch.Items[0].Seq-1)
			if firstErr == nil {
				firstErr = fmt.Errorf("deliver %d messages to partition %d: %w", len(pd.batch.Items), t, r.err)
			}
		}
	}
	if upTo < entries[0].Seq {
		upTo = 0
	}
	return upTo, firstErr
}
