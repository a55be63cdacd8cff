package remote_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/actors/remote"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// The nodes a test talks to run in child processes of the test binary, one remoting endpoint
// each: protoactor's remote.Start sets grpc's global logger every time, which races (go test
// -race) with the grpc goroutines of any other endpoint in the same process. So the test process
// holds one endpoint (the caller, "a") and every other node is a real process on its own port.

const nodeEnv = "RESOLUTE_REMOTE_TEST_NODE" // name|listen address|parent's address

func TestMain(m *testing.M) {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNode(spec))
	}
	code := m.Run()
	if caller.ep != nil {
		caller.ep.Close()
	}
	os.Exit(code)
}

// caller is the test process's one endpoint, node "a", started by the first test that needs it.
var caller struct {
	once  sync.Once
	ep    *remote.Endpoint
	local *local
	err   error
}

func callerNode(t testing.TB) (*remote.Endpoint, *local) {
	t.Helper()
	caller.once.Do(func() {
		caller.local = newLocal("a")
		caller.ep, caller.err = remote.Start(remote.Config{Addr: "127.0.0.1:0", Local: caller.local})
	})
	if caller.err != nil {
		t.Fatal(caller.err)
	}
	return caller.ep, caller.local
}

// runNode is a child process: a node whose partitions are a test local, until stdin closes.
func runNode(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "bad %s %q\n", nodeEnv, spec)
		return 2
	}
	l := newLocal(parts[0])
	l.parent = parts[2]
	ep, err := remote.Start(remote.Config{Addr: parts[1], Local: l, MaxReadValue: maxReadValue})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l.ep.Store(ep)
	fmt.Printf("ready %s %s\n", ep.Addr(), ep.SystemID())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ep.Close()
	return 0
}

// child is a node running in a child process.
type child struct {
	name, addr, systemID string
	cmd                  *exec.Cmd
	stdin                io.WriteCloser
}

// spawn starts node name listening on addr (port 0: any) that reports to parent.
func spawn(t testing.TB, name, addr, parent string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+name+"|"+addr+"|"+parent)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin}
	t.Cleanup(c.kill)
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		if _, err := fmt.Sscanf(line, "ready %s %s", &c.addr, &c.systemID); err != nil {
			t.Fatalf("node %s did not start: %q", name, line)
		}
	case <-time.After(time.Minute):
		t.Fatalf("node %s did not start within a minute", name)
	}
	return c
}

// kill is SIGKILL: the node's connections break without a goodbye.
func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// stop closes the node's endpoint (Endpoint.Close) and waits for it to exit.
func (c *child) stop(t testing.TB) {
	t.Helper()
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("node %s: %v", c.name, err)
	}
}

// Partitions the test local treats specially.
const (
	partOverloaded  = 90 // refuses with a real *partition.RefusedError, busy
	partUnavailable = 91 // refuses, cannot run
	partNotLeader   = 92
	partUnknown     = 93 // the log cannot say whether it applied
	partBlocks      = 94 // tells the parent, then waits for its context
	partBroken      = 95 // an error of no known kind
	partNop         = 99 // answers at once (benchmarks)
	partRelay       = 80 // calls the node its header relay-to names, and answers that
)

// local is a node's partitions as the tests see them. It answers with what it received (the
// command as JSON, the invocation's fields), so a round trip shows the values crossed intact
// both ways; a node in a child process sends the notices it gets back to its parent.
type local struct {
	name    string
	parent  string
	ep      atomic.Pointer[remote.Endpoint]
	notices chan notice
}

type notice struct {
	partition uint32
	id        ids.InvocationID
	result    command.Result
}

func newLocal(name string) *local { return &local{name: name, notices: make(chan notice, 64)} }

func (l *local) fail(ctx context.Context, p uint32, id ids.InvocationID) error {
	switch p {
	case partOverloaded:
		return fmt.Errorf("partition %d: %w", p, &partition.RefusedError{Partition: p, Overloaded: true, Reason: "9 proposals queued", After: 1500 * time.Millisecond})
	case partUnavailable:
		return &partition.RefusedError{Partition: p, Reason: "actor stopped", After: 3 * time.Second}
	case partNotLeader:
		return fmt.Errorf("partition %d: %w", p, remote.ErrNotLeader)
	case partUnknown:
		return fmt.Errorf("partition %d: %w: timeout", p, raftlog.ErrProposal)
	case partBlocks:
		l.tellParent(p, id, "blocked")
		<-ctx.Done()
		return ctx.Err()
	case partBroken:
		return errors.New("disk on fire")
	}
	return nil
}

func (l *local) tellParent(p uint32, id ids.InvocationID, what string) {
	if ep := l.ep.Load(); ep != nil {
		if err := ep.NotifyResult(l.parent, p, id, command.Result{Value: []byte(l.name + " " + what)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

func (l *local) ProposeWait(ctx context.Context, p uint32, cmd command.Command) (statemachine.Outcome, error) {
	if p == partNop {
		return statemachine.Outcome{}, nil
	}
	if err := l.fail(ctx, p, ids.InvocationID{}); err != nil {
		return statemachine.Outcome{}, err
	}
	return proposed(l.name, p, cmd), nil
}

// proposed is the outcome the test local answers for cmd.
func proposed(node string, p uint32, cmd command.Command) statemachine.Outcome {
	js, err := json.Marshal(cmd)
	if err != nil {
		panic(err)
	}
	return statemachine.Outcome{Code: statemachine.Duplicate, Message: fmt.Sprintf("%s p%d %s", node, p, js), Reason: statemachine.ReasonOutOfRange}
}

func (l *local) Call(ctx context.Context, p uint32, inv command.Invocation) (command.Result, error) {
	if err := l.fail(ctx, p, inv.ID); err != nil {
		return command.Result{}, err
	}
	if p == partRelay {
		return l.relay(ctx, inv)
	}
	return called(l.name, p, inv), nil
}

// relay calls partition 1 (or that of header relay-partition) of the node inv's relay-to header
// names, from this node.
func (l *local) relay(ctx context.Context, inv command.Invocation) (command.Result, error) {
	p := uint32(1)
	for _, h := range inv.Headers {
		if h.Key == "relay-partition" {
			_, _ = fmt.Sscan(h.Value, &p)
		}
	}
	for _, h := range inv.Headers {
		if h.Key == "relay-to" {
			r, err := l.ep.Load().Call(ctx, h.Value, p, inv)
			if err != nil {
				return r, fmt.Errorf("%s relays to %s: %w", l.name, h.Value, err)
			}
			r.Value = append([]byte("via "+l.name+": "), r.Value...)
			return r, nil
		}
	}
	return command.Result{}, errors.New("no relay-to header")
}

// called is the result the test local answers for inv.
func called(node string, p uint32, inv command.Invocation) command.Result {
	if inv.Target.Handler == "fail" {
		return command.Result{Failure: &command.Failure{Code: 409, Message: "no " + string(inv.Input), Metadata: []command.MetadataEntry{{Key: "node", Value: node}}}}
	}
	js, err := json.Marshal(inv)
	if err != nil {
		panic(err)
	}
	return command.Result{Value: []byte(fmt.Sprintf("%s p%d %s", node, p, js))}
}

// ResultNotice records the notice; a child sends it back to its parent, with the partition
// plus 1000 and the value prefixed with its name.
func (l *local) ResultNotice(p uint32, id ids.InvocationID, r command.Result) {
	if l.parent != "" {
		l.tellParent(p+1000, id, "got "+string(r.Value))
		return
	}
	select {
	case l.notices <- notice{partition: p, id: id, result: r}:
	default: // a full channel drops, as a notice may be lost
	}
}

// Unknown and running invocations, as the test local's Attach and Output see them.
var (
	unknownID = invocationID(250)
	runningID = invocationID(251)
)

func (l *local) Attach(ctx context.Context, p uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	if err := l.fail(ctx, p, id); err != nil {
		return ingress.Attachment{}, false, err
	}
	a, found := attached(l.name, p, id, true)
	return a, found, nil
}

func (l *local) Output(ctx context.Context, p uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	if err := l.fail(ctx, p, id); err != nil {
		return ingress.Attachment{}, false, err
	}
	a, found := attached(l.name, p, id, false)
	return a, found, nil
}

// attached is what the test local answers to an attach (wait) or an output request for id.
func attached(node string, p uint32, id ids.InvocationID, wait bool) (ingress.Attachment, bool) {
	if id == unknownID {
		return ingress.Attachment{}, false
	}
	a := ingress.Attachment{Target: command.Target{Service: "Counter", Handler: "add", Key: node, ServiceType: command.VirtualObject, HandlerType: command.Exclusive},
		Retention: &command.Retention{Completion: 1000, Journal: 10}}
	switch {
	case wait:
		a.Result = &command.Result{Value: []byte(fmt.Sprintf("%s p%d attached %s", node, p, id))}
	case id != runningID:
		a.Result = &command.Result{Failure: &command.Failure{Code: 500, Message: "ended badly"}}
		a.EndedAt = 1_700_000_000_000
	}
	return a, true
}

// Health is what every test node reports of its partitions.
func (l *local) Health() []remote.PartitionHealth { return health(l.name) }

func health(node string) []remote.PartitionHealth {
	return []remote.PartitionHealth{
		{Partition: 1, Leader: true, Running: true, Queued: 3, Calling: 2},
		{Partition: 2, Reason: node + ": actor stopped"},
	}
}

// awaitNotice waits for a notice about invocation id (the caller's local gets those of every
// test: it skips the others).
func (l *local) awaitNotice(t testing.TB, id ids.InvocationID) notice {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case n := <-l.notices:
			if n.id == id {
				return n
			}
		case <-timeout:
			t.Fatalf("no notice about %s arrived", id)
		}
	}
}

func invocationID(n byte) ids.InvocationID {
	return ids.NewInvocationID(ids.KeyedPartitionKey("Counter", fmt.Sprint(n)), [16]byte{n, 1, 2, 3})
}

func invocation(n byte, handler string) command.Invocation {
	return command.Invocation{
		ID:             invocationID(n),
		Target:         command.Target{Service: "Counter", Handler: handler, Key: fmt.Sprint(n), ServiceType: command.VirtualObject, HandlerType: command.Exclusive},
		Input:          []byte(fmt.Sprintf("input %d", n)),
		Headers:        []command.Header{{Key: "x-n", Value: fmt.Sprint(n)}},
		IdempotencyKey: "idem",
		Caller:         &command.Caller{ID: invocationID(n + 1), CompletionID: 4, Kind: command.CallerAttach},
		Retention:      &command.Retention{Completion: 86_400_000, Journal: 3_600_000},
	}
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Status is what the test local reads of invocation id: a status naming the node and the
// partition, none for unknownID.
func (l *local) Status(ctx context.Context, p uint32, id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	if err := l.fail(ctx, p, id); err != nil {
		return storage.InvocationStatus{}, false, err
	}
	st, found := statusOf(l.name, p, id)
	return st, found, nil
}

func statusOf(node string, p uint32, id ids.InvocationID) (storage.InvocationStatus, bool) {
	if id == unknownID {
		return storage.InvocationStatus{}, false
	}
	return storage.InvocationStatus{Phase: storage.Completed, Invocation: command.Invocation{ID: id, Target: command.Target{Service: node, Handler: fmt.Sprint(p)}},
		Result: &command.Result{Value: []byte(node)}, ModifiedAt: 1_700_000_000_000}, true
}

// State is what the test local reads of a key's state.
func (l *local) State(ctx context.Context, p uint32, service, key string) ([]storage.StateEntry, error) {
	if err := l.fail(ctx, p, invocationID(1)); err != nil {
		return nil, err
	}
	return stateOf(l.name, p, service, key), nil
}

func stateOf(node string, p uint32, service, key string) []storage.StateEntry {
	return []storage.StateEntry{{Key: []byte("a"), Value: []byte(node + "/" + service + "/" + key)}, {Key: []byte("b"), Value: []byte(fmt.Sprint(p))}}
}

// Rows is what the test local reads of introspection tables: one row per table naming the node,
// the partition and the table, and the invocations the table is restricted to; the table "big"
// has a row of bigRow bytes.
func (l *local) Rows(ctx context.Context, p uint32, rd introspect.Read) ([]introspect.Rows, error) {
	if err := l.fail(ctx, p, invocationID(1)); err != nil {
		return nil, err
	}
	return rowsOf(l.name, p, rd), nil
}

// bigRow is larger than gRPC's default 4 MiB message bound; hugeRow larger than the test
// nodes' maxReadValue.
const (
	bigRow       = 6 << 20
	hugeRow      = 10 << 20
	maxReadValue = 8 << 20
)

func rowsOf(node string, p uint32, rd introspect.Read) []introspect.Rows {
	var out []introspect.Rows
	for _, t := range rd.Tables {
		v := node
		switch t {
		case "big":
			v = strings.Repeat("x", bigRow)
		case "huge":
			v = strings.Repeat("x", hugeRow)
		}
		out = append(out, introspect.Rows{Table: t, Values: [][]any{{v, uint64(p), t, fmt.Sprint(rd.Only[t]), fmt.Sprint(slices.Sorted(maps.Keys(rd.Columns)))}}})
	}
	return out
}

// ShardProgress is what every test node reports of its Raft replicas.
func (l *local) ShardProgress() []remote.ShardProgress {
	return []remote.ShardProgress{{Shard: 1, Leader: 2, Term: 3, AppliedIndex: uint64(len(l.name)) + 40}, {Shard: 1000, AppliedIndex: 7}}
}
