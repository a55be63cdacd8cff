package statemachine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// phase is the lifecycle of a Machine; see the package comment for the legal transitions.
type phase int

const (
	waitingStart phase = iota
	waitingReplay
	replaying
	processing
	closed
)

func (p phase) String() string {
	return [...]string{"waitingStart", "waitingReplay", "replaying", "processing", "closed"}[p]
}

// Machine is the protocol state of one invocation attempt.
//
// Invariants:
//   - replay holds journaled commands not yet matched by the handler; it is empty from processing on.
//   - nextCompletion and nextSignal only grow; ids are handed out in the order the handler asks,
//     so a deterministic handler gets the same ids on every attempt.
//   - once phase is closed, out receives nothing more.
type Machine struct {
	version protocol.Version
	phase   phase

	start    *pb.StartMessage
	received uint32 // journal messages received after Start
	replay   []protocol.Frame

	state eagerState

	commandIndex   int // commands matched or produced so far; InputCommand is 0
	nextCompletion uint32
	nextSignal     uint32

	notes       map[NotificationID]notification
	later       map[string][]notification // named signals that arrived while notes held one of their name
	taken       uint32                    // named signals taken (TakeSignal)
	rank        uint64
	pendingRuns map[uint32]Result // V7: proposals waiting for ProposeRunCompletionAck
	executing   map[uint32]bool   // runs the handler executes now (Run said execute, no ProposeRun yet)
	retriedRun  uint32            // the run whose RunCommand ends the replayed journal: the one Start's retry count is about
	calls       []call            // request-response calls, in the order made

	inputClosed    bool
	stopAtEnd      bool  // StopAtJournalEnd: nothing goes past the journal
	cancelConsumed bool  // the cancel signal was delivered to an await
	err            error // sticky, set when closed
	out            []protocol.Frame
}

// New returns a Machine for an invocation negotiated at version v.
func New(v protocol.Version) *Machine {
	return &Machine{
		version:        v,
		nextCompletion: 1,
		nextSignal:     firstSignalIndex,
		notes:          make(map[NotificationID]notification),
		pendingRuns:    make(map[uint32]Result),
		executing:      make(map[uint32]bool),
	}
}

// StopAtJournalEnd makes the Machine replay only: the first command the handler issues past the
// journal is written (so a reader sees what the handler would do next) and then the Machine
// closes with a *StopError wrapping ErrJournalEnd, as it does before executing a Run whose result
// the journal lacks. Nothing new is journaled, no side effect runs. The replay tester
// (sdk/replay) uses it; a runtime never does.
func (m *Machine) StopAtJournalEnd() { m.stopAtEnd = true }

// stop closes a StopAtJournalEnd Machine at command index, writing nothing more.
func (m *Machine) stop(index int, format string, args ...any) error {
	err := &StopError{Command: index, Err: fmt.Errorf("%w at command %d: %s", ErrJournalEnd, index, fmt.Sprintf(format, args...))}
	m.close(err)
	return err
}

// Version is the negotiated protocol version.
func (m *Machine) Version() protocol.Version { return m.version }

// TakeOutput returns the frames to send, in order, and forgets them.
func (m *Machine) TakeOutput() []protocol.Frame {
	out := m.out
	m.out = nil
	return out
}

// Ready reports whether Start and every journal message to replay have arrived, so the handler
// can start (with Input).
func (m *Machine) Ready() bool { return m.phase >= replaying }

// Replaying reports whether the handler is still re-doing journaled commands: true from Start
// until the last replayed command was matched.
func (m *Machine) Replaying() bool { return m.phase < processing }

// Closed reports whether the attempt ended; Err tells how.
func (m *Machine) Closed() bool { return m.phase == closed }

// Err is nil after a successful End, ErrSuspended after a suspension, and the reported error
// (a *CodedError, or the handler's error given to Fail) otherwise. Only meaningful once Closed.
func (m *Machine) Err() error { return m.err }

// InputClosed reports whether the runtime closed its side of the stream.
func (m *Machine) InputClosed() bool { return m.inputClosed }

// Receive feeds one frame from the runtime.
func (m *Machine) Receive(f protocol.Frame) error {
	if m.phase == closed {
		return nil // the runtime may still be writing; nothing it says matters now
	}
	var err error
	switch {
	case f.Type == protocol.StartType:
		err = m.receiveStart(f)
	case f.Type.IsCommand():
		err = m.receiveCommand(f)
	case f.Type.IsNotification():
		err = m.receiveNotification(f)
	case f.Type == protocol.ProposeRunCompletionAckType:
		err = m.receiveRunAck(f)
	default:
		err = violation("unexpected message %s", f.Type)
	}
	if err != nil {
		return m.fail(err)
	}
	return nil
}

// CloseInput records that the runtime closed its side of the stream (EOF).
func (m *Machine) CloseInput() error {
	m.inputClosed = true
	if m.phase == waitingStart || m.phase == waitingReplay {
		return m.fail(violation("the input was closed while still waiting to receive all journal to replay"))
	}
	return nil
}

func (m *Machine) receiveStart(f protocol.Frame) error {
	if m.phase != waitingStart {
		return violation("StartMessage in phase %s", m.phase)
	}
	var s pb.StartMessage
	if err := proto.Unmarshal(f.Payload, &s); err != nil {
		return violation("decode Start: %v", err)
	}
	if s.KnownEntries == 0 {
		return &CodedError{Code: CodeInternal, Err: errors.New("statemachine: known entries is zero"), Command: -1}
	}
	m.start = &s
	m.state = newEagerState(s.StateMap, s.PartialState)
	m.phase = waitingReplay
	return nil
}

func (m *Machine) receiveCommand(f protocol.Frame) error {
	if m.phase != waitingReplay {
		return violation("expected entry messages only when waiting replay entries, got %s in phase %s", f.Type, m.phase)
	}
	if !f.Type.Known() {
		return violation("unknown command type %s", f.Type)
	}
	m.replay = append(m.replay, f)
	m.countReplayed()
	return nil
}

func (m *Machine) receiveNotification(f protocol.Frame) error {
	if m.phase == waitingStart {
		return violation("%s before Start", f.Type)
	}
	id, r, err := decodeNotification(f)
	if err != nil {
		return err
	}
	m.notify(id, r)
	if m.phase == waitingReplay {
		m.countReplayed()
	}
	return nil
}

func (m *Machine) receiveRunAck(f protocol.Frame) error {
	if m.phase != processing && m.phase != replaying {
		return violation("ProposeRunCompletionAck in phase %s", m.phase)
	}
	var a pb.ProposeRunCompletionAckMessage
	if err := proto.Unmarshal(f.Payload, &a); err != nil {
		return violation("decode ProposeRunCompletionAck: %v", err)
	}
	r, ok := m.pendingRuns[a.CompletionId]
	if !ok {
		return violation("ProposeRunCompletionAck for completion %d that was not proposed", a.CompletionId)
	}
	delete(m.pendingRuns, a.CompletionId)
	m.notify(CompletionID(a.CompletionId), r)
	return nil
}

// notify records a notification; a second one for the same id keeps the first (journal order
// wins), except for named signals: those of one name queue up in arrival order, each taken in
// turn (TakeSignal), as the shared core's notifications queue (a signal stream).
func (m *Machine) notify(id NotificationID, r Result) {
	m.rank++
	n := notification{rank: m.rank, result: r}
	if _, ok := m.notes[id]; ok {
		if id.SignalName != "" {
			if m.later == nil {
				m.later = make(map[string][]notification)
			}
			m.later[id.SignalName] = append(m.later[id.SignalName], n)
		}
		return
	}
	m.notes[id] = n
}

// TakeSignal consumes the signal called name that the handler awaited: the signal stays
// completed under the returned id (for the future that took it), and the next signal of that
// name, if one arrived, becomes the one NamedSignal(name) completes with. A handler waiting for a
// name again thus gets the next signal sent with it, in journal order, on every replay alike.
// ok is false when no signal of that name is there.
func (m *Machine) TakeSignal(name string) (id NotificationID, ok bool) {
	named := NamedSignal(name)
	n, ok := m.notes[named]
	if !ok {
		return NotificationID{}, false
	}
	delete(m.notes, named)
	if q := m.later[name]; len(q) > 0 {
		m.notes[named], m.later[name] = q[0], q[1:]
	}
	m.taken++
	id = NotificationID{SignalName: name, Taken: m.taken}
	m.notes[id] = n
	return id, true
}

func (m *Machine) countReplayed() {
	m.received++
	if m.received == m.start.KnownEntries {
		m.phase = replaying
	}
}

// Input is what the handler starts from.
type Input struct {
	InvocationID string // the inv_… form
	RawID        []byte // StartMessage.id, 24 bytes
	Key          string
	Headers      []Header
	Body         []byte
	RandomSeed   uint64
	Retry        uint32 // retry_count_since_last_stored_entry
}

// Header is a request header from InputCommand.
type Header struct{ Key, Value string }

// Input consumes the journaled InputCommand. It must be the handler's first syscall.
func (m *Machine) Input() (Input, error) {
	if m.phase != replaying {
		return Input{}, m.stateError("Input")
	}
	f := m.replay[0]
	if f.Type != protocol.InputCommandType {
		return Input{}, m.fail(violation("first journal entry is %s, want InputCommand", f.Type))
	}
	var c pb.InputCommandMessage
	if err := proto.Unmarshal(f.Payload, &c); err != nil {
		return Input{}, m.fail(violation("decode InputCommand: %v", err))
	}
	m.popReplay()
	in := Input{
		InvocationID: m.start.DebugId,
		RawID:        m.start.Id,
		Key:          m.start.Key,
		Body:         c.GetValue().GetContent(),
		RandomSeed:   m.randomSeed(),
		Retry:        m.start.RetryCountSinceLastStoredEntry,
	}
	for _, h := range c.Headers {
		in.Headers = append(in.Headers, Header{Key: h.Key, Value: h.Value})
	}
	return in, nil
}

// randomSeed is StartMessage.random_seed from V6 on; V5 derives it from the invocation id as the
// shared core does with its sha2_random_seed feature (first 8 bytes of SHA-256, big-endian).
func (m *Machine) randomSeed() uint64 {
	if m.version >= protocol.V6 {
		return m.start.RandomSeed
	}
	sum := sha256.Sum256(m.start.Id)
	return binary.BigEndian.Uint64(sum[:8])
}

func (m *Machine) popReplay() {
	m.replay = m.replay[1:]
	m.commandIndex++
	if len(m.replay) == 0 {
		m.replay = nil
		m.phase = processing
	}
}

// stateError is the error for a syscall made in a phase that does not allow it.
func (m *Machine) stateError(call string) error {
	if m.phase == closed {
		return m.closedErr()
	}
	return m.fail(violation("%s called in phase %s", call, m.phase))
}

func (m *Machine) closedErr() error {
	if m.err != nil {
		return m.err
	}
	return ErrClosed
}

// fail writes an ErrorMessage for err and closes. It returns err.
func (m *Machine) fail(err error) error {
	if m.phase == closed {
		return m.closedErr()
	}
	msg := &pb.ErrorMessage{Code: CodeInternal, Message: err.Error()}
	var ce *CodedError
	if errors.As(err, &ce) {
		msg.Code = uint32(ce.Code)
		msg.Message = ce.Err.Error()
		if ce.Command >= 0 {
			i := uint32(ce.Command)
			msg.RelatedCommandIndex = &i
		}
	}
	m.emit(msg, false)
	m.close(err)
	return err
}

// Fail ends the attempt with a retryable ErrorMessage (code 500 unless err is a *CodedError).
// stack, if set, becomes the message's stacktrace.
func (m *Machine) Fail(err error, stack string) { m.FailRetryAfter(err, stack, nil) }

// FailRetryAfter is Fail asking the runtime to retry after delayMillis (ErrorMessage
// next_retry_delay) instead of its own backoff; nil asks nothing.
func (m *Machine) FailRetryAfter(err error, stack string, delayMillis *uint64) {
	if m.phase == closed {
		return
	}
	msg := &pb.ErrorMessage{Code: CodeInternal, Message: err.Error(), Stacktrace: stack, NextRetryDelay: delayMillis}
	var ce *CodedError
	if errors.As(err, &ce) {
		msg.Code = uint32(ce.Code)
		msg.Message = ce.Err.Error()
	}
	m.emit(msg, false)
	m.close(err)
}

// RetryInfo is how often, and for how long, the runtime has retried the journal's last entry,
// from StartMessage (retry_count_since_last_stored_entry, duration_since_last_stored_entry).
type RetryInfo struct {
	Count          uint32
	DurationMillis uint64
}

// RunRetryInfo is what Start says about the retries of run id, as the shared core's
// infer_entry_retry_info: Start's counts when the run's command is the last journaled one (the
// previous attempts failed in that run, nothing was stored since), zero for any other run.
func (m *Machine) RunRetryInfo(id NotificationID) RetryInfo {
	if m.start == nil || id.Completion == 0 || id.Completion != m.retriedRun {
		return RetryInfo{}
	}
	return RetryInfo{Count: m.start.RetryCountSinceLastStoredEntry, DurationMillis: m.start.DurationSinceLastStoredEntry}
}

func (m *Machine) close(err error) {
	m.phase = closed
	m.err = err
	m.replay = nil
}

func (m *Machine) emit(msg proto.Message, requestAck bool) {
	f, err := protocol.EncodeMessage(msg)
	if err != nil {
		panic(fmt.Sprintf("statemachine: encode %T: %v", msg, err)) // every message we build has a type code
	}
	f.RequestedAck = requestAck
	m.out = append(m.out, f)
}
