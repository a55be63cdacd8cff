package statemachine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
)

// TestScenarios drives a Machine with scripts in testdata/. Directives:
//
//	new version=N                 start a fresh Machine
//	recv                          input lines "<Type> <prototext>", e.g. "Start known_entries: 1"
//	close-input                   the runtime's EOF
//	input | get key=K | keys | set key=K value=V | clear key=K | clear-all
//	call service=S handler=H [key=K] [param=P] | send service=S handler=H [key=K] [param=P] [at=MS]
//	sleep at=MS [name=N] | run [name=N] | propose id=N (value=V | code=C message=M)
//	await ids=1,2[,s1][,n:name] | await-all ids=… | output [value=V] | output-failure code=C message=M | fail message=M
//	awakeable | complete-awakeable id=A (value=V | code=C message=M)
//	send-signal target=INV name=N (value=V | code=C message=M) | cancel-invocation target=INV
//	(attach | output-of) (target=INV | workflow=W key=K | service=S [key=K] handler=H idempotency=I)
//	get-promise key=K | peek-promise key=K | complete-promise key=K (value=V | code=C message=M)
//	fail-retry-after code=C message=M delay=MS | run-retry-info id=N | unfinished-calls | replaying
//	stop-at-journal-end | closed (closed and how: a StopError's command or the error)
//
// Each directive prints what the syscall returned, then every frame the Machine wrote.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var m *Machine
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "new" {
				v := 6
				d.MaybeScanArgs(t, "version", &v)
				m = New(protocol.Version(v))
				return ""
			}
			var b strings.Builder
			res, err := step(t, m, d)
			if res != "" {
				b.WriteString(res + "\n")
			}
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			for _, f := range m.TakeOutput() {
				b.WriteString("> " + formatFrame(m.Version(), f) + "\n")
			}
			return b.String()
		})
	})
}

func step(t *testing.T, m *Machine, d *datadriven.TestData) (string, error) {
	arg := func(name string) string {
		var s string
		if d.HasArg(name) {
			d.ScanArgs(t, name, &s)
		}
		return s
	}
	num := func(name string) uint64 {
		n, _ := strconv.ParseUint(arg(name), 10, 64)
		return n
	}
	valueOrFailure := func() Result {
		if d.HasArg("code") {
			return Result{Kind: ResultFailure, Failure: Failure{Code: uint32(num("code")), Message: arg("message")}}
		}
		return Result{Kind: ResultValue, Value: []byte(arg("value"))}
	}
	switch d.Cmd {
	case "recv":
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			if err := m.Receive(parseFrame(t, line)); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("ready=%v", m.Ready()), nil
	case "close-input":
		return "", m.CloseInput()
	case "input":
		in, err := m.Input()
		return fmt.Sprintf("input id=%s key=%q body=%q headers=%v seed=%d", in.InvocationID, in.Key, in.Body, in.Headers, in.RandomSeed), err
	case "get":
		id, err := m.GetState(arg("key"))
		return describe(m, id), err
	case "keys":
		id, err := m.GetStateKeys()
		return describe(m, id), err
	case "set":
		return "", m.SetState(arg("key"), []byte(arg("value")))
	case "clear":
		return "", m.ClearState(arg("key"))
	case "clear-all":
		return "", m.ClearAllState()
	case "call":
		inv, res, err := m.Call(callRequest(arg))
		return fmt.Sprintf("%v, %v", inv, res), err
	case "send":
		inv, err := m.Send(callRequest(arg), num("at"))
		return inv.String(), err
	case "sleep":
		id, err := m.Sleep(num("at"), arg("name"))
		return id.String(), err
	case "run":
		id, exec, err := m.Run(arg("name"))
		return fmt.Sprintf("%v execute=%v", id, exec), err
	case "propose":
		return "", m.ProposeRun(CompletionID(uint32(num("id"))), valueOrFailure())
	case "awakeable":
		id, nid, err := m.Awakeable()
		return fmt.Sprintf("%s %v", id, nid), err
	case "complete-awakeable":
		return "", m.CompleteAwakeable(arg("id"), valueOrFailure())
	case "attach":
		id, err := m.AttachInvocation(invocationTarget(arg))
		return id.String(), err
	case "output-of":
		id, err := m.GetInvocationOutput(invocationTarget(arg))
		return id.String(), err
	case "get-promise":
		id, err := m.GetPromise(arg("key"))
		return id.String(), err
	case "peek-promise":
		id, err := m.PeekPromise(arg("key"))
		return id.String(), err
	case "complete-promise":
		id, err := m.CompletePromise(arg("key"), valueOrFailure())
		return id.String(), err
	case "cancel-invocation":
		return "", m.CancelInvocation(arg("target"))
	case "send-signal":
		return "", m.SendSignal(arg("target"), arg("name"), valueOrFailure())
	case "take-signal":
		id, ok := m.TakeSignal(arg("name"))
		if !ok {
			return "none", nil
		}
		return describe(m, id), nil
	case "await-all":
		p, err := m.AwaitAll(awaitIDs(arg("ids"))...)
		if err != nil {
			return "", err
		}
		return [...]string{"completed", "need-input", "cancelled"}[p], nil
	case "await":
		p, id, err := m.Await(awaitIDs(arg("ids"))...)
		if err != nil {
			return "", err
		}
		switch p {
		case Completed:
			return "completed " + describe(m, id), nil
		case NeedInput:
			return "need-input", nil
		default:
			return "cancelled", nil
		}
	case "output":
		return "", m.Output([]byte(arg("value")))
	case "output-failure":
		return "", m.OutputFailure(Failure{Code: uint32(num("code")), Message: arg("message")})
	case "fail":
		m.Fail(fmt.Errorf("%s", arg("message")), "")
		return "", nil
	case "fail-retry-after":
		delay := num("delay")
		m.FailRetryAfter(&CodedError{Code: uint16(num("code")), Err: fmt.Errorf("%s", arg("message")), Command: -1}, "", &delay)
		return "", nil
	case "run-retry-info":
		return fmt.Sprintf("%+v", m.RunRetryInfo(CompletionID(uint32(num("id"))))), nil
	case "unfinished-calls":
		return fmt.Sprint(m.UnfinishedCalls()), nil
	case "replaying":
		return fmt.Sprintf("replaying=%v", m.Replaying()), nil
	case "stop-at-journal-end":
		m.StopAtJournalEnd()
		return "", nil
	case "closed":
		var se *StopError
		if errors.As(m.Err(), &se) {
			return fmt.Sprintf("closed=%v stop at command %d", m.Closed(), se.Command), nil
		}
		return fmt.Sprintf("closed=%v err=%v", m.Closed(), m.Err()), nil
	}
	t.Fatalf("unknown directive %q", d.Cmd)
	return "", nil
}

// awaitIDs parses "1,s17,n:name": completion 1, signal 17, the signal called name.
func awaitIDs(list string) []NotificationID {
	var ids []NotificationID
	for _, s := range strings.Split(list, ",") {
		if name, ok := strings.CutPrefix(s, "n:"); ok {
			ids = append(ids, NamedSignal(name))
			continue
		}
		if sig, ok := strings.CutPrefix(s, "s"); ok {
			n, _ := strconv.Atoi(sig)
			ids = append(ids, SignalID(uint32(n)))
			continue
		}
		n, _ := strconv.Atoi(s)
		ids = append(ids, CompletionID(uint32(n)))
	}
	return ids
}

func invocationTarget(arg func(string) string) InvocationTarget {
	return InvocationTarget{ID: arg("target"), Workflow: arg("workflow"), Service: arg("service"),
		Key: arg("key"), Handler: arg("handler"), IdempotencyKey: arg("idempotency")}
}

func callRequest(arg func(string) string) CallRequest {
	return CallRequest{Service: arg("service"), Handler: arg("handler"), Key: arg("key"), Parameter: []byte(arg("param")), IdempotencyKey: arg("idempotency")}
}

func describe(m *Machine, id NotificationID) string {
	r, ok := m.Result(id)
	if !ok {
		return id.String() + " pending"
	}
	switch r.Kind {
	case ResultVoid:
		return id.String() + " = void"
	case ResultValue:
		return fmt.Sprintf("%v = value %q", id, r.Value)
	case ResultFailure:
		return fmt.Sprintf("%v = failure %d %q", id, r.Failure.Code, r.Failure.Message)
	case ResultInvocationID:
		return fmt.Sprintf("%v = invocation %s", id, r.InvocationID)
	default:
		return fmt.Sprintf("%v = keys %q", id, r.Keys)
	}
}

var typesByName = func() map[string]protocol.MessageType {
	m := map[string]protocol.MessageType{}
	for t := 0; t <= 0xFFFF; t++ {
		if mt := protocol.MessageType(t); mt.Known() {
			m[mt.String()] = mt
		}
	}
	return m
}()

func parseFrame(t *testing.T, line string) protocol.Frame {
	name, body, _ := strings.Cut(strings.TrimSpace(line), " ")
	typ, ok := typesByName[name]
	if !ok {
		t.Fatalf("unknown message %q", name)
	}
	msg, _ := protocol.NewMessage(typ)
	if err := prototext.Unmarshal([]byte(body), msg); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	payload, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Frame{Type: typ, Payload: payload}
}

func formatFrame(v protocol.Version, f protocol.Frame) string {
	ack := ""
	if f.RequestedAck {
		ack = " [ack]"
	}
	if f.Type == protocol.SuspensionType && v < protocol.V7 {
		return "Suspension(v5/v6) " + formatSuspensionV6(f.Payload)
	}
	msg, err := f.Message()
	if err != nil {
		return fmt.Sprintf("%s undecodable: %v", f.Type, err)
	}
	return strings.TrimSpace(f.Type.String() + ack + " " + text(msg))
}

func formatSuspensionV6(b []byte) string {
	fields := map[protowire.Number][]string{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		val, n := protowire.ConsumeBytes(b)
		b = b[n:]
		if typ != protowire.BytesType {
			return "bad"
		}
		if num == 3 {
			fields[num] = append(fields[num], string(val))
			continue
		}
		for len(val) > 0 {
			x, n := protowire.ConsumeVarint(val)
			val = val[n:]
			fields[num] = append(fields[num], strconv.FormatUint(x, 10))
		}
	}
	return fmt.Sprintf("waiting_completions=%v waiting_signals=%v waiting_named_signals=%v", fields[1], fields[2], fields[3])
}
