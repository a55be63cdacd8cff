package statemachine

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// Describe names a journal message as a handler author knows it: the action and what tells it
// apart (`Call Greeter/greet`, `Run "charge"`, `SetState "count"`, `Sleep`), for mismatch
// messages and the replay tester. A payload that does not decode is named by its type.
func Describe(t protocol.MessageType, payload []byte) string {
	msg, err := protocol.Decode(t, payload)
	if err != nil {
		return t.String()
	}
	return describeMsg(msg)
}

// describeMsg is Describe of a decoded message.
func describeMsg(msg proto.Message) string {
	switch c := msg.(type) {
	case *pb.InputCommandMessage:
		return "Input"
	case *pb.OutputCommandMessage:
		if c.GetFailure() != nil {
			return "Output failure " + strconv.Itoa(int(c.GetFailure().GetCode()))
		}
		return "Output"
	case *pb.GetLazyStateCommandMessage:
		return "GetState " + strconv.Quote(string(c.Key))
	case *pb.GetEagerStateCommandMessage:
		return "GetState " + strconv.Quote(string(c.Key))
	case *pb.SetStateCommandMessage:
		return "SetState " + strconv.Quote(string(c.Key))
	case *pb.ClearStateCommandMessage:
		return "ClearState " + strconv.Quote(string(c.Key))
	case *pb.ClearAllStateCommandMessage:
		return "ClearAllState"
	case *pb.GetLazyStateKeysCommandMessage, *pb.GetEagerStateKeysCommandMessage:
		return "GetStateKeys"
	case *pb.GetPromiseCommandMessage:
		return "GetPromise " + strconv.Quote(c.Key)
	case *pb.PeekPromiseCommandMessage:
		return "PeekPromise " + strconv.Quote(c.Key)
	case *pb.CompletePromiseCommandMessage:
		return "CompletePromise " + strconv.Quote(c.Key)
	case *pb.SleepCommandMessage:
		return named("Sleep", c.Name)
	case *pb.CallCommandMessage:
		return named("Call "+target(c.ServiceName, c.Key, c.HandlerName), c.Name)
	case *pb.OneWayCallCommandMessage:
		return named("Send "+target(c.ServiceName, c.Key, c.HandlerName), c.Name)
	case *pb.RunCommandMessage:
		return "Run " + strconv.Quote(c.Name)
	case *pb.SendSignalCommandMessage:
		if c.GetIdx() == CancelSignal {
			return "CancelInvocation " + c.TargetInvocationId
		}
		if n := c.GetName(); n != "" {
			return "SendSignal " + strconv.Quote(n) + " to " + c.TargetInvocationId
		}
		return "SendSignal " + strconv.Itoa(int(c.GetIdx())) + " to " + c.TargetInvocationId
	case *pb.AttachInvocationCommandMessage:
		return named("AttachInvocation "+describeTarget(c.GetInvocationId(), c.GetWorkflowTarget(), c.GetIdempotentRequestTarget()), c.Name)
	case *pb.GetInvocationOutputCommandMessage:
		return named("GetInvocationOutput "+describeTarget(c.GetInvocationId(), c.GetWorkflowTarget(), c.GetIdempotentRequestTarget()), c.Name)
	case *pb.CompleteAwakeableCommandMessage:
		return "CompleteAwakeable " + c.AwakeableId
	}
	t, err := protocol.TypeOf(msg)
	if err != nil {
		return string(proto.MessageName(msg))
	}
	return t.String()
}

// target is a call's target as the runtime's tools write it: service/handler, or
// service/key/handler for a keyed one.
func target(service, key, handler string) string {
	if key != "" {
		return service + "/" + key + "/" + handler
	}
	return service + "/" + handler
}

// describeTarget names the invocation an attach or output command is about.
func describeTarget(id string, w *pb.WorkflowTarget, i *pb.IdempotentRequestTarget) string {
	switch {
	case id != "":
		return id
	case w != nil:
		return "workflow " + w.WorkflowName + "/" + w.WorkflowKey
	case i != nil:
		return target(i.ServiceName, i.GetServiceKey(), i.HandlerName) + " idempotency key " + strconv.Quote(i.IdempotencyKey)
	}
	return "?"
}

func named(s, name string) string {
	if name == "" {
		return s
	}
	return s + " " + strconv.Quote(name)
}
