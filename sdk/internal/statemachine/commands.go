package statemachine

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// command matches msg with the next journaled command while replaying, or emits it while
// processing. eq decides equality with the journaled message (proto.Equal when nil). It returns
// the journaled message when replaying, msg otherwise.
func (m *Machine) command(call string, msg proto.Message, eq func(journaled proto.Message) bool) (proto.Message, error) {
	switch m.phase {
	case processing:
		m.emit(msg, false)
		m.commandIndex++
		if m.stopAtEnd {
			return nil, m.stop(m.commandIndex-1, "the handler continues with %s", describeMsg(msg))
		}
		return msg, nil
	case replaying:
		f := m.replay[0]
		want, err := protocol.TypeOf(msg)
		if err != nil {
			panic(err) // every command we build has a type code
		}
		if f.Type != want {
			return nil, m.fail(differs(m.commandIndex, Describe(f.Type, f.Payload), describeMsg(msg), ""))
		}
		j, err := protocol.Decode(f.Type, f.Payload)
		if err != nil {
			return nil, m.fail(violation("%v", err))
		}
		if eq == nil {
			eq = func(j proto.Message) bool { return proto.Equal(j, msg) }
		}
		if !eq(j) {
			return nil, m.fail(differs(m.commandIndex, describeMsg(j), describeMsg(msg),
				fmt.Sprintf("%s differs: journal {%s}, handler {%s}", want, text(j), text(msg))))
		}
		m.popReplay()
		return j, nil
	default:
		return nil, m.stateError(call)
	}
}

// text formats msg as one-line prototext with canonical spacing (prototext randomizes
// whitespace on purpose): one space after ':' and between fields, none elsewhere.
func text(msg proto.Message) string {
	in := prototext.MarshalOptions{}.Format(msg)
	var b strings.Builder
	quoted, space := false, false
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(in) {
				i++
				b.WriteByte(in[i])
			} else if c == '"' {
				quoted = false
			}
			continue
		case c == ' ' || c == '\n':
			space = true
			continue
		}
		if space && b.Len() > 0 && c != '}' && !strings.HasSuffix(b.String(), "{") && !strings.HasSuffix(b.String(), ":") {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
		if c == ':' {
			b.WriteByte(' ')
		}
		if c == '"' {
			quoted = true
		}
	}
	return b.String()
}

func (m *Machine) allocCompletion() uint32 {
	id := m.nextCompletion
	m.nextCompletion++
	return id
}

// GetState reads key: from the local view when it knows the answer (GetEagerStateCommand, result
// ready at once), else lazily (GetLazyStateCommand, completed by the runtime). Await the returned id;
// its Result is ResultVoid when the key is absent.
func (m *Machine) GetState(key string) (NotificationID, error) {
	id := m.allocCompletion()
	switch m.phase {
	case processing:
		value, present, known := m.state.get(key)
		if !known {
			_, err := m.command("GetState", &pb.GetLazyStateCommandMessage{Key: []byte(key), ResultCompletionId: id}, nil)
			return CompletionID(id), err
		}
		cmd := &pb.GetEagerStateCommandMessage{Key: []byte(key)}
		r := Result{Kind: ResultVoid}
		if present {
			cmd.Result = &pb.GetEagerStateCommandMessage_Value{Value: &pb.Value{Content: value}}
			r = Result{Kind: ResultValue, Value: value}
		} else {
			cmd.Result = &pb.GetEagerStateCommandMessage_Void{Void: &pb.Void{}}
		}
		m.notify(CompletionID(id), r)
		_, err := m.command("GetState", cmd, nil)
		return CompletionID(id), err
	case replaying:
		return CompletionID(id), m.replayGetState(key, id)
	default:
		return NotificationID{}, m.stateError("GetState")
	}
}

// replayGetState accepts either form from the journal: the first attempt's eager view decided.
func (m *Machine) replayGetState(key string, id uint32) error {
	f := m.replay[0]
	j, err := protocol.Decode(f.Type, f.Payload)
	if err != nil {
		return m.fail(violation("%v", err))
	}
	switch c := j.(type) {
	case *pb.GetEagerStateCommandMessage:
		if string(c.Key) != key {
			return m.fail(differs(m.commandIndex, describeMsg(c), describeMsg(&pb.GetEagerStateCommandMessage{Key: []byte(key)}), ""))
		}
		switch r := c.Result.(type) {
		case *pb.GetEagerStateCommandMessage_Value:
			m.notify(CompletionID(id), Result{Kind: ResultValue, Value: r.Value.GetContent()})
		case *pb.GetEagerStateCommandMessage_Void:
			m.notify(CompletionID(id), Result{Kind: ResultVoid})
		default:
			return m.fail(violation("GetEagerStateCommand without a result"))
		}
	case *pb.GetLazyStateCommandMessage:
		if string(c.Key) != key || c.ResultCompletionId != id {
			return m.fail(differs(m.commandIndex, describeMsg(c), describeMsg(&pb.GetLazyStateCommandMessage{Key: []byte(key)}),
				fmt.Sprintf("GetLazyStateCommand: journal {%s}, handler key %q completion %d", text(c), key, id)))
		}
	default:
		return m.fail(differs(m.commandIndex, describeMsg(j), describeMsg(&pb.GetLazyStateCommandMessage{Key: []byte(key)}), ""))
	}
	m.popReplay()
	return nil
}

// GetStateKeys lists the state keys; await the returned id, its Result is ResultStateKeys.
func (m *Machine) GetStateKeys() (NotificationID, error) {
	id := m.allocCompletion()
	switch m.phase {
	case processing:
		keys, known := m.state.keys()
		if !known {
			_, err := m.command("GetStateKeys", &pb.GetLazyStateKeysCommandMessage{ResultCompletionId: id}, nil)
			return CompletionID(id), err
		}
		sk := &pb.StateKeys{}
		for _, k := range keys {
			sk.Keys = append(sk.Keys, []byte(k))
		}
		m.notify(CompletionID(id), Result{Kind: ResultStateKeys, Keys: keys})
		_, err := m.command("GetStateKeys", &pb.GetEagerStateKeysCommandMessage{Value: sk}, nil)
		return CompletionID(id), err
	case replaying:
		f := m.replay[0]
		j, err := protocol.Decode(f.Type, f.Payload)
		if err != nil {
			return NotificationID{}, m.fail(violation("%v", err))
		}
		switch c := j.(type) {
		case *pb.GetEagerStateKeysCommandMessage:
			m.notify(CompletionID(id), Result{Kind: ResultStateKeys, Keys: keysFromPB(c.Value)})
		case *pb.GetLazyStateKeysCommandMessage:
			if c.ResultCompletionId != id {
				return NotificationID{}, m.fail(mismatch(m.commandIndex, "GetLazyStateKeysCommand completion: journal %d, handler %d", c.ResultCompletionId, id))
			}
		default:
			return NotificationID{}, m.fail(differs(m.commandIndex, describeMsg(j), "GetStateKeys", ""))
		}
		m.popReplay()
		return CompletionID(id), nil
	default:
		return NotificationID{}, m.stateError("GetStateKeys")
	}
}

// SetState journals key = value.
func (m *Machine) SetState(key string, value []byte) error {
	m.state.set(key, value)
	_, err := m.command("SetState", &pb.SetStateCommandMessage{Key: []byte(key), Value: &pb.Value{Content: value}}, nil)
	return err
}

// ClearState journals the removal of key.
func (m *Machine) ClearState(key string) error {
	m.state.clear(key)
	_, err := m.command("ClearState", &pb.ClearStateCommandMessage{Key: []byte(key)}, nil)
	return err
}

// ClearAllState journals the removal of every key.
func (m *Machine) ClearAllState() error {
	m.state.clearAll()
	_, err := m.command("ClearAllState", &pb.ClearAllStateCommandMessage{}, nil)
	return err
}

// Sleep journals a timer firing at wakeUpMillis (ms since the Unix epoch). Replays compare only
// the name, as the wake-up time is computed from the clock.
func (m *Machine) Sleep(wakeUpMillis uint64, name string) (NotificationID, error) {
	id := m.allocCompletion()
	msg := &pb.SleepCommandMessage{WakeUpTime: wakeUpMillis, ResultCompletionId: id, Name: name}
	_, err := m.command("Sleep", msg, func(j proto.Message) bool {
		return j.(*pb.SleepCommandMessage).Name == name
	})
	return CompletionID(id), err
}

// CallRequest is the target and payload of a call or send.
type CallRequest struct {
	Service, Handler, Key string
	Parameter             []byte
	Headers               []Header
	IdempotencyKey        string
	Name                  string
}

func (c CallRequest) headers() []*pb.Header {
	var hs []*pb.Header
	for _, h := range c.Headers {
		hs = append(hs, &pb.Header{Key: h.Key, Value: h.Value})
	}
	return hs
}

func (c CallRequest) idempotencyKey() *string {
	if c.IdempotencyKey == "" {
		return nil
	}
	return &c.IdempotencyKey
}

// Call journals a request-response call. The first id completes with the callee's invocation id,
// the second with its result (value or terminal failure).
func (m *Machine) Call(c CallRequest) (invocationID, result NotificationID, err error) {
	inv, res := m.allocCompletion(), m.allocCompletion()
	msg := &pb.CallCommandMessage{
		ServiceName:                 c.Service,
		HandlerName:                 c.Handler,
		Parameter:                   c.Parameter,
		Headers:                     c.headers(),
		Key:                         c.Key,
		IdempotencyKey:              c.idempotencyKey(),
		InvocationIdNotificationIdx: inv,
		ResultCompletionId:          res,
		Name:                        c.Name,
	}
	if _, err = m.command("Call", msg, nil); err == nil {
		m.calls = append(m.calls, call{invocationID: inv, result: res})
	}
	return CompletionID(inv), CompletionID(res), err
}

// call is a request-response call: the completion ids of its callee's invocation id and result.
type call struct{ invocationID, result uint32 }

// UnfinishedCalls lists, in call order, the invocation-id notification of every call whose
// result has not arrived: the children a cancellation must reach (the shared core's implicit
// cancellation cancels them; one-way sends are left alone, as its default).
func (m *Machine) UnfinishedCalls() []NotificationID {
	var out []NotificationID
	for _, c := range m.calls {
		if !m.IsCompleted(CompletionID(c.result)) {
			out = append(out, CompletionID(c.invocationID))
		}
	}
	return out
}

// Send journals a one-way call, invoked at invokeMillis (ms since the Unix epoch; 0 = now). The
// returned id completes with the callee's invocation id. Replays ignore the invoke time.
func (m *Machine) Send(c CallRequest, invokeMillis uint64) (invocationID NotificationID, err error) {
	inv := m.allocCompletion()
	msg := &pb.OneWayCallCommandMessage{
		ServiceName:                 c.Service,
		HandlerName:                 c.Handler,
		Parameter:                   c.Parameter,
		InvokeTime:                  invokeMillis,
		Headers:                     c.headers(),
		Key:                         c.Key,
		IdempotencyKey:              c.idempotencyKey(),
		InvocationIdNotificationIdx: inv,
		Name:                        c.Name,
	}
	_, err = m.command("Send", msg, func(j proto.Message) bool {
		jc := proto.Clone(j).(*pb.OneWayCallCommandMessage)
		jc.InvokeTime = invokeMillis
		return proto.Equal(jc, msg)
	})
	return CompletionID(inv), err
}

// Run journals a side effect. execute reports whether the handler must run the closure and then
// call ProposeRun (in the processing phase); it is false when the journal already holds the result
// (a replay), which the handler gets by awaiting the returned id.
func (m *Machine) Run(name string) (id NotificationID, execute bool, err error) {
	c := m.allocCompletion()
	id = CompletionID(c)
	if m.phase == replaying && len(m.replay) == 1 {
		m.retriedRun = c // checked by the command below: a RunCommand, or a mismatch
	}
	if _, err := m.command("Run", &pb.RunCommandMessage{ResultCompletionId: c, Name: name}, nil); err != nil {
		return id, false, err
	}
	_, done := m.notes[id]
	_, proposed := m.pendingRuns[c]
	// As in the shared core, a run without a journaled result executes even while replaying: with
	// RunAsync, later commands can be journaled before a run's result, and an attempt that ended
	// (suspended) before proposing it leaves a RunCommand without result inside the journal.
	execute = !done && !proposed
	if execute && m.stopAtEnd { // replaying: the journal has the command, not the result
		return id, false, m.stop(m.commandIndex-1, "the handler would execute Run %q, whose result the journal does not have", name)
	}
	if execute {
		m.executing[c] = true
	}
	return id, execute, nil
}

// ProposeRun sends the outcome of a side effect (ResultValue or ResultFailure). The runtime stores
// it and completes id: with RunCompletionNotification before V7, with ProposeRunCompletionAck
// (requested through the header flag) from V7 on.
func (m *Machine) ProposeRun(id NotificationID, r Result) error {
	if m.phase != processing {
		return m.stateError("ProposeRun")
	}
	delete(m.executing, id.Completion)
	msg := &pb.ProposeRunCompletionMessage{ResultCompletionId: id.Completion}
	switch r.Kind {
	case ResultValue:
		v := r.Value
		if v == nil {
			v = []byte{}
		}
		msg.Result = &pb.ProposeRunCompletionMessage_Value{Value: v}
	case ResultFailure:
		msg.Result = &pb.ProposeRunCompletionMessage_Failure{Failure: m.failurePB(r.Failure)}
	default:
		panic("statemachine: ProposeRun takes a value or a failure")
	}
	v7 := m.version >= protocol.V7
	if v7 {
		m.pendingRuns[id.Completion] = r
	}
	m.emit(msg, v7)
	return nil
}

// Output journals the handler's result and ends the invocation.
func (m *Machine) Output(value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return m.output(&pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: value}}})
}

// OutputFailure journals a terminal failure as the result and ends the invocation; the runtime
// does not retry it.
func (m *Machine) OutputFailure(f Failure) error {
	return m.output(&pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Failure{Failure: m.failurePB(f)}})
}

func (m *Machine) output(msg *pb.OutputCommandMessage) error {
	if _, err := m.command("Output", msg, nil); err != nil {
		return err
	}
	m.emit(&pb.EndMessage{}, false)
	m.close(nil)
	return nil
}
