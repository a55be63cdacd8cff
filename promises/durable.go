package promises

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// AlreadyCompleted is the failure a second CompletePromiseCommand gets, with restate-server's code
// and message (ALREADY_COMPLETED_INVOCATION_ERROR).
var AlreadyCompleted = command.Failure{Code: 409, Message: "promise was already completed"}

// Await is GetPromiseCommand on p: the result when p is completed, else nil and c joins p's
// listeners (once: an attempt replaying the command does not add it again).
func Await(p *storage.Promise, c command.Caller) *command.Result {
	if p.Completed {
		r := p.Result
		return &r
	}
	for _, l := range p.Listeners {
		if l == c {
			return nil
		}
	}
	p.Listeners = append(p.Listeners, c)
	return nil
}

// Complete is CompletePromiseCommand on p: the first completion sets the result for good and
// returns the listeners to answer; a later one changes nothing and fails with AlreadyCompleted.
func Complete(p *storage.Promise, r command.Result) (listeners []command.Caller, failure *command.Failure) {
	if p.Completed {
		f := AlreadyCompleted
		return nil, &f
	}
	listeners = p.Listeners
	*p = storage.Promise{Completed: true, Result: r}
	return listeners, nil
}

// CompletionOf is the result a CompletePromiseCommand sets.
func CompletionOf(m *pb.CompletePromiseCommandMessage) command.Result {
	if f := m.GetCompletionFailure(); f != nil {
		return command.Result{Failure: command.FailureFromProto(f)}
	}
	return command.Result{Value: m.GetCompletionValue().GetContent()}
}

// GetNotification is the GetPromiseCompletionNotification carrying a completed promise's result.
func GetNotification(completionID uint32, r command.Result) *pb.GetPromiseCompletionNotificationMessage {
	n := &pb.GetPromiseCompletionNotificationMessage{CompletionId: completionID}
	if f := r.Failure; f != nil {
		n.Result = &pb.GetPromiseCompletionNotificationMessage_Failure{Failure: failure(f)}
	} else {
		n.Result = &pb.GetPromiseCompletionNotificationMessage_Value{Value: &pb.Value{Content: r.Value}}
	}
	return n
}

// PeekNotification is PeekPromiseCommand's answer: the result of a completed promise (r), or void
// (r nil) while it is not completed.
func PeekNotification(completionID uint32, r *command.Result) *pb.PeekPromiseCompletionNotificationMessage {
	n := &pb.PeekPromiseCompletionNotificationMessage{CompletionId: completionID}
	switch {
	case r == nil:
		n.Result = &pb.PeekPromiseCompletionNotificationMessage_Void{Void: &pb.Void{}}
	case r.Failure != nil:
		n.Result = &pb.PeekPromiseCompletionNotificationMessage_Failure{Failure: failure(r.Failure)}
	default:
		n.Result = &pb.PeekPromiseCompletionNotificationMessage_Value{Value: &pb.Value{Content: r.Value}}
	}
	return n
}

// CompleteNotification is CompletePromiseCommand's answer: void, or the failure of a second
// completion.
func CompleteNotification(completionID uint32, f *command.Failure) *pb.CompletePromiseCompletionNotificationMessage {
	n := &pb.CompletePromiseCompletionNotificationMessage{CompletionId: completionID}
	if f != nil {
		n.Result = &pb.CompletePromiseCompletionNotificationMessage_Failure{Failure: failure(f)}
	} else {
		n.Result = &pb.CompletePromiseCompletionNotificationMessage_Void{Void: &pb.Void{}}
	}
	return n
}

func failure(f *command.Failure) *pb.Failure {
	return f.Proto()
}
