package statemachine

import "github.com/resolute-run/resolute/runtime/protocol/pb"

// GetPromise journals a wait for the workflow's durable promise key; the returned id completes
// with its value or failure once it is completed (at once if it already is).
func (m *Machine) GetPromise(key string) (NotificationID, error) {
	id := m.allocCompletion()
	_, err := m.command("GetPromise", &pb.GetPromiseCommandMessage{Key: key, ResultCompletionId: id}, nil)
	return CompletionID(id), err
}

// PeekPromise journals a look at the durable promise key: the returned id completes with
// ResultVoid while it is not completed, else with its value or failure.
func (m *Machine) PeekPromise(key string) (NotificationID, error) {
	id := m.allocCompletion()
	_, err := m.command("PeekPromise", &pb.PeekPromiseCommandMessage{Key: key, ResultCompletionId: id}, nil)
	return CompletionID(id), err
}

// CompletePromise journals the resolution (ResultValue) or rejection (ResultFailure) of the
// durable promise key; the returned id completes with ResultVoid, or with a failure when the
// promise was already completed.
func (m *Machine) CompletePromise(key string, r Result) (NotificationID, error) {
	id := m.allocCompletion()
	msg := &pb.CompletePromiseCommandMessage{Key: key, ResultCompletionId: id}
	switch r.Kind {
	case ResultValue:
		msg.Completion = &pb.CompletePromiseCommandMessage_CompletionValue{CompletionValue: &pb.Value{Content: nonNil(r.Value)}}
	case ResultFailure:
		msg.Completion = &pb.CompletePromiseCommandMessage_CompletionFailure{CompletionFailure: m.failurePB(r.Failure)}
	default:
		panic("statemachine: CompletePromise takes a value or a failure")
	}
	_, err := m.command("CompletePromise", msg, nil)
	return CompletionID(id), err
}
