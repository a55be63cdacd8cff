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
// ErrSuspended. Awaiting something the journal never completed while replayed commands remain is
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
	if !m.inputClosed {
		return NeedInput, NotificationID{}, nil
	}
	m.suspend(ids)
	return 0, NotificationID{}, ErrSuspended
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

// suspend writes a SuspensionMessage for ids (plus the cancel signal, unless already consumed) and
// closes.
func (m *Machine) suspend(ids []NotificationID) {
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
	if !m.cancelConsumed && !slices.Contains(signals, CancelSignal) {
		signals = append(signals, CancelSignal)
	}
	if m.version >= protocol.V7 {
		m.emit(&pb.SuspensionMessage{AwaitingOn: &pb.Future{
			WaitingCompletions:  completions,
			WaitingSignals:      signals,
			WaitingNamedSignals: named,
			CombinatorType:      pb.CombinatorType_FIRST_COMPLETED,
		}}, false)
	} else {
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
