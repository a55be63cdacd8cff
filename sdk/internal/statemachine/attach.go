package statemachine

import "github.com/resolute-run/resolute/runtime/protocol/pb"

// AttachInvocation journals a wait for the result of the invocation target (its inv_… id); the
// returned id completes with its value or terminal failure once it ends.
func (m *Machine) AttachInvocation(target string) (NotificationID, error) {
	id := m.allocCompletion()
	_, err := m.command("AttachInvocation", &pb.AttachInvocationCommandMessage{
		Target:             &pb.AttachInvocationCommandMessage_InvocationId{InvocationId: target},
		ResultCompletionId: id,
	}, nil)
	return CompletionID(id), err
}

// GetInvocationOutput journals a look at the result of the invocation target: the returned id
// completes at once with ResultVoid while it runs, else with its value or terminal failure.
func (m *Machine) GetInvocationOutput(target string) (NotificationID, error) {
	id := m.allocCompletion()
	_, err := m.command("GetInvocationOutput", &pb.GetInvocationOutputCommandMessage{
		Target:             &pb.GetInvocationOutputCommandMessage_InvocationId{InvocationId: target},
		ResultCompletionId: id,
	}, nil)
	return CompletionID(id), err
}
