package statemachine

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/version"
)

// ReadWriter is what Apply works on: an indexed pebble batch in production.
type ReadWriter interface {
	pebble.Reader
	pebble.Writer
}

// StateMachine applies commands to one partition's tables. One StateMachine belongs to one
// database: it caches what it read from it.
type StateMachine struct {
	// Partition is this partition's number; it names the producer of outbox messages.
	Partition uint32
	cache     statusCache
	// fence caches the stored fence term (storage.MetaFenceTerm), read for every attempt command.
	fence fenceCache
}

type fenceCache struct {
	term  uint64
	known bool
}

// Reset forgets everything cached; call it when the tables were replaced (snapshot recovery).
func (sm *StateMachine) Reset() {
	sm.cache.reset()
	sm.fence = fenceCache{}
}

// applier carries the context of one batch.
type applier struct {
	rw      ReadWriter
	now     int64
	actions []Action
	part    uint32
	cache   *statusCache
	fences  *fenceCache
}

// Apply applies every command of b in order. The error is reserved for storage failures; rejected
// commands get an Outcome.
func (sm *StateMachine) Apply(rw ReadWriter, b command.Batch) ([]Outcome, []Action, error) {
	a := &applier{rw: rw, now: b.Time, part: sm.Partition, cache: &sm.cache, fences: &sm.fence}
	outcomes := make([]Outcome, len(b.Commands))
	for i, c := range b.Commands {
		o, err := a.apply(c)
		if err != nil {
			// The batch will not be committed: the caches may hold its writes.
			sm.Reset()
			return nil, nil, fmt.Errorf("statemachine: command %d (kind %d): %w", i, c.Kind, err)
		}
		outcomes[i] = o
	}
	return outcomes, a.actions, nil
}

var marshal = proto.MarshalOptions{Deterministic: true}

func (a *applier) apply(c command.Command) (Outcome, error) {
	if c.Term != 0 {
		fence, err := a.fenceTerm()
		if err != nil {
			return Outcome{}, err
		}
		if c.Term < fence {
			return stale("the attempt was started under leadership %d, fenced off by leadership %d", c.Term, fence), nil
		}
	}
	switch c.Kind {
	case command.KindFence:
		return a.fence(c.Fence)
	case command.KindIngest:
		return a.ingest(c.Ingest)
	case command.KindInvoke:
		return a.invoke(c.Invoke)
	case command.KindAppendEntry:
		return a.appendEntry(c.AppendEntry)
	case command.KindEnd:
		return a.end(c.End)
	case command.KindSuspend:
		return a.suspend(c.Suspend)
	case command.KindFail:
		return a.fail(c.Fail)
	case command.KindDeliver:
		return a.deliver(c.Deliver)
	case command.KindTruncateOutbox:
		return Outcome{}, storage.TruncateOutbox(a.rw, c.TruncateOutbox.UpTo)
	case command.KindFireTimer:
		return a.fireTimer(c.FireTimer)
	case command.KindDeliverBatch:
		return a.deliverBatch(c.DeliverBatch)
	case command.KindSignal:
		return a.signal(c.Signal)
	case command.KindTerminate:
		return a.terminate(c.Terminate)
	case command.KindPurge:
		return a.purge(c.Purge)
	case command.KindPatchState:
		return a.patchState(c.PatchState)
	case command.KindPause:
		return a.pause(c.Pause)
	case command.KindResume:
		return a.resume(c.Resume)
	case command.KindRestartAsNew:
		return a.restartAsNew(c.RestartAsNew)
	case command.KindExpire:
		return a.expireDue(c.Expire)
	case command.KindJournalEvent:
		return a.journalEvent(c.JournalEvent)
	}
	return Outcome{Code: Invalid, Message: fmt.Sprintf("unknown command kind %d", c.Kind)}, nil
}

// fence records a new leadership; the attempts of earlier ones are stale from now on.
func (a *applier) fence(f *command.Fence) (Outcome, error) {
	fence, err := a.fenceTerm()
	if err != nil || f.Term <= fence {
		return Outcome{Code: Duplicate}, err
	}
	if err := storage.PutCounter(a.rw, storage.MetaFenceTerm, f.Term); err != nil {
		return Outcome{}, err
	}
	*a.fences = fenceCache{term: f.Term, known: true}
	return Outcome{}, nil
}

// fenceTerm is the latest leadership's fence term, read once and then kept up to date.
func (a *applier) fenceTerm() (uint64, error) {
	if !a.fences.known {
		t, err := storage.Counter(a.rw, storage.MetaFenceTerm)
		if err != nil {
			return 0, err
		}
		*a.fences = fenceCache{term: t, known: true}
	}
	return a.fences.term, nil
}

func (a *applier) emit(act Action) { a.actions = append(a.actions, act) }

func stale(format string, args ...any) Outcome {
	return Outcome{Code: Stale, Message: fmt.Sprintf(format, args...)}
}

// invoke creates an invocation, or reports the existing one with the same id.
func (a *applier) invoke(inv *command.Invocation) (Outcome, error) {
	st, found, err := a.status(inv.ID)
	if err != nil {
		return Outcome{}, err
	}
	if found {
		return a.attach(inv, &st)
	}
	if inv.IdempotencyKey != "" {
		if err := storage.PutIdempotentInvocation(a.rw, inv.Target, inv.IdempotencyKey, inv.ID); err != nil {
			return Outcome{}, err
		}
	}
	input := &pb.InputCommandMessage{Value: &pb.Value{Content: inv.Input}}
	for _, h := range inv.Headers {
		input.Headers = append(input.Headers, &pb.Header{Key: h.Key, Value: h.Value})
	}
	entry, err := encodeEntry(protocol.InputCommandType, input)
	if err != nil {
		return Outcome{}, err
	}
	if err := storage.AppendJournal(a.rw, inv.ID, 0, entry, a.now); err != nil {
		return Outcome{}, err
	}
	stored := *inv
	stored.Input = nil
	st = storage.InvocationStatus{
		Invocation:    stored,
		CommandCount:  1,
		JournalLength: 1,
		CreatedAt:     a.now,
		ModifiedAt:    a.now,
		CreatedUsing:  version.Version,
	}
	if inv.ExecutionTime > a.now {
		st.Phase, st.ScheduledAt = storage.Scheduled, a.now
		if err := a.armTimer(storage.Timer{WakeTime: inv.ExecutionTime, ID: inv.ID}); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, a.putStatus(inv.ID, &st)
	}
	return Outcome{}, a.admit(inv.ID, &st)
}

// attach answers a request for an invocation that exists already (its idempotency key used
// again): ingress callers wait for the Finished action, emitted here if the invocation has
// ended; a calling invocation gets the result through the outbox now, or when it ends.
//
// A workflow's run is different, as in restate-server: it runs once per key, and a second
// request for it is not attached: a calling invocation gets workflowAlreadyInvoked (the ingress
// answers its caller likewise, see WorkflowAlreadyInvoked); a send is "previously accepted".
func (a *applier) attach(inv *command.Invocation, st *storage.InvocationStatus) (Outcome, error) {
	dup := Outcome{Code: Duplicate, Nonce: st.Invocation.Nonce, ExecutionTime: st.Invocation.ExecutionTime}
	if inv.Target.WorkflowRun() {
		if c := inv.Caller; c != nil {
			f := workflowAlreadyInvoked
			return dup, a.answer(*c, &command.Result{Failure: &f})
		}
		return dup, nil
	}
	if st.Phase == storage.Completed {
		a.emit(Action{Kind: Finished, ID: inv.ID, Result: st.Result})
	}
	c := inv.Caller
	if c == nil || isCaller(st, *c) {
		return dup, nil
	}
	if st.Phase == storage.Completed {
		return dup, a.answer(*c, st.Result)
	}
	st.Attached = append(st.Attached, *c)
	return dup, a.putStatus(inv.ID, st)
}

// isCaller reports whether c already waits for the invocation of st.
func isCaller(st *storage.InvocationStatus, c command.Caller) bool {
	if o := st.Invocation.Caller; o != nil && *o == c {
		return true
	}
	for _, x := range st.Attached {
		if x == c {
			return true
		}
	}
	return false
}

// answer sends a result to the invocation c that waits for it.
func (a *applier) answer(c command.Caller, result *command.Result) error {
	msg := command.OutboxMessage{Complete: &command.Completion{ID: c.ID, CompletionID: c.CompletionID, Kind: c.Kind, Result: *result}}
	return a.sendOutbox(&msg)
}

// admit starts a new (or scheduled) invocation, or parks it in its key's inbox while another
// invocation holds the key (objects.Admit).
func (a *applier) admit(id ids.InvocationID, st *storage.InvocationStatus) error {
	run, seq, err := objects.Admit(a.rw, st.Invocation.Target, id)
	if err != nil {
		return err
	}
	if !run {
		st.Phase, st.InboxSeq = storage.Inboxed, seq
		if st.InboxedAt == 0 {
			st.InboxedAt = a.now
		}
		return a.putStatus(id, st)
	}
	st.Phase = storage.Running
	if st.RunningAt == 0 {
		st.RunningAt = a.now
	}
	a.emit(Action{Kind: StartAttempt, ID: id})
	return a.putStatus(id, st)
}

// armTimer stores a durable timer and asks the leader to fire it.
func (a *applier) armTimer(t storage.Timer) error {
	if err := storage.PutTimer(a.rw, t); err != nil {
		return err
	}
	a.emit(Action{Kind: ArmTimer, ID: t.ID, WakeTime: t.WakeTime, CompletionID: t.CompletionID})
	return nil
}

// fireTimer completes a sleep or starts a scheduled invocation. A timer that is gone (fired
// before, or its invocation finished) is a duplicate.
func (a *applier) fireTimer(f *command.FireTimer) (Outcome, error) {
	if f.WakeTime > a.now {
		// Time comes from the log: a leader whose clock runs ahead of the batch's (another node
		// proposed the batch time, or the clock stepped back) fires nothing early.
		return Outcome{Code: Early, Message: fmt.Sprintf("timer due at %d, the log's time is %d", f.WakeTime, a.now)}, nil
	}
	t := storage.Timer{WakeTime: f.WakeTime, ID: f.ID, CompletionID: f.CompletionID}
	found, err := storage.HasTimer(a.rw, t)
	if err != nil || !found {
		return Outcome{Code: Duplicate}, err
	}
	if err := storage.DeleteTimer(a.rw, t); err != nil {
		return Outcome{}, err
	}
	st, found, err := a.status(f.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return stale("timer of unknown invocation %s", f.ID), nil
	}
	if f.CompletionID == cleanupCompletionID || f.CompletionID == journalCleanupCompletionID {
		return a.expire(f.ID, f.CompletionID == journalCleanupCompletionID)
	}
	if f.CompletionID == 0 {
		if st.Phase != storage.Scheduled {
			return stale("invocation %s is %s, not scheduled", f.ID, st.Phase), nil
		}
		st.ModifiedAt = a.now
		return Outcome{}, a.admit(f.ID, &st)
	}
	if (st.Phase != storage.Running && st.Phase != storage.Suspended && st.Phase != storage.Paused) || st.HasCompletion(f.CompletionID) {
		return stale("invocation %s is %s", f.ID, st.Phase), nil
	}
	n := &pb.SleepCompletionNotificationMessage{CompletionId: f.CompletionID, Void: &pb.Void{}}
	if err := a.appendNotification(f.ID, &st, protocol.SleepCompletionType, n, f.CompletionID); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(f.ID, &st)
}

func encodeEntry(t protocol.MessageType, m proto.Message) (command.Entry, error) {
	payload, err := marshal.Marshal(m)
	if err != nil {
		return command.Entry{}, fmt.Errorf("encode %s: %w", t, err)
	}
	return command.Entry{Type: uint16(t), Payload: payload}, nil
}

// running loads the status of an invocation that must be running.
func (a *applier) running(id ids.InvocationID) (storage.InvocationStatus, *Outcome, error) {
	st, found, err := a.status(id)
	if err != nil {
		return st, nil, err
	}
	if !found {
		o := stale("invocation %s does not exist", id)
		return st, &o, nil
	}
	if st.Phase != storage.Running {
		o := stale("invocation %s is %s, not running", id, st.Phase)
		return st, &o, nil
	}
	return st, nil, nil
}

// appendNotification journals a notification built by the runtime and forwards or wakes.
func (a *applier) appendNotification(id ids.InvocationID, st *storage.InvocationStatus, t protocol.MessageType, m proto.Message, completionID uint32) error {
	st.Completions = append(st.Completions, completionID)
	return a.notify(id, st, t, m, st.Waiting != nil && containsU32(st.Waiting.Completions, completionID))
}

// notify journals notification m and forwards it to the running attempt, or resumes the
// suspended invocation when wakes (it is in the awaited set).
func (a *applier) notify(id ids.InvocationID, st *storage.InvocationStatus, t protocol.MessageType, m proto.Message, wakes bool) error {
	entry, err := encodeEntry(t, m)
	if err != nil {
		return err
	}
	index := st.JournalLength
	if err := storage.AppendJournal(a.rw, id, index, entry, a.now); err != nil {
		return err
	}
	st.JournalLength++
	st.ModifiedAt = a.now
	switch st.Phase {
	case storage.Running:
		a.emit(Action{Kind: Notify, ID: id, Index: index, Entry: entry})
	case storage.Suspended:
		if wakes {
			st.Phase, st.Waiting = storage.Running, nil
			a.emit(Action{Kind: StartAttempt, ID: id})
		}
	}
	return nil
}

func containsU32(xs []uint32, x uint32) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// suspend parks a running invocation until one of the awaited notifications arrives.
func (a *applier) suspend(s *command.Suspend) (Outcome, error) {
	st, o, err := a.running(s.ID)
	if err != nil || o != nil {
		return deref(o), err
	}
	if o, ok := allJournaled("Suspension", s.Commands, &st); !ok {
		return o, nil
	}
	if st.PauseRequested { // the attempt an operator's pause asked to yield has ended
		pinOnce(&st, s.Pin)
		if err := a.pauseNow(s.ID, &st, nil, 0, true); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, a.putStatus(s.ID, &st)
	}
	for _, c := range s.WaitingCompletions {
		if st.HasCompletion(c) {
			// Already there: resume at once with a new attempt.
			a.emit(Action{Kind: StartAttempt, ID: s.ID})
			return Outcome{}, nil
		}
	}
	for _, sig := range s.WaitingSignals {
		if st.HasSignal(sig) {
			a.emit(Action{Kind: StartAttempt, ID: s.ID})
			return Outcome{}, nil
		}
	}
	for _, name := range s.WaitingNamedSignals {
		if st.HasNamedSignal(name) {
			a.emit(Action{Kind: StartAttempt, ID: s.ID})
			return Outcome{}, nil
		}
	}
	if len(s.WaitingCompletions) == 0 && len(s.WaitingSignals) == 0 && len(s.WaitingNamedSignals) == 0 {
		return Outcome{Code: Invalid, Message: "suspension with an empty waiting set"}, nil
	}
	pinOnce(&st, s.Pin)
	st.Phase = storage.Suspended
	st.Waiting = &storage.Waiting{Completions: s.WaitingCompletions, Signals: s.WaitingSignals, NamedSignals: s.WaitingNamedSignals}
	st.ModifiedAt = a.now
	return Outcome{}, a.putStatus(s.ID, &st)
}

// allJournaled checks an attempt's End or Suspension against the journal: it is stale unless
// every command the attempt proposed before it was appended (commands nil: an entry from before
// the check, taken as it is).
func allJournaled(what string, commands *uint32, st *storage.InvocationStatus) (Outcome, bool) {
	if commands == nil || *commands == st.CommandCount {
		return Outcome{}, true
	}
	return stale("%s after %d commands, the journal holds %d: a command of the attempt was not appended", what, *commands, st.CommandCount), false
}

func deref(o *Outcome) Outcome {
	if o == nil {
		return Outcome{}
	}
	return *o
}

// end completes a running invocation with the output its journal holds.
func (a *applier) end(e *command.End) (Outcome, error) {
	id := e.ID
	st, o, err := a.running(id)
	if err != nil || o != nil {
		return deref(o), err
	}
	if o, ok := allJournaled("End", e.Commands, &st); !ok {
		return o, nil
	}
	pinOnce(&st, e.Pin)
	if st.Result == nil {
		// The protocol requires an OutputCommand before End; completing with an invented empty
		// output would hide the deployment's bug, and retrying cannot fix it.
		return a.failInvocation(id, &st, 571, "protocol violation: End without an OutputCommand")
	}
	return Outcome{}, a.complete(id, &st, st.Result)
}

// fail completes an invocation that is not finished with a runtime failure.
func (a *applier) fail(f *command.Fail) (Outcome, error) {
	st, found, err := a.status(f.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase == storage.Completed {
		return stale("invocation %s is not in flight", f.ID), nil
	}
	if st.Phase == storage.Inboxed {
		return Outcome{Code: Invalid, Message: "cannot fail an inboxed invocation"}, nil
	}
	if st.Phase == storage.Scheduled {
		if err := storage.DeleteTimer(a.rw, storage.Timer{WakeTime: st.Invocation.ExecutionTime, ID: f.ID}); err != nil {
			return Outcome{}, err
		}
	}
	failure := f.Failure
	a.emit(Action{Kind: StopAttempt, ID: f.ID})
	return Outcome{}, a.complete(f.ID, &st, &command.Result{Failure: &failure})
}

// complete moves an invocation to Completed, answers its caller and passes on the key's lock.
func (a *applier) complete(id ids.InvocationID, st *storage.InvocationStatus, result *command.Result) error {
	st.Phase = storage.Completed
	st.Result = result
	st.Waiting = nil
	st.ModifiedAt = a.now
	if err := a.putStatus(id, st); err != nil {
		return err
	}
	if err := a.answerAll(id, st, result); err != nil {
		return err
	}
	if err := a.armRetention(id, st); err != nil {
		return err
	}
	return a.releaseLock(st.Invocation.Target, id)
}

// answerAll gives everyone waiting for ended invocation id its result: the callers waiting at
// the ingress (Finished), the invocation that called it and the attached ones (through the outbox).
func (a *applier) answerAll(id ids.InvocationID, st *storage.InvocationStatus, result *command.Result) error {
	inv := &st.Invocation
	a.emit(Action{Kind: Finished, ID: id, Result: result, Ended: &EndedInvocation{Target: inv.Target, Trace: inv.Trace, CreatedAt: st.CreatedAt}})
	callers := st.Attached
	if c := st.Invocation.Caller; c != nil {
		callers = append([]command.Caller{*c}, callers...)
	}
	for _, c := range callers {
		if err := a.answer(c, result); err != nil {
			return err
		}
	}
	return nil
}

// releaseLock passes the key's lock of ended invocation id of t on, if id held it
// (objects.Release): the first inboxed invocation starts.
func (a *applier) releaseLock(t command.Target, id ids.InvocationID) error {
	next, ok, err := objects.Release(a.rw, t, id)
	if err != nil || !ok {
		return err
	}
	st, found, err := a.status(next)
	if err != nil {
		return err
	}
	if !found || st.Phase != storage.Inboxed {
		return fmt.Errorf("inbox of %s/%s holds %s in phase %s", t.Service, t.Key, next, st.Phase)
	}
	if st.Mutation != nil {
		return a.applyQueuedMutation(next, &st)
	}
	st.Phase, st.InboxSeq, st.ModifiedAt = storage.Running, 0, a.now
	if st.RunningAt == 0 {
		st.RunningAt = a.now
	}
	a.emit(Action{Kind: StartAttempt, ID: next})
	return a.putStatus(next, &st)
}

func (a *applier) sendOutbox(m *command.OutboxMessage) error {
	seq, err := storage.NextCounter(a.rw, storage.MetaOutboxSeq)
	if err != nil {
		return err
	}
	if err := storage.PutOutbox(a.rw, seq, m); err != nil {
		return err
	}
	a.emit(Action{Kind: DeliverOutbox, Seq: seq})
	return nil
}

// deliver applies a message from a partition's outbox at most once.
func (a *applier) deliver(d *command.Deliver) (Outcome, error) {
	last, err := storage.Dedup(a.rw, d.Producer)
	if err != nil {
		return Outcome{}, err
	}
	if d.Seq <= last {
		return Outcome{Code: Duplicate}, nil
	}
	if err := storage.PutDedup(a.rw, d.Producer, d.Seq); err != nil {
		return Outcome{}, err
	}
	if d.Message.Invoke != nil {
		return a.invoke(d.Message.Invoke)
	}
	if d.Message.Signal != nil {
		return a.signal(d.Message.Signal)
	}
	if d.Message.Attach != nil {
		return a.attachRequest(d.Message.Attach)
	}
	if d.Message.Terminate != nil {
		return a.terminate(d.Message.Terminate)
	}
	return a.completeCall(d.Message.Complete)
}

// deliverBatch applies each message in seq order, each deduplicated as by deliver. The outcome
// is Applied when at least one message was new.
func (a *applier) deliverBatch(b *command.DeliverBatch) (Outcome, error) {
	out := Outcome{Code: Duplicate}
	for _, it := range b.Items {
		o, err := a.deliver(&command.Deliver{Producer: b.Producer, Seq: it.Seq, Message: it.Message})
		if err != nil {
			return Outcome{}, err
		}
		if o.Code != Duplicate {
			out = Outcome{}
		}
	}
	return out, nil
}

// completeCall journals a result for the invocation that waits for it (a call's, an attach's, an
// output request's or a durable promise's).
func (a *applier) completeCall(c *command.Completion) (Outcome, error) {
	st, found, err := a.status(c.ID)
	if err != nil {
		return Outcome{}, err
	}
	if !found || st.Phase == storage.Completed || st.Phase == storage.Inboxed {
		return stale("caller %s is not waiting", c.ID), nil
	}
	if st.HasCompletion(c.CompletionID) {
		return Outcome{Code: Duplicate}, nil
	}
	t, n := completionNotification(c)
	if err := a.appendNotification(c.ID, &st, t, n, c.CompletionID); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, a.putStatus(c.ID, &st)
}

// completionNotification is the notification that journals c, by the kind of command that waits.
func completionNotification(c *command.Completion) (protocol.MessageType, proto.Message) {
	var failure *pb.Failure
	if f := c.Result.Failure; f != nil {
		failure = f.Proto()
	}
	value := &pb.Value{Content: c.Result.Value}
	switch c.Kind {
	case command.CallerAttach:
		n := &pb.AttachInvocationCompletionNotificationMessage{CompletionId: c.CompletionID}
		if failure != nil {
			n.Result = &pb.AttachInvocationCompletionNotificationMessage_Failure{Failure: failure}
		} else {
			n.Result = &pb.AttachInvocationCompletionNotificationMessage_Value{Value: value}
		}
		return protocol.AttachInvocationCompletionType, n
	case command.CallerOutput:
		n := &pb.GetInvocationOutputCompletionNotificationMessage{CompletionId: c.CompletionID}
		switch {
		case c.NotReady:
			n.Result = &pb.GetInvocationOutputCompletionNotificationMessage_Void{Void: &pb.Void{}}
		case failure != nil:
			n.Result = &pb.GetInvocationOutputCompletionNotificationMessage_Failure{Failure: failure}
		default:
			n.Result = &pb.GetInvocationOutputCompletionNotificationMessage_Value{Value: value}
		}
		return protocol.GetInvocationOutputCompletionType, n
	case command.CallerPromise:
		return protocol.GetPromiseCompletionType, promises.GetNotification(c.CompletionID, c.Result)
	}
	n := &pb.CallCompletionNotificationMessage{CompletionId: c.CompletionID}
	if failure != nil {
		n.Result = &pb.CallCompletionNotificationMessage_Failure{Failure: failure}
	} else {
		n.Result = &pb.CallCompletionNotificationMessage_Value{Value: value}
	}
	return protocol.CallCompletionType, n
}
