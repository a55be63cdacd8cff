package sdk_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
)

// lines collects the messages logged through it, with their invocation attribute.
type lines struct {
	mu  sync.Mutex
	got []string
	ids []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "invocation" {
			return &withID{l, a.Value.String()}
		}
	}
	return l
}
func (l *lines) WithGroup(string) slog.Handler { return l }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.add(r.Message, "")
	return nil
}

func (l *lines) add(msg, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, msg)
	l.ids = append(l.ids, id)
}

func (l *lines) take() (msgs, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs, ids, l.got, l.ids = l.got, l.ids, nil, nil
	return msgs, ids
}

type withID struct {
	*lines
	id string
}

func (w *withID) Handle(_ context.Context, r slog.Record) error {
	w.add(r.Message, w.id)
	return nil
}

// TestLogSilentWhileReplaying: ctx.Log() writes nothing for the steps the journal already has
// and writes from the first new step on; a fresh attempt writes everything.
func TestLogSilentWhileReplaying(t *testing.T) {
	logs := &lines{}
	svc := sdk.NewService("Logs").Handler("steps", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
		ctx.Log().Info("before step 1")
		a, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "a", nil }, sdk.WithName("one"))
		if err != nil {
			return "", err
		}
		ctx.Log().Info("after step 1")
		b, err := sdk.Run(ctx, func(rc sdk.RunContext) (string, error) {
			rc.Log().Info("in step 2")
			return "b", nil
		}, sdk.WithName("two"))
		ctx.Log().Info("after step 2")
		return a + b, err
	}))
	base := serve(t, sdk.NewEndpoint().Bind(svc).WithLogger(slog.New(logs)))
	done := func(id uint32, v string) *pb.RunCompletionNotificationMessage {
		return &pb.RunCompletionNotificationMessage{CompletionId: id, Result: &pb.RunCompletionNotificationMessage_Value{Value: value(v)}}
	}
	finish := func(rt *runtime) {
		t.Helper()
		recvAs[*pb.RunCommandMessage](rt)
		recvAs[*pb.ProposeRunCompletionMessage](rt)
		rt.send(done(2, `"b"`))
		if out := recvAs[*pb.OutputCommandMessage](rt); string(out.GetValue().GetContent()) != `"ab"` {
			t.Fatalf("output %v", out)
		}
	}

	for _, tc := range []struct {
		name    string
		journal []func(*runtime)
		want    []string
	}{
		{"fresh attempt", nil, []string{"before step 1", "after step 1", "in step 2", "after step 2"}},
		{"replay of step 1", []func(*runtime){func(rt *runtime) {
			rt.send(start(3, ""), input(""), &pb.RunCommandMessage{ResultCompletionId: 1, Name: "one"}, done(1, `"a"`))
		}}, []string{"after step 1", "in step 2", "after step 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := invoke(t, base, "/invoke/Logs/steps", protocol.V6)
			if tc.journal == nil {
				rt.send(start(1, ""), input(""))
				recvAs[*pb.RunCommandMessage](rt)
				recvAs[*pb.ProposeRunCompletionMessage](rt)
				rt.send(done(1, `"a"`))
			} else {
				tc.journal[0](rt)
			}
			finish(rt)
			msgs, ids := logs.take()
			if !slices.Equal(msgs, tc.want) {
				t.Errorf("logged %q, want %q", msgs, tc.want)
			}
			for i, id := range ids {
				if id != "inv_1test" {
					t.Errorf("line %q has invocation %q, want inv_1test", msgs[i], id)
				}
			}
		})
	}
}
