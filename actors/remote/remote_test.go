package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/raftlog"
)

func TestProposeRoundTrip(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	inv := invocation(1, "add")
	cmds := []command.Command{
		{Kind: command.KindInvoke, Invoke: &inv},
		{Kind: command.KindSignal, Signal: &command.Signal{ID: invocationID(2), Index: 17, Result: command.Result{Value: []byte("resolved")}}},
		{Kind: command.KindSignal, Signal: &command.Signal{ID: invocationID(3), Name: "approve", Result: command.Result{Failure: &command.Failure{Code: 500, Message: "rejected"}}}},
		{Kind: command.KindTerminate, Terminate: &command.Terminate{ID: invocationID(4), Kill: true}},
		{Kind: command.KindPatchState, PatchState: &command.PatchState{ID: invocationID(5), Service: "Counter", Key: "5", State: []command.StateEntry{{Key: []byte("n"), Value: []byte("7")}}}},
	}
	for i, cmd := range cmds {
		o, err := a.ProposeWait(ctxFor(t, 10*time.Second), b.addr, uint32(i), cmd)
		if err != nil {
			t.Fatalf("propose %d: %v", i, err)
		}
		if want := proposed("b", uint32(i), cmd); o != want {
			t.Errorf("propose %d: outcome\n%+v, want\n%+v", i, o, want)
		}
	}
}

func TestCallNoticeAndPingRoundTrip(t *testing.T) {
	a, la := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	for _, inv := range []command.Invocation{invocation(5, "add"), invocation(6, "fail")} {
		r, err := a.Call(ctxFor(t, 10*time.Second), b.addr, 3, inv)
		if err != nil {
			t.Fatal(err)
		}
		if want := called("b", 3, inv); !reflect.DeepEqual(r, want) {
			t.Errorf("call %s: %q %+v, want %q %+v", inv.Target.Handler, r.Value, r.Failure, want.Value, want.Failure)
		}
	}

	// a → b, and b sends what it got back to a.
	id := invocationID(7)
	if err := a.NotifyResult(b.addr, 7, id, command.Result{Value: []byte(`{"n":3}`)}); err != nil {
		t.Fatal(err)
	}
	want := notice{partition: 1007, id: id, result: command.Result{Value: []byte(`b got {"n":3}`)}}
	if n := la.awaitNotice(t, id); !reflect.DeepEqual(n, want) {
		t.Errorf("notice %+v, want %+v", n, want)
	}

	pong, err := a.Ping(ctxFor(t, 10*time.Second), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	if pong.Addr != b.addr || pong.SystemID != b.systemID || pong.SystemID == a.SystemID() {
		t.Errorf("pong %+v, want address %s and system %s", pong, b.addr, b.systemID)
	}
	if !reflect.DeepEqual(pong.Partitions, health("b")) {
		t.Errorf("partitions %+v, want %+v", pong.Partitions, health("b"))
	}
}

func TestAttachAndOutputRoundTrip(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	for _, id := range []ids.InvocationID{invocationID(3), runningID, unknownID} {
		for _, wait := range []bool{true, false} {
			var got ingress.Attachment
			var found bool
			var err error
			if wait {
				got, found, err = a.Attach(ctxFor(t, 10*time.Second), b.addr, 6, id)
			} else {
				got, found, err = a.Output(ctxFor(t, 10*time.Second), b.addr, 6, id)
			}
			if err != nil {
				t.Fatalf("attach %s (wait %v): %v", id, wait, err)
			}
			if want, wantFound := attached("b", 6, id, wait); found != wantFound || !reflect.DeepEqual(got, want) {
				t.Errorf("attach %s (wait %v): %+v %v, want %+v %v", id, wait, got, found, want, wantFound)
			}
		}
	}
	_, _, err := a.Attach(ctxFor(t, 10*time.Second), b.addr, partUnavailable, invocationID(3))
	var r refusal
	if !errors.As(err, &r) || !r.Unavailable() || r.RetryAfter() != 3*time.Second {
		t.Errorf("attach on a partition that cannot run: %v, want a refusal (unavailable, retry after 3s)", err)
	}
	_, _, err = a.Attach(ctxFor(t, 300*time.Millisecond), b.addr, partBlocks, invocationID(4))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), b.addr) {
		t.Errorf("attach past its deadline: %v, want a deadline naming %s", err, b.addr)
	}
}

// refusal is what the ingress looks for to answer 429 or 503 with Retry-After.
type refusal interface {
	RetryAfter() time.Duration
	Unavailable() bool
}

func TestErrorsKeepTheirKind(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	cases := []struct {
		name      string
		partition uint32
		budget    time.Duration
		is        error // errors.Is on the caller's side
		refused   bool
		after     time.Duration
		unavail   bool
		text      string // in the error's text
	}{
		{name: "overloaded", partition: partOverloaded, is: remote.ErrOverloaded, refused: true, after: 1500 * time.Millisecond,
			text: "partition 90 is overloaded (9 proposals queued); nothing was accepted, retry later"},
		{name: "unavailable", partition: partUnavailable, is: remote.ErrUnavailable, refused: true, after: 3 * time.Second, unavail: true,
			text: "partition 91 is not running (actor stopped)"},
		{name: "not leader", partition: partNotLeader, is: remote.ErrNotLeader, text: "node " + b.addr},
		{name: "outcome unknown", partition: partUnknown, is: raftlog.ErrProposal, text: "timeout"},
		{name: "deadline", partition: partBlocks, budget: 300 * time.Millisecond, is: context.DeadlineExceeded, text: "node " + b.addr},
		{name: "other", partition: partBroken, text: "disk on fire"},
	}
	for _, c := range cases {
		for _, op := range []string{"propose", "call"} {
			t.Run(c.name+"/"+op, func(t *testing.T) {
				budget := c.budget
				if budget == 0 {
					budget = 10 * time.Second
				}
				ctx := ctxFor(t, budget)
				var err error
				if op == "propose" {
					_, err = a.ProposeWait(ctx, b.addr, c.partition, command.Command{Kind: command.KindTerminate, Terminate: &command.Terminate{ID: invocationID(1)}})
				} else {
					_, err = a.Call(ctx, b.addr, c.partition, invocation(1, "add"))
				}
				if err == nil {
					t.Fatal("no error")
				}
				if c.is != nil && !errors.Is(err, c.is) {
					t.Errorf("%v: not %v", err, c.is)
				}
				if !strings.Contains(err.Error(), c.text) {
					t.Errorf("%q does not say %q", err, c.text)
				}
				var r refusal
				if errors.As(err, &r) != c.refused {
					t.Fatalf("%v: refusal %v, want %v", err, !c.refused, c.refused)
				}
				if c.refused && (r.RetryAfter() != c.after || r.Unavailable() != c.unavail) {
					t.Errorf("%v: retry after %v unavailable %v, want %v %v", err, r.RetryAfter(), r.Unavailable(), c.after, c.unavail)
				}
			})
		}
	}
}

// TestManyConcurrentCalls: 1,000 calls at once from one node to two others (three actor systems);
// each gets its own answer.
func TestManyConcurrentCalls(t *testing.T) {
	a, _ := callerNode(t)
	others := []*child{spawn(t, "b", "127.0.0.1:0", a.Addr()), spawn(t, "c", "127.0.0.1:0", a.Addr())}
	const n = 1000
	ctx := ctxFor(t, time.Minute)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := others[i%2]
			inv := invocation(byte(i), "add")
			inv.Input = []byte(fmt.Sprintf("call %d", i))
			r, err := a.Call(ctx, node.addr, uint32(i%7), inv)
			if err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
				return
			}
			if want := called(node.name, uint32(i%7), inv); !reflect.DeepEqual(r, want) {
				errs <- fmt.Errorf("call %d answered %q, want %q", i, r.Value, want.Value)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRelay: three nodes in three processes, a call from a to b which calls c: every node
// serves and calls.
func TestRelay(t *testing.T) {
	a, _ := callerNode(t)
	b, c := spawn(t, "b", "127.0.0.1:0", a.Addr()), spawn(t, "c", "127.0.0.1:0", a.Addr())
	inv := invocation(12, "add")
	inv.Headers = append(inv.Headers, command.Header{Key: "relay-to", Value: c.addr})
	r, err := a.Call(ctxFor(t, 10*time.Second), b.addr, partRelay, inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := "via b: " + string(called("c", 1, inv).Value); string(r.Value) != want {
		t.Errorf("relayed call: %q, want %q", r.Value, want)
	}
	// A refusal keeps its kind and Retry-After over two hops.
	inv.Headers = append(inv.Headers, command.Header{Key: "relay-partition", Value: fmt.Sprint(partOverloaded)})
	_, err = a.Call(ctxFor(t, 10*time.Second), b.addr, partRelay, inv)
	var ref refusal
	if !errors.As(err, &ref) || ref.Unavailable() || ref.RetryAfter() != 1500*time.Millisecond {
		t.Errorf("relayed refusal: %v, want a refusal (busy, retry after 1.5s)", err)
	}
}

// TestStoppedNode: a call in flight when its node is killed (or closes), and requests made after,
// fail within the caller's deadline with an error naming the node.
func TestStoppedNode(t *testing.T) {
	a, la := callerNode(t)
	for _, how := range []string{"SIGKILL", "Close"} {
		t.Run(how, func(t *testing.T) {
			b := spawn(t, "b", "127.0.0.1:0", a.Addr())
			inflight := make(chan error, 1)
			inv := invocation(byte(200+len(how)), "add")
			go func() {
				_, err := a.Call(ctxFor(t, time.Minute), b.addr, partBlocks, inv)
				inflight <- err
			}()
			if n := la.awaitNotice(t, inv.ID); string(n.result.Value) != "b blocked" {
				t.Fatalf("notice %+v, want b blocked", n)
			}
			if how == "SIGKILL" {
				b.kill()
			} else {
				b.stop(t)
			}
			select {
			case err := <-inflight:
				if err == nil || !strings.Contains(err.Error(), b.addr) {
					t.Fatalf("in-flight call on a stopped node: %v, want an error naming %s", err, b.addr)
				}
				t.Logf("in flight: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("the in-flight call still waits 30 s after its node stopped")
			}
			for _, op := range []string{"propose", "call", "ping"} {
				err := requestOf(op, a, b.addr, time.Second)
				if err == nil || !strings.Contains(err.Error(), b.addr) {
					t.Fatalf("%s on a stopped node: %v, want an error naming %s", op, err, b.addr)
				}
				if !errors.Is(err, remote.ErrUnreachable) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s on a stopped node: %v is neither unreachable nor a deadline", op, err)
				}
				t.Logf("%s: %v", op, err)
			}
		})
	}
}

// requestOf makes one request of kind op to node with the given budget.
func requestOf(op string, a *remote.Endpoint, node string, budget time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	var err error
	switch op {
	case "propose":
		_, err = a.ProposeWait(ctx, node, 1, command.Command{Kind: command.KindTerminate, Terminate: &command.Terminate{ID: invocationID(1)}})
	case "call":
		_, err = a.Call(ctx, node, 1, invocation(1, "add"))
	case "ping":
		_, err = a.Ping(ctx, node)
	}
	return err
}

// TestSilentNode: a node that accepts connections but never answers (isolated, or stopped with
// SIGSTOP) fails requests at their deadline, with an error naming the node, when the deadline
// comes before the heartbeats give up (TestSilentNodeMissesHeartbeats): the connection is
// neither refused nor broken.
func TestSilentNode(t *testing.T) {
	a, _ := callerNode(t)
	addr := silentNode(t)
	const budget = 500 * time.Millisecond
	for _, op := range []string{"propose", "call", "ping"} {
		done := make(chan error, 1)
		go func() { done <- requestOf(op, a, addr, budget) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) {
				t.Errorf("%s on a silent node: %v, want a deadline naming %s", op, err, addr)
			}
		case <-time.After(budget + 15*time.Second):
			t.Fatalf("%s on a silent node still waits 15 s after its deadline", op)
		}
	}
}

// TestSilentNodeMissesHeartbeats: a request with a long budget (a call held at a partition's
// leader) on a node that stopped answering ends with ErrUnreachable once the node missed its
// heartbeats, not at its deadline: the router can then ask the partition's new leader.
func TestSilentNodeMissesHeartbeats(t *testing.T) {
	a, _ := callerNode(t)
	addr := silentNode(t)
	const budget = 5 * time.Minute
	done := make(chan error, 1)
	go func() { done <- requestOf("call", a, addr, budget) }()
	select {
	case err := <-done:
		if !errors.Is(err, remote.ErrUnreachable) || !strings.Contains(err.Error(), "heartbeats") || !strings.Contains(err.Error(), addr) {
			t.Errorf("call on a silent node: %v, want unreachable after missed heartbeats, naming %s", err, addr)
		}
		t.Logf("call on a silent node: %v", err)
	case <-time.After(budget):
		t.Fatal("a call on a silent node waited for its whole budget")
	}
}

// TestBlockedCallOutlivesHeartbeats: a call that waits at a live node (its handler still runs)
// is not failed by the heartbeats, however many intervals it waits: it ends at its own deadline,
// answered by the node.
func TestBlockedCallOutlivesHeartbeats(t *testing.T) {
	a, la := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	budget := time.Duration(remote.DefaultHeartbeatMisses+2) * remote.DefaultHeartbeatInterval
	inv := invocation(231, "add")
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctxFor(t, budget), b.addr, partBlocks, inv)
		done <- err
	}()
	la.awaitNotice(t, inv.ID)
	err := <-done
	if errors.Is(err, remote.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call blocked at a live node for %v: %v, want its deadline (not unreachable)", budget, err)
	}
}

// silentNode listens on loopback, accepts connections and never answers. Its cleanup (which runs
// before that of the endpoints started earlier) closes them, so that a connection attempt ends.
func silentNode(t *testing.T) string {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		accepted []net.Conn
		wg       sync.WaitGroup
	)
	t.Cleanup(func() {
		silent.Close()
		mu.Lock()
		for _, c := range accepted {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return silent.Addr().String()
}

// TestRestartedNode: a node killed and restarted on the same address is reachable again.
func TestRestartedNode(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	if _, err := a.Ping(ctxFor(t, 10*time.Second), b.addr); err != nil {
		t.Fatal(err)
	}
	b.kill()
	if err := requestOf("ping", a, b.addr, time.Second); err == nil {
		t.Fatal("a killed node answered")
	}
	b2 := spawn(t, "b2", b.addr, a.Addr())
	// The caller's connection to the old node may take a retry to be replaced: try until the
	// new node answers, each try bounded.
	ctx := ctxFor(t, 30*time.Second)
	var pong remote.Pong
	var err error
	for ctx.Err() == nil {
		if pong, err = a.Ping(ctxFor(t, time.Second), b.addr); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("restarted node never answered: %v", err)
	}
	if pong.SystemID != b2.systemID || pong.SystemID == b.systemID {
		t.Errorf("pong from system %s, want the restarted %s (not %s)", pong.SystemID, b2.systemID, b.systemID)
	}
	inv := invocation(9, "add")
	r, err := a.Call(ctxFor(t, 10*time.Second), b.addr, 2, inv)
	if want := called("b2", 2, inv); err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("call on the restarted node: %q, %v; want %q", r.Value, err, want.Value)
	}
}

// BenchmarkProposeWait is one remote ProposeWait round trip on loopback to a node in another
// process whose Local answers at once.
func BenchmarkProposeWait(b *testing.B) {
	a, _ := callerNode(b)
	srv := spawn(b, "b", "127.0.0.1:0", a.Addr())
	cmd := command.Command{Kind: command.KindSignal, Signal: &command.Signal{ID: invocationID(2), Index: 17, Result: command.Result{Value: []byte("resolved")}}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.ProposeWait(ctx, srv.addr, partNop, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProposeWaitParallel is the same with 16 callers per CPU.
func BenchmarkProposeWaitParallel(b *testing.B) {
	a, _ := callerNode(b)
	srv := spawn(b, "b", "127.0.0.1:0", a.Addr())
	cmd := command.Command{Kind: command.KindSignal, Signal: &command.Signal{ID: invocationID(2), Index: 17, Result: command.Result{Value: []byte("resolved")}}}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.ProposeWait(context.Background(), srv.addr, partNop, cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestAddressInUse: a node whose remoting address is taken fails to start with an error naming
// the address (protoactor panics; Start returns the error).
func TestAddressInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// In a child process, as every endpoint but the caller (see node_test.go).
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"=b|"+taken.Addr().String()+"|")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("node on a taken address: %v, want exit code 1; output:\n%s", err, out)
	}
	if want := "remote: start on " + taken.Addr().String() + ": failed to listen"; !strings.Contains(string(out), want) {
		t.Errorf("output %q does not say %q", out, want)
	}
}

// TestReadsAndShardProgressRoundTrip: a status record and a key's state read on another node
// arrive intact (an unknown invocation as not found, errors with their kind), and Ping carries
// the node's Raft replicas' progress.
func TestReadsAndShardProgressRoundTrip(t *testing.T) {
	a, _ := callerNode(t)
	b := spawn(t, "b", "127.0.0.1:0", a.Addr())
	for _, id := range []ids.InvocationID{invocationID(3), unknownID} {
		st, found, err := a.Status(ctxFor(t, 10*time.Second), b.addr, 6, id)
		want, wantFound := statusOf("b", 6, id)
		if err != nil || found != wantFound || !reflect.DeepEqual(st, want) {
			t.Errorf("status of %s: %+v %v %v, want %+v %v", id, st, found, err, want, wantFound)
		}
	}
	state, err := a.State(ctxFor(t, 10*time.Second), b.addr, 5, "Counter", "k")
	if want := stateOf("b", 5, "Counter", "k"); err != nil || !reflect.DeepEqual(state, want) {
		t.Errorf("state: %q %v, want %q", state, err, want)
	}
	// Introspection rows, one table larger than gRPC's default message bound.
	// The invocations a table is restricted to cross too.
	rd := introspect.Read{Tables: []string{"sys_journal", "big"}, Only: map[string][]ids.InvocationID{"sys_journal": {invocationID(3), invocationID(4)}},
		Columns: map[string]bool{"index": true, "id": true}}
	rows, err := a.Rows(ctxFor(t, 20*time.Second), b.addr, 4, rd)
	if want := rowsOf("b", 4, rd); err != nil || fmt.Sprint(rows) != fmt.Sprint(want) || !strings.Contains(fmt.Sprint(rows[0]), invocationID(4).String()) ||
		!strings.Contains(fmt.Sprint(rows[0]), "[id index]") {
		t.Errorf("rows: %d tables, %v; want %d tables", len(rows), err, len(want))
	}
	if _, err := a.Rows(ctxFor(t, 20*time.Second), b.addr, 4, introspect.Read{Tables: []string{"huge"}}); err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("rows larger than the node's bound: %v, want an error naming the bound", err)
	}
	if _, _, err := a.Status(ctxFor(t, 10*time.Second), b.addr, partNotLeader, invocationID(3)); !errors.Is(err, remote.ErrNotLeader) {
		t.Errorf("status on a partition b does not lead: %v, want ErrNotLeader", err)
	}
	pong, err := a.Ping(ctxFor(t, 10*time.Second), b.addr)
	if want := newLocal("b").ShardProgress(); err != nil || !reflect.DeepEqual(pong.Shards, want) {
		t.Errorf("ping's shards: %+v %v, want %+v", pong.Shards, err, want)
	}
}
