package statemachine

import "github.com/resolute-run/resolute/runtime/protocol/pb"

// InvocationTarget names another invocation: by ID (inv_…), by the idempotency key of a request
// to Service/Key/Handler (Key empty for a Service), or as the run of Workflow with Key.
type InvocationTarget struct {
	ID                                    string
	Service, Key, Handler, IdempotencyKey string
	Workflow                              string
}

func (t InvocationTarget) idempotent() *pb.IdempotentRequestTarget {
	r := &pb.IdempotentRequestTarget{ServiceName: t.Service, HandlerName: t.Handler, IdempotencyKey: t.IdempotencyKey}
	if t.Key != "" {
		key := t.Key
		r.ServiceKey = &key
	}
	return r
}

func (t InvocationTarget) workflow() *pb.WorkflowTarget {
	return &pb.WorkflowTarget{WorkflowName: t.Workflow, WorkflowKey: t.Key}
}

// AttachInvocation journals a wait for the result of the invocation target; the returned id
// completes with its value or terminal failure once it ends.
func (m *Machine) AttachInvocation(target InvocationTarget) (NotificationID, error) {
	id := m.allocCompletion()
	msg := &pb.AttachInvocationCommandMessage{ResultCompletionId: id}
	switch {
	case target.ID != "":
		msg.Target = &pb.AttachInvocationCommandMessage_InvocationId{InvocationId: target.ID}
	case target.Workflow != "":
		msg.Target = &pb.AttachInvocationCommandMessage_WorkflowTarget{WorkflowTarget: target.workflow()}
	default:
		msg.Target = &pb.AttachInvocationCommandMessage_IdempotentRequestTarget{IdempotentRequestTarget: target.idempotent()}
	}
	_, err := m.command("AttachInvocation", msg, nil)
	return CompletionID(id), err
}

// GetInvocationOutput journals a look at the result of the invocation target: the returned id
// completes at once with ResultVoid while it runs, else with its value or terminal failure.
func (m *Machine) GetInvocationOutput(target InvocationTarget) (NotificationID, error) {
	id := m.allocCompletion()
	msg := &pb.GetInvocationOutputCommandMessage{ResultCompletionId: id}
	switch {
	case target.ID != "":
		msg.Target = &pb.GetInvocationOutputCommandMessage_InvocationId{InvocationId: target.ID}
	case target.Workflow != "":
		msg.Target = &pb.GetInvocationOutputCommandMessage_WorkflowTarget{WorkflowTarget: target.workflow()}
	default:
		msg.Target = &pb.GetInvocationOutputCommandMessage_IdempotentRequestTarget{IdempotentRequestTarget: target.idempotent()}
	}
	_, err := m.command("GetInvocationOutput", msg, nil)
	return CompletionID(id), err
}
