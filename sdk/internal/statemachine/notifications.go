package statemachine

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// CancelSignal is the built-in signal id the runtime uses to cancel an invocation.
const CancelSignal = 1

// firstSignalIndex is the first signal id handed out to awakeables; 1..16 are reserved.
const firstSignalIndex = 17

// NotificationID names something a handler can await: a completion id, a signal id or a named
// signal. Exactly one field is set, but Taken, which goes with SignalName: the Taken-th signal
// the handler took with TakeSignal, completed for good.
type NotificationID struct {
	Completion uint32
	Signal     uint32
	SignalName string
	Taken      uint32
}

// CompletionID is the NotificationID of completion id.
func CompletionID(id uint32) NotificationID { return NotificationID{Completion: id} }

// SignalID is the NotificationID of signal id.
func SignalID(id uint32) NotificationID { return NotificationID{Signal: id} }

func (n NotificationID) String() string {
	switch {
	case n.Completion != 0:
		return fmt.Sprintf("completion %d", n.Completion)
	case n.Signal != 0:
		return fmt.Sprintf("signal %d", n.Signal)
	case n.Taken != 0:
		return fmt.Sprintf("signal %q (taken %d)", n.SignalName, n.Taken)
	default:
		return fmt.Sprintf("signal %q", n.SignalName)
	}
}

// ResultKind tells which field of a Result is meaningful.
type ResultKind int

// Result kinds, as the oneof of a notification.
const (
	ResultVoid ResultKind = iota
	ResultValue
	ResultFailure
	ResultInvocationID
	ResultStateKeys
)

// Failure is a terminal failure carried by a notification or an output. Metadata (protocol V6+,
// Failure.metadata) is kept in the order given; the SDK sorts it by key, so a replay journals the
// same bytes.
type Failure struct {
	Code     uint32
	Message  string
	Metadata []Metadata
}

// Metadata is one key/value of a Failure's metadata.
type Metadata struct{ Key, Value string }

// Result is the outcome carried by a notification.
type Result struct {
	Kind         ResultKind
	Value        []byte
	Failure      Failure
	InvocationID string
	Keys         []string
}

// notification is a received notification with its arrival rank; the rank decides which of
// several ready futures completes first, so replays resolve races as the first attempt did.
type notification struct {
	rank   uint64
	result Result
}

func decodeNotification(f protocol.Frame) (NotificationID, Result, error) {
	var t pb.NotificationTemplate
	if err := proto.Unmarshal(f.Payload, &t); err != nil {
		return NotificationID{}, Result{}, violation("decode %s: %v", f.Type, err)
	}
	var id NotificationID
	switch x := t.Id.(type) {
	case *pb.NotificationTemplate_CompletionId:
		id.Completion = x.CompletionId
	case *pb.NotificationTemplate_SignalId:
		id.Signal = x.SignalId
	case *pb.NotificationTemplate_SignalName:
		id.SignalName = x.SignalName
	default:
		return id, Result{}, violation("%s without an id", f.Type)
	}
	var r Result
	switch x := t.Result.(type) {
	case *pb.NotificationTemplate_Void:
		r.Kind = ResultVoid
	case *pb.NotificationTemplate_Value:
		r.Kind, r.Value = ResultValue, x.Value.GetContent()
	case *pb.NotificationTemplate_Failure:
		r.Kind, r.Failure = ResultFailure, failureFromPB(x.Failure)
	case *pb.NotificationTemplate_InvocationId:
		r.Kind, r.InvocationID = ResultInvocationID, x.InvocationId
	case *pb.NotificationTemplate_StateKeys:
		r.Kind, r.Keys = ResultStateKeys, keysFromPB(x.StateKeys)
	default:
		return id, Result{}, violation("%s for %s without a result", f.Type, id)
	}
	return id, r, nil
}

func failureFromPB(f *pb.Failure) Failure {
	out := Failure{Code: f.GetCode(), Message: f.GetMessage()}
	for _, md := range f.GetMetadata() {
		out.Metadata = append(out.Metadata, Metadata{Key: md.Key, Value: md.Value})
	}
	return out
}

// failurePB encodes f; its metadata only from V6 on, where Failure.metadata exists.
func (m *Machine) failurePB(f Failure) *pb.Failure {
	out := &pb.Failure{Code: f.Code, Message: f.Message}
	if m.version >= protocol.V6 {
		for _, md := range f.Metadata {
			out.Metadata = append(out.Metadata, &pb.FailureMetadata{Key: md.Key, Value: md.Value})
		}
	}
	return out
}

func keysFromPB(k *pb.StateKeys) []string {
	keys := make([]string, 0, len(k.GetKeys()))
	for _, b := range k.GetKeys() {
		keys = append(keys, string(b))
	}
	return keys
}
