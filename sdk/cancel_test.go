package sdk_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
)

// cancelTree is Tree/parent, which calls Tree/<key>-a and -b (Job/work: it sleeps an hour and,
// cancelled, records "compensated" before failing) and sends Tree/<key>-c one way, then waits for
// both calls; Tree/flags reads a key's flags.
func cancelTree() *sdk.Endpoint {
	obj := sdk.NewObject("Tree").
		Handler("work", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			if err := sdk.Set(ctx, "started", true); err != nil {
				return "", err
			}
			if err := sdk.Sleep(ctx, time.Hour); err != nil {
				if sdk.ErrorCode(err) == 409 {
					if serr := sdk.Set(ctx, "compensated", true); serr != nil {
						return "", serr
					}
				}
				return "", err
			}
			return "slept", nil
		})).
		Handler("parent", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			a := sdk.CallAsync[string](ctx, sdk.ToObject("Tree", ctx.Key()+"-a", "work"), nil)
			b := sdk.CallAsync[string](ctx, sdk.ToObject("Tree", ctx.Key()+"-b", "work"), nil)
			sdk.Send(ctx, sdk.ToObject("Tree", ctx.Key()+"-c", "work"), nil)
			if err := sdk.Wait(ctx, a, b); err != nil {
				return "", err
			}
			return "both done", nil
		})).
		Handler("flags", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (string, error) {
			started, err := sdk.Get[bool](ctx, "started")
			if err != nil {
				return "", err
			}
			compensated, err := sdk.Get[bool](ctx, "compensated")
			return fmt.Sprintf("started=%v compensated=%v", started, compensated), err
		}))
	return sdk.NewEndpoint().Bind(obj)
}

// TestCancelSignalsChildCalls: the cancel signal (index 1) while waiting on two calls fails the
// wait with 409 and sends, first, the cancel signal to each call still waiting (not to the one-way
// send), as the shared core's implicit cancellation does; a call whose callee id has not arrived
// is waited for.
func TestCancelSignalsChildCalls(t *testing.T) {
	base := serve(t, cancelTree())
	rt := invoke(t, base, "/invoke/Tree/parent", protocol.V6)
	rt.send(start(1, "p"), input(""))
	recvAs[*pb.CallCommandMessage](rt)
	recvAs[*pb.CallCommandMessage](rt)
	recvAs[*pb.OneWayCallCommandMessage](rt)
	idOf := func(id uint32, inv string) proto.Message {
		return &pb.CallInvocationIdCompletionNotificationMessage{CompletionId: id, InvocationId: inv}
	}
	// Call a (ids 1, 2) has its callee id; call b (3, 4) not yet; the send is 5.
	rt.send(idOf(1, "inv_a"), idOf(5, "inv_c"),
		&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 1}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}})
	cancel := func(target string) *pb.SendSignalCommandMessage {
		return &pb.SendSignalCommandMessage{TargetInvocationId: target, SignalId: &pb.SendSignalCommandMessage_Idx{Idx: 1},
			Result: &pb.SendSignalCommandMessage_Void{Void: &pb.Void{}}}
	}
	if s := recvAs[*pb.SendSignalCommandMessage](rt); !proto.Equal(s, cancel("inv_a")) {
		t.Fatalf("first command after the cancellation: %v, want the cancel signal to inv_a", s)
	}
	rt.send(idOf(3, "inv_b"))
	if s := recvAs[*pb.SendSignalCommandMessage](rt); !proto.Equal(s, cancel("inv_b")) {
		t.Fatalf("second: %v, want the cancel signal to inv_b", s)
	}
	if out := recvAs[*pb.OutputCommandMessage](rt); out.GetFailure().GetCode() != 409 {
		t.Fatalf("output %v, want the 409 cancellation", out)
	}
}

// TestCancellationPropagatesThroughServer: PATCH /invocations/{id}/cancel on the admin API of the
// real server, on a parent waiting on two calls: both children see the cancellation (they
// compensate and fail with 409), the one-way child does not, and the parent ends with 409.
func TestCancellationPropagatesThroughServer(t *testing.T) {
	s := optServer(t, cancelTree())
	in := s.IngressURL()
	flags := func(key string) string { return post(t, in+"/Tree/"+key+"/flags", "").body }
	r := post(t, in+"/Tree/p/parent/send", "")
	var parent string
	if _, err := fmt.Sscanf(r.body, `{"invocationId":%q`, &parent); err != nil || r.status != 202 {
		t.Fatalf("send parent: %d %s", r.status, r.body)
	}
	for _, k := range []string{"p-a", "p-b", "p-c"} {
		poll(t, k+" never started", func() string {
			if f := flags(k); f != `"started=true compensated=false"` {
				return f
			}
			return ""
		})
	}
	req := must(t, "PATCH", s.AdminURL()+"/invocations/"+parent+"/cancel")
	if r := do(t, req); r.status != 202 {
		t.Fatalf("cancel parent: %d %s", r.status, r.body)
	}
	if r := get(t, in+"/restate/invocation/"+parent+"/attach"); r.status != 409 {
		t.Fatalf("attach to the cancelled parent: %d %s", r.status, r.body)
	}
	for _, k := range []string{"p-a", "p-b"} {
		poll(t, "child "+k+" never saw the cancellation", func() string {
			if f := flags(k); f != `"started=true compensated=true"` {
				return f
			}
			return ""
		})
	}
	if f := flags("p-c"); f != `"started=true compensated=false"` {
		t.Fatalf("the one-way child was cancelled too: %s", f)
	}
}
