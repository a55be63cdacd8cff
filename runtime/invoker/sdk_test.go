package invoker_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/transport"
	"github.com/resolute-run/resolute/sdk"
)

// The project's Go SDK, served in-process, driven by the invoker: a Run that fails once (retry
// with replay), then succeeds and is acknowledged, then the output.
func TestWithGoSDKInProcess(t *testing.T) {
	for _, v := range []int{6, 7} {
		t.Run(protocol.Version(v).ContentType(), func(t *testing.T) {
			var calls atomic.Int32
			svc := sdk.NewService("Greeter").Handler("greet", sdk.ServiceHandler(func(ctx sdk.Context, name string) (string, error) {
				greeting, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
					if calls.Add(1) == 1 {
						return "", errors.New("flaky")
					}
					return "hello", nil
				})
				if err != nil {
					return "", err
				}
				return greeting + " " + name, nil
			}))
			reg := transport.NewInProcess()
			t.Cleanup(func() { reg.Close() })
			reg.Register("greeter", sdk.NewEndpoint().Bind(svc))

			d := &fakeDeployment{t: t}
			e := setupWith(t, greeter, invoker.Config{}, d, deployment("inproc://greeter/", v), transport.NewClient(transport.Config{InProcess: reg}))
			in, _ := proto.Marshal(&pb.InputCommandMessage{Value: &pb.Value{Content: []byte(`"world"`)}})
			e.p.mu.journal[0].Payload = in
			e.inv.Start(e.p, e.p.id)
			e.p.waitFor(command.KindEnd)

			j := e.p.journal()
			types := entryTypes(j)
			if len(j) != 4 || types[1] != protocol.RunCommandType || types[2] != protocol.RunCompletionType || types[3] != protocol.OutputCommandType {
				t.Fatalf("journal %v", types)
			}
			var out pb.OutputCommandMessage
			if err := proto.Unmarshal(j[3].Payload, &out); err != nil || string(out.GetValue().GetContent()) != `"hello world"` {
				t.Fatalf("output %v %v", &out, err)
			}
		})
	}
}
