package promises

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// A rejection's metadata (protocol V6+) reaches the waiting invocation's notification: from a
// CompleteAwakeableCommand, a SendSignalCommand and a CompletePromiseCommand.
func TestFailureMetadataCarried(t *testing.T) {
	failure := &pb.Failure{Code: 402, Message: "declined", Metadata: []*pb.FailureMetadata{{Key: "reason", Value: "funds"}, {Key: "try", Value: "2"}}}
	awk := &pb.CompleteAwakeableCommandMessage{AwakeableId: Encode(testInvocation(), 17), Result: &pb.CompleteAwakeableCommandMessage_Failure{Failure: failure}}
	sig, ok, err := FromCompleteAwakeable(awk)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got := Notification(&sig).GetFailure(); !proto.Equal(got, failure) {
		t.Errorf("awakeable rejection notified as %v, want %v", got, failure)
	}
	send, err := FromSendSignal(&pb.SendSignalCommandMessage{TargetInvocationId: testInvocation().String(), SignalId: &pb.SendSignalCommandMessage_Name{Name: "n"},
		Result: &pb.SendSignalCommandMessage_Failure{Failure: failure}})
	if err != nil {
		t.Fatal(err)
	}
	if got := Notification(&send).GetFailure(); !proto.Equal(got, failure) {
		t.Errorf("signal rejection notified as %v, want %v", got, failure)
	}
	r := CompletionOf(&pb.CompletePromiseCommandMessage{Completion: &pb.CompletePromiseCommandMessage_CompletionFailure{CompletionFailure: failure}})
	if got := GetNotification(1, r).GetFailure(); !proto.Equal(got, failure) {
		t.Errorf("promise rejection notified as %v, want %v", got, failure)
	}
}

func testInvocation() ids.InvocationID { return ids.NewInvocationID(3, [16]byte{4}) }
