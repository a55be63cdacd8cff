package command

import (
	"github.com/resolute-run/resolute/runtime/ids"
)

// Kind says which command a Command holds.
type Kind uint8

// Command kinds. Values are part of the log format: never renumber.
const (
	// KindInvoke creates an invocation (from ingress).
	KindInvoke Kind = 1
	// KindAppendEntry appends an entry produced by a running attempt (a journal command from the
	// deployment, or a proposed Run completion).
	KindAppendEntry Kind = 2
	// KindEnd records that the deployment ended the invocation (End message after an Output).
	KindEnd Kind = 3
	// KindSuspend records that the attempt suspended, waiting on notifications.
	KindSuspend Kind = 4
	// KindDeliver carries a message from a partition's outbox (a new invocation or a call result).
	KindDeliver Kind = 5
	// KindTruncateOutbox removes delivered messages from the outbox.
	KindTruncateOutbox Kind = 6
	// KindFail ends an invocation with a failure decided by the runtime (e.g. a protocol error the
	// deployment cannot recover from).
	KindFail Kind = 7
	// KindFireTimer fires a durable timer whose wake time has come (by the leader's clock).
	KindFireTimer Kind = 8
	// KindDeliverBatch carries several consecutive messages of one producer's outbox for this
	// partition, applied together (all or none, since they are one log entry).
	KindDeliverBatch Kind = 9
	// KindSignal delivers a signal to an invocation from outside the log's partitions: an
	// awakeable resolved or rejected at the ingress.
	KindSignal Kind = 10
	// KindTerminate cancels (gracefully) or kills (at once) an invocation, from the admin API or
	// propagated from a killed parent.
	KindTerminate Kind = 11
	// KindPurge removes an ended invocation (or only its journal), from the admin API.
	KindPurge Kind = 12
	// KindPatchState replaces a Virtual Object key's state, from the admin API.
	KindPatchState Kind = 13
	// KindPause pauses a running or suspended invocation (from the admin API, or from the
	// invoker when its attempts are exhausted); KindResume resumes it.
	KindPause  Kind = 14
	KindResume Kind = 15
	// KindRestartAsNew starts a new invocation from an ended one's input (and journal prefix).
	KindRestartAsNew Kind = 16
	// KindExpire removes ended invocations whose retention is over (the leader's cleaner).
	KindExpire Kind = 17
	// KindFence is a new leader's first command: from it on, commands of attempts started under an
	// earlier leadership (Command.Term below Fence.Term) are stale.
	KindFence Kind = 18
	// KindIngest turns a Kafka record into an invocation, at most once per record, and stores the
	// position of its source's consumer in the same entry (see Ingest).
	KindIngest Kind = 19
)

// Command is one fact in the log. Exactly one of the pointer fields is set, matching Kind.
type Command struct {
	Kind           Kind            `msgpack:"k"`
	Invoke         *Invocation     `msgpack:"i,omitempty"`
	AppendEntry    *AppendEntry    `msgpack:"a,omitempty"`
	End            *End            `msgpack:"e,omitempty"`
	Suspend        *Suspend        `msgpack:"s,omitempty"`
	Deliver        *Deliver        `msgpack:"d,omitempty"`
	TruncateOutbox *TruncateOutbox `msgpack:"t,omitempty"`
	Fail           *Fail           `msgpack:"f,omitempty"`
	FireTimer      *FireTimer      `msgpack:"ft,omitempty"`
	DeliverBatch   *DeliverBatch   `msgpack:"db,omitempty"`
	Signal         *Signal         `msgpack:"sg,omitempty"`
	Terminate      *Terminate      `msgpack:"tm,omitempty"`
	Purge          *Purge          `msgpack:"pg,omitempty"`
	PatchState     *PatchState     `msgpack:"ps,omitempty"`
	Pause          *Pause          `msgpack:"pa,omitempty"`
	Resume         *Resume         `msgpack:"re,omitempty"`
	RestartAsNew   *RestartAsNew   `msgpack:"ra,omitempty"`
	Expire         *Expire         `msgpack:"ex,omitempty"`
	Fence          *Fence          `msgpack:"fc,omitempty"`
	Ingest         *Ingest         `msgpack:"ig,omitempty"`
	JournalEvent   *JournalEvent   `msgpack:"je,omitempty"` // event.go
	// Term, on a command of an invocation attempt, is the leadership (Raft term) the attempt was
	// started under; the state machine refuses it as stale once a later leader's Fence applied.
	// 0 on every other command.
	Term uint64 `msgpack:"lt,omitempty"`
}

// Ingest is a batch of Kafka records of one source (subscription, topic, Kafka partition),
// proposed by the subscription's consumer to the source's home partition, in offset order.
// Applied, it sends each record's invocation through the outbox to its target's partition and
// stores the source's position (the offset after the last record), in one log entry; so a
// record becomes an invocation exactly once, and one source's records reach their targets in
// offset order. A consumer whose From is not the stored position (-1: none stored) is Stale: it
// read from the wrong place (records before these were not ingested, or were ingested already)
// and must go on from the stored position (IngestFromUnknown asks for it: always Stale). Every
// outcome carries the stored position after it (statemachine.Outcome.Position).
type Ingest struct {
	Subscription string         `msgpack:"u"`
	Topic        string         `msgpack:"t"`
	Partition    int32          `msgpack:"p"`
	From         int64          `msgpack:"f"`
	Records      []IngestRecord `msgpack:"r"`
}

// IngestRecord is one record of an Ingest.
type IngestRecord struct {
	Offset int64      `msgpack:"o"`
	Invoke Invocation `msgpack:"i"`
	// Skip, when set, says why the record becomes no invocation (a Virtual Object sink's key
	// that is not UTF-8): the position moves past it all the same.
	Skip string `msgpack:"sk,omitempty"`
}

// IngestFromUnknown is Ingest.From of a consumer that does not know its source's position.
const IngestFromUnknown = -2

// Fence fences off the attempts of leaderships before Term (see KindFence).
type Fence struct {
	Term uint64 `msgpack:"t"`
}

// Expire carries the due entries of a partition's expiry index: each ended invocation is
// removed (or only its journal). An entry no longer in the index was applied before.
type Expire struct {
	Entries []ExpiryEntry `msgpack:"e"`
}

// ExpiryEntry names one entry of the expiry index.
type ExpiryEntry struct {
	At          int64            `msgpack:"a"`
	ID          ids.InvocationID `msgpack:"i"`
	JournalOnly bool             `msgpack:"j,omitempty"`
}

// RestartAsNew starts NewID (drawn by the proposer, in ID's partition) as a new invocation of
// ended invocation ID's target, with ID's journal up to index From (0: the input only) and the
// completions of the commands in that prefix, as restate-server's restart-as-new.
type RestartAsNew struct {
	ID    ids.InvocationID `msgpack:"i"`
	NewID ids.InvocationID `msgpack:"n"`
	From  uint32           `msgpack:"f,omitempty"`
	// Repin is the deployment the new invocation runs on (with the old one's protocol version
	// when that was pinned); nil with KeepPin: the old invocation's pin; nil alone: none (the
	// first attempt picks the service's latest deployment).
	Repin   *Repin `msgpack:"rp,omitempty"`
	KeepPin bool   `msgpack:"kp,omitempty"`
}

// Pause stops invocation ID's attempts until it is resumed. LastFailure (with the number of
// Attempts made) is set when the invoker pauses it because its attempts are exhausted; an
// operator's pause carries none.
type Pause struct {
	ID          ids.InvocationID `msgpack:"i"`
	LastFailure *Failure         `msgpack:"f,omitempty"`
	Attempts    uint32           `msgpack:"a,omitempty"`
	// Yielded is the invoker's: the attempt an operator's pause asked to yield ended without
	// ending the invocation (it failed, or never started); the invocation pauses now.
	Yielded bool `msgpack:"y,omitempty"`
}

// Resume starts a new attempt of a paused (or suspended) invocation.
type Resume struct {
	ID ids.InvocationID `msgpack:"i"`
	// Repin, when set, moves the invocation to another deployment (restate's ?deployment=).
	Repin *Repin `msgpack:"rp,omitempty"`
}

// Pin is the deployment an invocation's attempts run on and the protocol version its journal is
// written in (restate's pinned deployment). The first attempt that proposes anything pins it, so
// that a deployment registered later never replays a journal another deployment wrote. Protocol
// 0: the deployment is chosen (by an operator) but the version is negotiated by the next attempt.
type Pin struct {
	Deployment ids.DeploymentID `msgpack:"d"`
	Protocol   int              `msgpack:"p,omitempty"`
}

// Repin is an operator's choice of deployment for a resumed or restarted invocation, resolved
// by the proposer from the registry (the state machine never reads the registry): the
// deployment, the protocol versions it supports (a pinned journal's version must be one of
// them) and whether it was asked for as "latest" (a no-op on a resume when nothing is pinned).
type Repin struct {
	Deployment  ids.DeploymentID `msgpack:"d"`
	MinProtocol int              `msgpack:"mi,omitempty"`
	MaxProtocol int              `msgpack:"ma,omitempty"`
	Latest      bool             `msgpack:"l,omitempty"`
}

// PatchState replaces the whole state of the Virtual Object key (Service, Key) with State, as an
// operator asks (restate's POST /services/{name}/state). It waits for the key's lock like an
// exclusive invocation, under the id ID the proposer drew; with Version set it applies only if
// the state's version (objects.StateVersion) is still Version.
type PatchState struct {
	ID      ids.InvocationID `msgpack:"i"`
	Service string           `msgpack:"s"`
	Key     string           `msgpack:"k"`
	State   []StateEntry     `msgpack:"st,omitempty"`
	Version string           `msgpack:"v,omitempty"`
}

// StateEntry is one K/V state entry.
type StateEntry struct {
	Key   []byte `msgpack:"k"`
	Value []byte `msgpack:"v"`
}

// Purge removes ended invocation ID: its status, journal and idempotency entry, and for a
// workflow's run the workflow's state and promises; JournalOnly removes only the journal.
type Purge struct {
	ID          ids.InvocationID `msgpack:"i"`
	JournalOnly bool             `msgpack:"j,omitempty"`
}

// Terminate cancels or kills invocation ID. A cancellation is the cancel signal (index 1) in the
// invocation's journal: the handler sees a terminal error at its next await and may compensate; a
// kill ends it at once with a terminal error and kills the calls it waits on. Either removes an
// invocation that has not started (inboxed or scheduled).
type Terminate struct {
	ID   ids.InvocationID `msgpack:"i"`
	Kill bool             `msgpack:"k,omitempty"`
}

// ServiceType is the kind of service a target belongs to.
type ServiceType uint8

// Service types.
const (
	Service       ServiceType = 1
	VirtualObject ServiceType = 2
	Workflow      ServiceType = 3
)

// Ty names the service type as restate-server's tables and admin answers do: "service",
// "virtual_object", "workflow".
func (t ServiceType) Ty() string {
	switch t {
	case VirtualObject:
		return "virtual_object"
	case Workflow:
		return "workflow"
	}
	return "service"
}

// HandlerType is the kind of handler a target names.
type HandlerType uint8

// Handler types. Handlers of plain services have HandlerUnset.
const (
	HandlerUnset    HandlerType = 0
	Exclusive       HandlerType = 1
	Shared          HandlerType = 2
	WorkflowHandler HandlerType = 3
)

// Target is a resolved handler: the proposer has looked up the service's and handler's types in
// the registry, so the state machine needs no schema.
type Target struct {
	Service     string      `msgpack:"s"`
	Handler     string      `msgpack:"h"`
	Key         string      `msgpack:"k,omitempty"`
	ServiceType ServiceType `msgpack:"st"`
	HandlerType HandlerType `msgpack:"ht,omitempty"`
}

// Keyed reports whether the target has a key (Virtual Objects and Workflows).
func (t Target) Keyed() bool { return t.ServiceType == VirtualObject || t.ServiceType == Workflow }

// Exclusive reports whether invocations of the target must hold the key's lock.
func (t Target) Exclusive() bool {
	return t.Keyed() && (t.HandlerType == Exclusive || t.HandlerType == HandlerUnset || t.HandlerType == WorkflowHandler)
}

// Header is one request header.
type Header struct {
	Key   string `msgpack:"k"`
	Value string `msgpack:"v"`
}

// Caller says where the result of an invocation goes when another invocation waits for it: the
// waiting invocation's id, the completion id of the result, and which command waits (a call, an
// attach, an output request, a durable promise's GetPromise), which decides the notification.
type Caller struct {
	ID           ids.InvocationID `msgpack:"i"`
	CompletionID uint32           `msgpack:"c"`
	Kind         CallerKind       `msgpack:"k,omitempty"`
}

// CallerKind is the command a Caller waits with. Values are part of the log format.
type CallerKind uint8

// Caller kinds.
const (
	// CallerCall: a CallCommand; the result becomes a CallCompletionNotification.
	CallerCall CallerKind = 0
	// CallerAttach: an AttachInvocationCommand (AttachInvocationCompletionNotification).
	CallerAttach CallerKind = 1
	// CallerOutput: a GetInvocationOutputCommand (GetInvocationOutputCompletionNotification);
	// answered at once, with NotReady while the invocation runs.
	CallerOutput CallerKind = 2
	// CallerPromise: a GetPromiseCommand on a durable promise (GetPromiseCompletionNotification).
	CallerPromise CallerKind = 3
)

// Invocation is a request to run a handler.
type Invocation struct {
	ID             ids.InvocationID `msgpack:"id"`
	Target         Target           `msgpack:"t"`
	Input          []byte           `msgpack:"in,omitempty"`
	Headers        []Header         `msgpack:"h,omitempty"`
	IdempotencyKey string           `msgpack:"ik,omitempty"`
	// Caller is set when another invocation awaits the result (CallCommand); nil for ingress
	// requests and one-way sends.
	Caller *Caller `msgpack:"c,omitempty"`
	// ExecutionTime (ms since epoch) delays the start; 0 means now. Reserved for delayed sends.
	ExecutionTime int64 `msgpack:"et,omitempty"`
	// Retention is how long the invocation is kept after it ends; the proposer fills it from the
	// schema. nil (entries written before retention existed): kept for ever.
	Retention *Retention `msgpack:"rt,omitempty"`
	// Nonce is drawn at random by the node that first receives the request (0: none). An invoke
	// found to be a Duplicate of an invocation with the same nonce met the request's own earlier
	// proposal (proposed again because its outcome was unknown), not another request.
	Nonce uint64 `msgpack:"nc,omitempty"`
	// Trace is where the invocation's span sits in a distributed trace, set by the edge that
	// created the request (the ingress from a traceparent, the invoker from the caller's call
	// span) when tracing is on; nil otherwise. Stored with the invocation, so that spans made
	// after a restart still link to it (see package tracing).
	Trace *Trace `msgpack:"tr,omitempty"`
	// InvokedBy is the invocation whose call or one-way call made this one; nil for ingress
	// requests and Kafka records. Shown by introspection (sys_invocation.invoked_by_*).
	InvokedBy *InvokedBy `msgpack:"ib,omitempty"`
}

// InvokedBy names the invocation that called or sent to another, and its target.
type InvokedBy struct {
	ID     ids.InvocationID `msgpack:"i"`
	Target Target           `msgpack:"t"`
}

// Trace is an invocation's place in a W3C trace: the span its own span is a child of (Parent,
// in trace TraceID) or, when Linked, the span that caused it: the invocation then starts a
// trace of its own with a link to that span (one-way calls, as restate-server does). The
// invocation's own span id is a function of its id (tracing.SpanID), so it is not stored.
type Trace struct {
	TraceID [16]byte `msgpack:"t"`
	Parent  [8]byte  `msgpack:"p"`
	Flags   uint8    `msgpack:"f,omitempty"`
	State   string   `msgpack:"s,omitempty"`
	Linked  bool     `msgpack:"l,omitempty"`
}

// Retention says how long an ended invocation is kept, in milliseconds. For Completion its status
// (result, idempotency entry) stays, so that attach, output and a retried idempotent request
// find it; for a workflow's run also the workflow's state and promises. For Journal its journal
// stays (never longer than Completion). 0 removes at once.
type Retention struct {
	Completion int64 `msgpack:"c"`
	Journal    int64 `msgpack:"j"`
}

// WorkflowRun reports whether the target is a workflow's run handler (once per workflow key).
func (t Target) WorkflowRun() bool {
	return t.ServiceType == Workflow && t.HandlerType == WorkflowHandler
}

// Entry is one journal entry: a protocol message type and its protobuf payload, stored as the
// deployment sent it (commands) or as the runtime built it (notifications), so a replay sends the
// exact bytes back.
type Entry struct {
	Type    uint16 `msgpack:"t"`
	Payload []byte `msgpack:"p,omitempty"`
}

// CallResolution is what the proposer looked up for a Call or OneWayCall command: the callee's
// types, so the state machine can create the callee invocation without a schema.
type CallResolution struct {
	ServiceType ServiceType `msgpack:"st"`
	HandlerType HandlerType `msgpack:"ht,omitempty"`
	// Retention is the callee's retention for a call without an idempotency key, and
	// IdempotentRetention for one with a key (see Retention).
	Retention           *Retention `msgpack:"rt,omitempty"`
	IdempotentRetention *Retention `msgpack:"irt,omitempty"`
	// Trace is the callee invocation's Trace (the caller's call span), when tracing is on.
	Trace *Trace `msgpack:"tr,omitempty"`
}

// AppendEntry appends a journal entry produced by an attempt.
type AppendEntry struct {
	ID ids.InvocationID `msgpack:"i"`
	// CommandIndex is the position of this command among the invocation's commands (Input is 0).
	// The state machine rejects a command whose index is not the next one: a late proposal from an
	// aborted attempt can never land twice. Unused for ProposeRunCompletion entries, which are
	// deduplicated by completion id.
	CommandIndex uint32          `msgpack:"ci"`
	Entry        Entry           `msgpack:"e"`
	Call         *CallResolution `msgpack:"c,omitempty"`
	// Pin is set on an attempt's first proposal when the invocation has no pin yet.
	Pin *Pin `msgpack:"pn,omitempty"`
}

// End records the End message of an attempt.
type End struct {
	ID  ids.InvocationID `msgpack:"i"`
	Pin *Pin             `msgpack:"pn,omitempty"` // see AppendEntry.Pin
	// Commands is how many commands the journal holds once every command the attempt proposed
	// before its End is appended (nil in entries written before it existed: not checked). An
	// End that finds fewer is stale: one of the attempt's commands (its OutputCommand, say) was
	// not appended, and the attempt is retried instead of completing without it.
	Commands *uint32 `msgpack:"cc,omitempty"`
}

// Suspend records a Suspension: the attempt stopped, waiting for any of these notifications.
type Suspend struct {
	ID                  ids.InvocationID `msgpack:"i"`
	WaitingCompletions  []uint32         `msgpack:"c,omitempty"`
	WaitingSignals      []uint32         `msgpack:"s,omitempty"`
	WaitingNamedSignals []string         `msgpack:"n,omitempty"`
	Pin                 *Pin             `msgpack:"pn,omitempty"` // see AppendEntry.Pin
	// Commands: as End.Commands (a suspension waiting on the completion of a command that was
	// not appended would wait for ever).
	Commands *uint32 `msgpack:"cc,omitempty"`
}

// Fail completes an invocation with a failure decided by the runtime.
type Fail struct {
	ID      ids.InvocationID `msgpack:"i"`
	Failure Failure          `msgpack:"f"`
}

// Failure is a terminal error: a code (HTTP-like), a message and, from protocol V6, metadata
// (key/value pairs the handler attached), carried end to end: to callers' journals and to the
// ingress response.
type Failure struct {
	Code     uint16          `msgpack:"c"`
	Message  string          `msgpack:"m"`
	Metadata []MetadataEntry `msgpack:"md,omitempty"`
}

// MetadataEntry is one key/value pair of a Failure's metadata.
type MetadataEntry struct {
	Key   string `msgpack:"k"`
	Value string `msgpack:"v"`
}

// Result is the outcome of an invocation: a value or a failure.
type Result struct {
	Value   []byte   `msgpack:"v,omitempty"`
	Failure *Failure `msgpack:"f,omitempty"`
}

// OutboxMessage is something one partition sends to another (or to itself) through its outbox.
// Exactly one field is set.
type OutboxMessage struct {
	Invoke   *Invocation `msgpack:"i,omitempty"`
	Complete *Completion `msgpack:"c,omitempty"`
	Signal   *Signal     `msgpack:"s,omitempty"`
	Attach   *Attach     `msgpack:"a,omitempty"`
	// Terminate kills a child of a killed invocation.
	Terminate *Terminate `msgpack:"t,omitempty"`
}

// Attach asks for invocation ID's result on behalf of Caller (an AttachInvocationCommand or a
// GetInvocationOutputCommand, told apart by Caller.Kind): answered when the invocation ends, or
// at once when it has ended, is unknown (404), or Caller only wants the output now.
type Attach struct {
	ID     ids.InvocationID `msgpack:"i"`
	Caller Caller           `msgpack:"c"`
}

// PartitionKey is the key that routes the message to its partition.
func (m OutboxMessage) PartitionKey() ids.PartitionKey {
	switch {
	case m.Invoke != nil:
		return m.Invoke.ID.PartitionKey
	case m.Signal != nil:
		return m.Signal.ID.PartitionKey
	case m.Attach != nil:
		return m.Attach.ID.PartitionKey
	case m.Terminate != nil:
		return m.Terminate.ID.PartitionKey
	}
	return m.Complete.ID.PartitionKey
}

// valid reports whether exactly one field is set.
func (m OutboxMessage) valid() bool {
	n := 0
	for _, set := range []bool{m.Invoke != nil, m.Complete != nil, m.Signal != nil, m.Attach != nil, m.Terminate != nil} {
		if set {
			n++
		}
	}
	return n == 1
}

// Signal is a signal for invocation ID: an awakeable's resolution (Index is its signal index,
// 17 and up) or a SendSignalCommand's signal, by Index or by Name. The first signal with a given
// index or name is journaled as a SignalNotification; later ones change nothing.
type Signal struct {
	ID    ids.InvocationID `msgpack:"i"`
	Index uint32           `msgpack:"x,omitempty"`
	Name  string           `msgpack:"n,omitempty"`
	// Void marks a signal without a value (SendSignalCommand's void); else Result holds the value
	// or the failure.
	Void   bool   `msgpack:"v,omitempty"`
	Result Result `msgpack:"r"`
}

// Completion is the result a waiting invocation gets (of a call, an attach, an output request or
// a durable promise), sent to it.
type Completion struct {
	ID           ids.InvocationID `msgpack:"i"`
	CompletionID uint32           `msgpack:"c"`
	Result       Result           `msgpack:"r"`
	// Kind says which notification the result becomes (the waiting Caller's kind).
	Kind CallerKind `msgpack:"k,omitempty"`
	// NotReady answers an output request for an invocation that has not ended (Result unset).
	NotReady bool `msgpack:"nr,omitempty"`
}

// Deliver applies a message from producer partition's outbox. Seq is the producer's outbox
// sequence number; the receiver ignores any seq it has already applied from that producer.
type Deliver struct {
	Producer uint32        `msgpack:"p"`
	Seq      uint64        `msgpack:"q"`
	Message  OutboxMessage `msgpack:"m"`
}

// DeliverBatch is several messages of one producer's outbox, in seq order, for one partition.
type DeliverBatch struct {
	Producer uint32        `msgpack:"p"`
	Items    []OutboxEntry `msgpack:"i"`
}

// OutboxEntry is an outbox message and its seq in the producer's outbox.
type OutboxEntry struct {
	Seq     uint64        `msgpack:"q"`
	Message OutboxMessage `msgpack:"m"`
}

// TruncateOutbox removes outbox messages with seq <= UpTo (they were delivered).
type TruncateOutbox struct {
	UpTo uint64 `msgpack:"u"`
}

// FireTimer fires the timer (WakeTime, ID, CompletionID): it completes a sleep (CompletionID > 0)
// or starts a scheduled invocation (CompletionID 0). Firing a timer that is gone does nothing.
type FireTimer struct {
	ID           ids.InvocationID `msgpack:"i"`
	CompletionID uint32           `msgpack:"c,omitempty"`
	WakeTime     int64            `msgpack:"w"`
}
