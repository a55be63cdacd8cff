package statemachine

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// awakeablePrefix starts every awakeable id of protocol V5+ (signal ids; V1–V4 used prom_1).
const awakeablePrefix = "sign_1"

// Awakeable hands out the next signal index (from 17) and returns the awakeable's id and the
// NotificationID to await; the runtime resolves it with a SignalNotification carrying that index.
// Nothing is journaled: as in the shared core, the index alone ties the signal to the awakeable,
// so a deterministic handler gets the same id on every attempt.
func (m *Machine) Awakeable() (string, NotificationID, error) {
	if m.phase != replaying && m.phase != processing {
		return "", NotificationID{}, m.stateError("Awakeable")
	}
	idx := m.nextSignal
	m.nextSignal++
	return awakeableID(m.start.Id, idx), SignalID(idx), nil
}

// awakeableID is "sign_1" + base64url without padding of (invocation id ‖ signal index u32 BE),
// as the shared core's awakeable_id_str writes it.
func awakeableID(invocation []byte, signal uint32) string {
	b := binary.BigEndian.AppendUint32(append([]byte(nil), invocation...), signal)
	return awakeablePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// NamedSignal is the NotificationID of the signal called name, which another invocation sends
// with SendSignal (or the runtime, for a workflow promise's legacy form). Nothing is journaled.
func NamedSignal(name string) NotificationID { return NotificationID{SignalName: name} }

// CompleteAwakeable journals the resolution (r is ResultValue) or rejection (ResultFailure) of
// the awakeable id, of this or any other invocation.
func (m *Machine) CompleteAwakeable(id string, r Result) error {
	msg := &pb.CompleteAwakeableCommandMessage{AwakeableId: id}
	switch r.Kind {
	case ResultValue:
		msg.Result = &pb.CompleteAwakeableCommandMessage_Value{Value: &pb.Value{Content: nonNil(r.Value)}}
	case ResultFailure:
		msg.Result = &pb.CompleteAwakeableCommandMessage_Failure{Failure: m.failurePB(r.Failure)}
	default:
		panic("statemachine: CompleteAwakeable takes a value or a failure")
	}
	_, err := m.command("CompleteAwakeable", msg, nil)
	return err
}

// SendSignal journals the signal called name, resolved (ResultValue) or rejected (ResultFailure),
// to the invocation target (its inv_… id).
func (m *Machine) SendSignal(target, name string, r Result) error {
	msg := &pb.SendSignalCommandMessage{
		TargetInvocationId: target,
		SignalId:           &pb.SendSignalCommandMessage_Name{Name: name},
	}
	switch r.Kind {
	case ResultValue:
		msg.Result = &pb.SendSignalCommandMessage_Value{Value: &pb.Value{Content: nonNil(r.Value)}}
	case ResultFailure:
		msg.Result = &pb.SendSignalCommandMessage_Failure{Failure: m.failurePB(r.Failure)}
	default:
		panic("statemachine: SendSignal takes a value or a failure")
	}
	_, err := m.command("SendSignal", msg, nil)
	return err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CancelInvocation journals the cancel signal (index 1, void) to the invocation target, as the
// shared core's sys_cancel_invocation does.
func (m *Machine) CancelInvocation(target string) error {
	_, err := m.command("CancelInvocation", &pb.SendSignalCommandMessage{
		TargetInvocationId: target,
		SignalId:           &pb.SendSignalCommandMessage_Idx{Idx: CancelSignal},
		Result:             &pb.SendSignalCommandMessage_Void{Void: &pb.Void{}},
	}, nil)
	return err
}
