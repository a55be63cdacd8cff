package invoker_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// A failed attempt that will be retried proposes one TransientError journal event, after the
// attempt's commands: the deployment's error (code, message, stack trace, related command) or
// the runtime's (500, with restate's documentation code). As restate-server, the same event is
// not proposed twice in a row unless a command was appended in between; the last attempt of a
// policy that pauses proposes a Paused event with its failure; an attempt that ends the
// invocation otherwise (terminal error, the last attempt of a policy that kills, success)
// proposes none.
func TestTransientErrorEvents(t *testing.T) {
	boom := &pb.ErrorMessage{Code: 500, Message: "boom"}
	related := &pb.ErrorMessage{Code: 503, Message: "run failed", Stacktrace: "Error: run failed\n  at x",
		RelatedCommandIndex: proto.Uint32(1), RelatedCommandName: proto.String("r"), RelatedCommandType: proto.Uint32(uint32(protocol.RunCommandType))}
	cases := []struct {
		name   string
		policy invoker.RetryPolicy
		script []func(c *sdkConn)
		end    command.Kind
		want   []string
	}{
		{"retried until it ends", invoker.RetryPolicy{}, []func(c *sdkConn){
			func(c *sdkConn) { c.send(boom) },
			func(c *sdkConn) { c.send(boom) }, // the same again: not proposed
			func(c *sdkConn) { c.send(&pb.RunCommandMessage{ResultCompletionId: 1, Name: "r"}); c.send(boom) }, // after a command: proposed
			func(c *sdkConn) { c.send(related) },
			func(c *sdkConn) { c.send(&pb.CommandAckMessage{CommandIndex: 1}) }, // a protocol violation: the runtime's error
			func(c *sdkConn) { c.send(output("ok")); c.send(&pb.EndMessage{}) },
		}, command.KindEnd, []string{
			`1: 500 "boom" RT0007 - <nil> <nil> 0`,
			`2: 500 "boom" RT0007 - <nil> <nil> 0`,
			`2: 503 "run failed" RT0007 "Error: run failed\n  at x" 1 "r" 1041`,
			`2: 500 "invoker: protocol violation: deployment sent CommandAck" RT0012 - <nil> <nil> 0`,
		}},
		{"the last attempt and a journal mismatch", invoker.RetryPolicy{MaxAttempts: 2, OnMaxAttempts: invoker.OnMaxAttemptsKill}, []func(c *sdkConn){
			func(c *sdkConn) { c.send(&pb.ErrorMessage{Code: 570, Message: "mismatch"}) },
			func(c *sdkConn) { c.send(&pb.ErrorMessage{Code: 500, Message: "last"}) },
		}, command.KindFail, []string{`1: 570 "mismatch" RT0016 - <nil> <nil> 0`}},
		{"the last attempt pauses", invoker.RetryPolicy{MaxAttempts: 3}, []func(c *sdkConn){
			func(c *sdkConn) { c.send(boom) },
			func(c *sdkConn) { c.send(boom) },
			func(c *sdkConn) { c.send(related) },
		}, command.KindPause, []string{
			`1: 500 "boom" RT0007 - <nil> <nil> 0`,
			`paused 1: 503 "run failed" RT0007 "Error: run failed\n  at x" 1 "r" 1041`,
		}},
		{"a terminal error", invoker.RetryPolicy{}, []func(c *sdkConn){
			func(c *sdkConn) {
				c.send(&pb.ErrorMessage{Code: 418, Message: "teapot", Behavior: pb.ErrorBehavior_FAIL})
			},
		}, command.KindFail, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, greeter, 7, invoker.Config{Retry: tc.policy}, func(n int, c *sdkConn) { tc.script[n-1](c) })
			e.inv.Start(e.p, e.p.id)
			e.p.waitFor(tc.end)
			if got := int(e.d.attempts.Load()); got != len(tc.script) {
				t.Fatalf("%d attempts, want %d", got, len(tc.script))
			}
			var got []string
			for _, ev := range e.p.events() {
				te := ev.te
				trace := "-"
				if te.Stacktrace != "" {
					trace = fmt.Sprintf("%q", te.Stacktrace)
				}
				s := fmt.Sprintf("%d: %d %q %s %s %v %v %d", ev.journal, te.Code, te.Message, te.DocCode, trace, deref(te.RelatedCommandIndex), quote(te.RelatedCommandName), te.RelatedCommandType)
				if ev.paused {
					s = "paused " + s
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events (journal length: code message doc code stack trace related index, name, type):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func deref(p *uint32) any {
	if p == nil {
		return nil
	}
	return *p
}

func quote(p *string) any {
	if p == nil {
		return nil
	}
	return fmt.Sprintf("%q", *p)
}

// An attempt found stale (the partition refused its command: the invocation moved on) proposes
// no event.
func TestStaleAttemptProposesNoEvent(t *testing.T) {
	released := make(chan struct{})
	e := setup(t, greeter, 7, invoker.Config{}, func(n int, c *sdkConn) {
		c.send(&pb.RunCommandMessage{ResultCompletionId: 1})
		c.recv() // until the runtime gives up on the stream
		close(released)
	})
	e.p.mu.Lock()
	e.p.mu.reject = func(cmd command.Command) error {
		if cmd.Kind == command.KindAppendEntry {
			return fmt.Errorf("invocation completed: %w", invoker.ErrStale)
		}
		return nil
	}
	e.p.mu.Unlock()
	e.inv.Start(e.p, e.p.id)
	<-released
	e.inv.Close()                                                                        // waits for the invocation's goroutine, which stopped without a retry
	<-e.p.Propose(command.Command{Kind: command.KindEnd, End: &command.End{ID: e.p.id}}) // applied after anything it proposed
	if got := e.p.events(); len(got) != 0 || e.d.attempts.Load() != 1 {
		t.Fatalf("events %+v after %d attempts, want none after 1", got, e.d.attempts.Load())
	}
}
