//go:build linux

package sdk_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/tests/testenv"
)

// afterCancel drives Tree/parent at base through a cancellation while it waits on two calls (their
// callee ids known) and describes what the SDK sends from the cancel signal on.
func afterCancel(t *testing.T, base string) string {
	t.Helper()
	rt := invoke(t, base, "/invoke/Tree/parent", protocol.V6)
	rt.send(start(1, "p"), input(""))
	for _, want := range []protocol.MessageType{protocol.CallCommandType, protocol.CallCommandType, protocol.OneWayCallCommandType} {
		if f, m := rt.recv(); f.Type != want {
			t.Fatalf("%s: %s %v, want %s", base, f.Type, m, want)
		}
	}
	idOf := func(id uint32, inv string) proto.Message {
		return &pb.CallInvocationIdCompletionNotificationMessage{CompletionId: id, InvocationId: inv}
	}
	rt.send(idOf(1, "inv_a"), idOf(3, "inv_b"), idOf(5, "inv_c"),
		&pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 1}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}})
	var seen []string
	for {
		f, m := rt.recv()
		switch m := m.(type) {
		case *pb.SendSignalCommandMessage:
			seen = append(seen, fmt.Sprintf("SendSignal(%s, idx %d, void %v)", m.TargetInvocationId, m.GetIdx(), m.GetVoid() != nil))
		case *pb.OutputCommandMessage:
			seen = append(seen, fmt.Sprintf("Output(failure %d %q)", m.GetFailure().GetCode(), m.GetFailure().GetMessage()))
		case *pb.EndMessage:
			return strings.Join(seen, " ")
		default:
			seen = append(seen, f.Type.String())
		}
	}
}

// TestCancellationMatchesOfficialTSSDK: the official TypeScript SDK (its shared core's implicit
// cancellation) and ours answer a cancellation of a handler waiting on two calls the same way:
// the cancel signal to each call still waited on, in call order, none to the one-way send, then
// the 409 output.
func TestCancellationMatchesOfficialTSSDK(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	tsSDK := filepath.Join(root, "compat/ts/node_modules/@restatedev/restate-sdk/dist/index.js")
	_, err = os.Stat(tsSDK)
	testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci --ignore-scripts` in compat/ts", tsSDK)

	port := testenv.FreePorts(t, 1)[0]
	ts := "http://" + testenv.Addr(port)
	script, err := filepath.Abs("testdata/tscancel.mjs")
	if err != nil {
		t.Fatal(err)
	}
	proc := testenv.StartProc(t, "ts-cancel", t.TempDir(),
		exec.Command(node, "--import", filepath.Join(root, "compat/ts/polyfill.mjs"), script, tsSDK, fmt.Sprint(port)))
	testenv.WaitReady(t, "TypeScript SDK endpoint", time.Minute, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, ts+"/health", http.StatusOK)
	}, proc)

	want := afterCancel(t, ts)
	got := afterCancel(t, serve(t, cancelTree()))
	if got != want {
		t.Fatalf("after the cancel signal ours sent %s, the official TypeScript SDK %s", got, want)
	}
	t.Logf("both: %s", got)
}
