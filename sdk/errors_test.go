package sdk_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
)

func errorsEndpoint() *sdk.Endpoint {
	svc := sdk.NewService("Errs").
		Handler("declined", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.ToTerminalError(errors.New("card declined"), sdk.WithErrorCode(402),
				sdk.WithMetadata("retry", "never"), sdk.WithMetadataMap(map[string]string{"b": "2", "a": "1"}))
		})).
		Handler("busy", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.RetryableErrorf(503, "busy, try later")
		})).
		Handler("relay", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (map[string]string, error) {
			_, err := sdk.Call[string](ctx, sdk.ToService("Other", "pay"), nil)
			if sdk.ErrorCode(err) == 402 {
				return sdk.TerminalMetadata(err), nil
			}
			return nil, err // passes the callee's failure on, metadata included
		}))
	return sdk.NewEndpoint().Bind(svc)
}

func md(kv ...string) []*pb.FailureMetadata {
	var out []*pb.FailureMetadata
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &pb.FailureMetadata{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// TestErrorCodesAndMetadata: a terminal error's code and metadata reach the OutputCommand
// (metadata sorted by key, so every replay journals the same command; none before V6, which has
// no Failure.metadata); a callee's failure metadata reaches the caller's handler and is passed on;
// a retryable error's code reaches the ErrorMessage.
func TestErrorCodesAndMetadata(t *testing.T) {
	base := serve(t, errorsEndpoint())
	for _, tc := range []struct {
		v    protocol.Version
		want *pb.Failure
	}{
		{protocol.V6, &pb.Failure{Code: 402, Message: "card declined", Metadata: md("a", "1", "b", "2", "retry", "never")}},
		{protocol.V7, &pb.Failure{Code: 402, Message: "card declined", Metadata: md("a", "1", "b", "2", "retry", "never")}},
		{protocol.V5, &pb.Failure{Code: 402, Message: "card declined"}},
	} {
		rt := invoke(t, base, "/invoke/Errs/declined", tc.v)
		rt.send(start(1, ""), input(""))
		if out := recvAs[*pb.OutputCommandMessage](rt); !proto.Equal(out.GetFailure(), tc.want) {
			t.Errorf("V%d: output %v, want failure %v", tc.v, out, tc.want)
		}
	}

	rt := invoke(t, base, "/invoke/Errs/busy", protocol.V6)
	rt.send(start(1, ""), input(""))
	if e := recvAs[*pb.ErrorMessage](rt); e.Code != 503 || e.Message != "busy, try later" {
		t.Errorf("retryable: %v, want code 503", e)
	}

	for _, tc := range []struct {
		code   uint32
		output func(*pb.OutputCommandMessage) bool
	}{
		{402, func(o *pb.OutputCommandMessage) bool {
			return string(o.GetValue().GetContent()) == `{"reason":"expired"}`
		}},
		{409, func(o *pb.OutputCommandMessage) bool {
			return proto.Equal(o.GetFailure(), &pb.Failure{Code: 409, Message: "taken", Metadata: md("reason", "expired")})
		}},
	} {
		rt = invoke(t, base, "/invoke/Errs/relay", protocol.V6)
		rt.send(start(1, ""), input(""))
		recvAs[*pb.CallCommandMessage](rt)
		msg := map[uint32]string{402: "declined", 409: "taken"}[tc.code]
		rt.send(&pb.CallCompletionNotificationMessage{CompletionId: 2, Result: &pb.CallCompletionNotificationMessage_Failure{
			Failure: &pb.Failure{Code: tc.code, Message: msg, Metadata: md("reason", "expired")}}})
		if out := recvAs[*pb.OutputCommandMessage](rt); !tc.output(out) {
			t.Errorf("relay of a %d failure: output %v", tc.code, out)
		}
	}
}
