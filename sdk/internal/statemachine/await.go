package statemachine

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// Progress is what Await found.
type Progress int

const (
	// Completed: one of the awaited ids has a result (the returned id); read it with Result.
	Completed Progress = iota
	// NeedInput: nothing awaited is complete yet; feed the next frame (or CloseInput) and retry.
	NeedInput
	// Cancelled: the cancel signal arrived before any awaited result; the handler should fail with
	// a terminal 409. The signal is consumed, so later awaits proceed normally.
	Cancelled
)

// Await resolves the first completed of ids, in arrival order, racing them with the cancel
// signal. When nothing is complete and the input is closed, it writes a Suspension and returns
// ErrSuspended, unless one of ids is a run still executing (NeedInput: propose its result). Awaiting something the journal never completed while replayed commands remain is
// a journal mismatch.
func (m *Machine) Await(ids ...NotificationID) (Progress, NotificationID, error) {
	if m.phase != replaying && m.phase != processing {
		return 0, NotificationID{}, m.stateError("Await")
	}
	if id, ok := m.earliest(ids); ok {
		if id == SignalID(CancelSignal) {
			delete(m.notes, id)
			m.cancelConsumed = true
			return Cancelled, id, nil
		}
		return Completed, id, nil
	}
	if m.phase == replaying {
		return 0, NotificationID{}, m.fail(mismatch(m.commandIndex,
			"the handler awaits %v, which the journal never completed, yet more journaled commands follow", ids))
	}
	if !m.inputClosed || m.anyExecuting(ids) {
		return NeedInput, NotificationID{}, nil
	}
	m.suspend(ids, pb.CombinatorType_FIRST_COMPLETED)
	return 0, NotificationID{}, ErrSuspended
}

// AwaitAll reports Completed once every one of ids has a result, racing them with the cancel
// signal: Cancelled when the signal arrived before the last of them (the rule holds on replay,
// where all arrive at once). When some are missing and the input is closed, it writes a
// Suspension on the missing ones (V7: ALL_COMPLETED) and returns ErrSuspended.
func (m *Machine) AwaitAll(ids ...NotificationID) (Progress, error) {
	if m.phase != replaying && m.phase != processing {
		return 0, m.stateError("AwaitAll")
	}
	var pending []NotificationID
	var last uint64
	for _, id := range ids {
		n, ok := m.notes[id]
		if !ok {
			pending = append(pending, id)
			continue
		}
		last = max(last, n.rank)
	}
	cancel, cancelled := m.notes[SignalID(CancelSignal)]
	if cancelled && !m.cancelConsumed && (len(pending) > 0 || cancel.rank < last) {
		delete(m.notes, SignalID(CancelSignal))
		m.cancelConsumed = true
		return Cancelled, nil
	}
	switch {
	case len(pending) == 0:
		return Completed, nil
	case m.phase == replaying:
		return 0, m.fail(mismatch(m.commandIndex,
			"the handler awaits all of %v, which the journal never completed, yet more journaled commands follow", pending))
	case !m.inputClosed || m.anyExecuting(pending):
		return NeedInput, nil
	}
	m.suspend(pending, pb.CombinatorType_ALL_COMPLETED)
	return 0, ErrSuspended
}

// anyExecuting reports whether one of ids is a run the handler is executing: then the input being
// closed is no reason to suspend, the run's proposal is the input to wait for (as in the shared
// core, which suspends only once no awaited run is executing).
func (m *Machine) anyExecuting(ids []NotificationID) bool {
	for _, id := range ids {
		if id.Completion != 0 && m.executing[id.Completion] {
			return true
		}
	}
	return false
}

// Result returns the result of a completed id.
func (m *Machine) Result(id NotificationID) (Result, bool) {
	n, ok := m.notes[id]
	return n.result, ok
}

// IsCompleted reports whether id has a result.
func (m *Machine) IsCompleted(id NotificationID) bool {
	_, ok := m.notes[id]
	return ok
}

func (m *Machine) earliest(ids []NotificationID) (NotificationID, bool) {
	var best NotificationID
	var bestRank uint64
	consider := func(id NotificationID) {
		if n, ok := m.notes[id]; ok && (bestRank == 0 || n.rank < bestRank) {
			best, bestRank = id, n.rank
		}
	}
	for _, id := range ids {
		consider(id)
	}
	if !m.cancelConsumed {
		consider(SignalID(CancelSignal))
	}
	return best, bestRank != 0
}

// suspend writes a SuspensionMessage for ids combined by how (FIRST_COMPLETED or ALL_COMPLETED),
// raced with the cancel signal unless already consumed, and closes. V5/V6 can only say "any of
// these": for ALL_COMPLETED the runtime may resume early and the next attempt suspends again on
// what is still missing. V7 sends the tree as the shared core does: the cancel signal beside a
// nested ALL_COMPLETED future.
func (m *Machine) suspend(ids []NotificationID, how pb.CombinatorType) {
	var completions, signals []uint32
	var named []string
	for _, id := range ids {
		switch {
		case id.Completion != 0:
			completions = append(completions, id.Completion)
		case id.Signal != 0:
			signals = append(signals, id.Signal)
		default:
			named = append(named, id.SignalName)
		}
	}
	raceCancel := !m.cancelConsumed && !slices.Contains(signals, CancelSignal)
	if m.version >= protocol.V7 {
		f := &pb.Future{
			WaitingCompletions:  completions,
			WaitingSignals:      signals,
			WaitingNamedSignals: named,
			CombinatorType:      how,
		}
		if raceCancel && how == pb.CombinatorType_FIRST_COMPLETED {
			f.WaitingSignals = append(f.WaitingSignals, CancelSignal)
		} else if raceCancel {
			f = &pb.Future{
				WaitingSignals: []uint32{CancelSignal},
				NestedFutures:  []*pb.Future{f},
				CombinatorType: pb.CombinatorType_FIRST_COMPLETED,
			}
		}
		m.emit(&pb.SuspensionMessage{AwaitingOn: f}, false)
	} else {
		if raceCancel {
			signals = append(signals, CancelSignal)
		}
		m.out = append(m.out, protocol.Frame{
			Type:    protocol.SuspensionType,
			Payload: encodeSuspensionV6(completions, signals, named),
		})
	}
	m.close(ErrSuspended)
}

// encodeSuspensionV6 encodes the V5/V6 SuspensionMessage (fields 1–3, reserved in the current
// proto): waiting_completions, waiting_signals (packed uint32) and waiting_named_signals.
func encodeSuspensionV6(completions, signals []uint32, named []string) []byte {
	var b []byte
	packed := func(num protowire.Number, vs []uint32) {
		if len(vs) == 0 {
			return
		}
		var inner []byte
		for _, v := range vs {
			inner = protowire.AppendVarint(inner, uint64(v))
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, inner)
	}
	packed(1, completions)
	packed(2, signals)
	for _, n := range named {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, n)
	}
	return b
}
