package objects

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

func openBatch(t *testing.T) *pebble.Batch {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := db.NewIndexedBatch()
	t.Cleanup(func() { b.Close() })
	return b
}

var (
	exclusive = command.Target{Service: "Cart", Key: "k", Handler: "add", ServiceType: command.VirtualObject, HandlerType: command.Exclusive}
	shared    = command.Target{Service: "Cart", Key: "k", Handler: "get", ServiceType: command.VirtualObject, HandlerType: command.Shared}
	run       = command.Target{Service: "Signup", Key: "k", Handler: "run", ServiceType: command.Workflow, HandlerType: command.WorkflowHandler}
	wfShared  = command.Target{Service: "Signup", Key: "k", Handler: "peek", ServiceType: command.Workflow, HandlerType: command.Shared}
	stateless = command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
)

func TestCheckAccess(t *testing.T) {
	writes := []protocol.MessageType{protocol.SetStateCommandType, protocol.ClearStateCommandType, protocol.ClearAllStateCommandType}
	reads := []protocol.MessageType{protocol.GetLazyStateCommandType, protocol.GetLazyStateKeysCommandType, protocol.GetEagerStateCommandType, protocol.GetEagerStateKeysCommandType}
	for _, tc := range []struct {
		target      command.Target
		read, write bool
	}{
		{exclusive, true, true},
		{run, true, true},
		{shared, true, false},
		{wfShared, true, false},
		{stateless, false, false},
	} {
		for _, c := range []struct {
			types []protocol.MessageType
			want  bool
		}{{writes, tc.write}, {reads, tc.read}} {
			for _, ty := range c.types {
				reason, code := CheckAccess(tc.target, ty)
				if (reason == "") != c.want || (reason != "" && code != 400) {
					t.Errorf("%s/%s %s: allowed %v (%q, %d), want %v", tc.target.Service, tc.target.Handler, ty, reason == "", reason, code, c.want)
				}
			}
		}
		if reason, _ := CheckAccess(tc.target, protocol.RunCommandType); reason != "" {
			t.Errorf("%s/%s: Run refused: %s", tc.target.Service, tc.target.Handler, reason)
		}
	}
}

func id(n byte) ids.InvocationID { return ids.NewInvocationID(1, [16]byte{n}) }

// TestLockAndInbox: the first exclusive invocation of a key runs, the next ones wait FIFO and
// get the lock in arrival order; shared handlers never wait; the lock goes when nobody waits.
func TestLockAndInbox(t *testing.T) {
	b := openBatch(t)
	var log []string
	for n := byte(1); n <= 3; n++ {
		ok, seq, err := Admit(b, exclusive, id(n))
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, fmt.Sprintf("admit %d: run=%v queued=%v", n, ok, seq > 0))
	}
	if ok, _, err := Admit(b, shared, id(9)); err != nil || !ok {
		t.Fatalf("shared handler waits: %v %v", ok, err)
	}
	if _, ok, err := Release(b, exclusive, id(2)); err != nil || ok {
		t.Fatalf("a release by an invocation that does not hold the lock passed it on: %v %v", ok, err)
	}
	holder := id(1)
	for range 3 {
		next, ok, err := Release(b, exclusive, holder)
		holder = next
		if err != nil {
			t.Fatal(err)
		}
		lockedBy, locked, _ := storage.Lock(b, "Cart", "k")
		log = append(log, fmt.Sprintf("release: next=%v %v locked=%v holder-is-next=%v", ok, next == id(byte(len(log)-1)), locked, locked && lockedBy == next))
	}
	want := []string{
		"admit 1: run=true queued=false",
		"admit 2: run=false queued=true",
		"admit 3: run=false queued=true",
		"release: next=true true locked=true holder-is-next=true",
		"release: next=true true locked=true holder-is-next=true",
		"release: next=false false locked=false holder-is-next=false",
	}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("got\n%q\nwant\n%q", log, want)
	}
}

func TestApplyState(t *testing.T) {
	b := openBatch(t)
	steps := []struct {
		msg  proto.Message
		want string // the notification, or "" for none
	}{
		{&pb.GetLazyStateCommandMessage{Key: []byte("a"), ResultCompletionId: 1}, "GetLazyStateCompletion completion_id:1 void:{}"},
		{&pb.SetStateCommandMessage{Key: []byte("a"), Value: &pb.Value{Content: []byte("1")}}, ""},
		{&pb.SetStateCommandMessage{Key: []byte("b"), Value: &pb.Value{Content: []byte("2")}}, ""},
		{&pb.GetLazyStateCommandMessage{Key: []byte("a"), ResultCompletionId: 2}, `GetLazyStateCompletion completion_id:2 value:{content:"1"}`},
		{&pb.GetLazyStateKeysCommandMessage{ResultCompletionId: 3}, `GetLazyStateKeysCompletion completion_id:3 state_keys:{keys:"a" keys:"b"}`},
		{&pb.ClearStateCommandMessage{Key: []byte("a")}, ""},
		{&pb.GetLazyStateKeysCommandMessage{ResultCompletionId: 4}, `GetLazyStateKeysCompletion completion_id:4 state_keys:{keys:"b"}`},
		{&pb.ClearAllStateCommandMessage{}, ""},
		{&pb.GetLazyStateKeysCommandMessage{ResultCompletionId: 5}, `GetLazyStateKeysCompletion completion_id:5 state_keys:{}`},
	}
	for i, s := range steps {
		n, handled, err := ApplyState(b, exclusive, s.msg)
		if err != nil || !handled {
			t.Fatalf("step %d: handled %v, %v", i, handled, err)
		}
		got := ""
		if n != nil {
			got = fmt.Sprintf("%s %v", n.Type, n.Message)
			if c, ok := n.Message.(interface{ GetCompletionId() uint32 }); !ok || c.GetCompletionId() != n.CompletionID {
				t.Errorf("step %d: notification for completion %d carries another id: %v", i, n.CompletionID, n.Message)
			}
		}
		if normalize(got) != normalize(s.want) {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
	if _, handled, _ := ApplyState(b, exclusive, &pb.SleepCommandMessage{}); handled {
		t.Error("SleepCommand handled as a state command")
	}
}

// normalize drops the spaces protobuf's text format varies in.
func normalize(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r != ' ' && r != '\u00a0' {
			out = append(out, r)
		}
	}
	return string(out)
}

func TestStartState(t *testing.T) {
	state := []storage.StateEntry{{Key: []byte("a"), Value: []byte("1")}}
	if sent, partial := StartState(state, false); len(sent) != 1 || partial {
		t.Errorf("eager: %v %v", sent, partial)
	}
	if sent, partial := StartState(state, true); len(sent) != 0 || !partial {
		t.Errorf("lazy: %v %v", sent, partial)
	}
}
