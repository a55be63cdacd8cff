package promises

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

func TestSignalsFromCommands(t *testing.T) {
	inv := ids.NewInvocationID(3, [16]byte{4})
	tests := []struct {
		name string
		cmd  proto.Message
		want command.Signal
		ok   bool   // for CompleteAwakeable: the signal is sent
		err  string // substring
	}{
		{"resolve", &pb.CompleteAwakeableCommandMessage{AwakeableId: Encode(inv, 17), Result: &pb.CompleteAwakeableCommandMessage_Value{Value: &pb.Value{Content: []byte("v")}}},
			command.Signal{ID: inv, Index: 17, Result: command.Result{Value: []byte("v")}}, true, ""},
		{"reject", &pb.CompleteAwakeableCommandMessage{AwakeableId: Encode(inv, 18), Result: &pb.CompleteAwakeableCommandMessage_Failure{Failure: &pb.Failure{Code: 409, Message: "no"}}},
			command.Signal{ID: inv, Index: 18, Result: command.Result{Failure: &command.Failure{Code: 409, Message: "no"}}}, true, ""},
		{"legacy id dropped", &pb.CompleteAwakeableCommandMessage{AwakeableId: AwakeableID{Invocation: inv, Index: 17, Legacy: true}.String()}, command.Signal{}, false, ""},
		{"index 0 dropped", &pb.CompleteAwakeableCommandMessage{AwakeableId: Encode(inv, 0)}, command.Signal{}, false, ""},
		{"bad awakeable id", &pb.CompleteAwakeableCommandMessage{AwakeableId: "sign_1bogus"}, command.Signal{}, false, "CompleteAwakeableCommand: bad awakeable id 'sign_1bogus'"},
		{"named void", &pb.SendSignalCommandMessage{TargetInvocationId: inv.String(), SignalId: &pb.SendSignalCommandMessage_Name{Name: "go"}, Result: &pb.SendSignalCommandMessage_Void{Void: &pb.Void{}}},
			command.Signal{ID: inv, Name: "go", Void: true}, true, ""},
		{"indexed value", &pb.SendSignalCommandMessage{TargetInvocationId: inv.String(), SignalId: &pb.SendSignalCommandMessage_Idx{Idx: 20}, Result: &pb.SendSignalCommandMessage_Value{Value: &pb.Value{Content: []byte("x")}}},
			command.Signal{ID: inv, Index: 20, Result: command.Result{Value: []byte("x")}}, true, ""},
		{"named failure", &pb.SendSignalCommandMessage{TargetInvocationId: inv.String(), SignalId: &pb.SendSignalCommandMessage_Name{Name: "n"}, Result: &pb.SendSignalCommandMessage_Failure{Failure: &pb.Failure{Code: 500, Message: "m"}}},
			command.Signal{ID: inv, Name: "n", Result: command.Result{Failure: &command.Failure{Code: 500, Message: "m"}}}, true, ""},
		{"no index or name", &pb.SendSignalCommandMessage{TargetInvocationId: inv.String()}, command.Signal{}, false, "without a signal index or name"},
		{"bad target", &pb.SendSignalCommandMessage{TargetInvocationId: "inv_x", SignalId: &pb.SendSignalCommandMessage_Name{Name: "n"}}, command.Signal{}, false, "SendSignalCommand: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got command.Signal
			var ok bool
			var err error
			switch m := tt.cmd.(type) {
			case *pb.CompleteAwakeableCommandMessage:
				got, ok, err = FromCompleteAwakeable(m)
			case *pb.SendSignalCommandMessage:
				got, err = FromSendSignal(m)
				ok = err == nil
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want ~%q", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %t, %v; want %+v, %t", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestNotification(t *testing.T) {
	inv := ids.NewInvocationID(3, [16]byte{4})
	tests := []struct {
		sig  command.Signal
		want *pb.SignalNotificationMessage
	}{
		{command.Signal{ID: inv, Index: 17, Result: command.Result{Value: []byte("v")}},
			&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 17}, Result: &pb.SignalNotificationMessage_Value{Value: &pb.Value{Content: []byte("v")}}}},
		// An empty value is still a value (field 5), not a void: the SDK must see the result.
		{command.Signal{ID: inv, Index: 17},
			&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 17}, Result: &pb.SignalNotificationMessage_Value{Value: &pb.Value{}}}},
		{command.Signal{ID: inv, Name: "go", Void: true},
			&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Name{Name: "go"}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}}},
		{command.Signal{ID: inv, Index: 18, Result: Rejection([]byte("nope"))},
			&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 18}, Result: &pb.SignalNotificationMessage_Failure{Failure: &pb.Failure{Code: 500, Message: "nope"}}}},
	}
	for _, tt := range tests {
		if got := Notification(&tt.sig); !proto.Equal(got, tt.want) {
			t.Errorf("Notification(%+v) = %v, want %v", tt.sig, got, tt.want)
		}
	}
}
