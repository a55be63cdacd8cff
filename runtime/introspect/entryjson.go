package introspect

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// entryJSON renders a journal entry as restate-server's sys_journal.entry_json: the serde JSON
// of its journal_v2 Entry ({"Command":{"Sleep":{"wake_up_time":…,"completion_id":1,"name":""}}},
// {"Notification":{"Completion":{"Run":{"completion_id":1,"result":{"Success":[…]}}}}}), which
// the official CLI's `invocations describe` reads for each entry's details. Bytes are arrays of
// numbers, as serde writes them. A call's full request comes from what the state machine made
// of it (call; nil for a call journaled before that was kept). Entries not rendered: ok is false.
func entryJSON(msg proto.Message, call *storage.CallRecord) (out string, ok bool) {
	var kind, name string
	var body obj
	switch m := msg.(type) {
	case *pb.InputCommandMessage:
		headers := make([]obj, 0, len(m.GetHeaders()))
		for _, h := range m.GetHeaders() {
			headers = append(headers, obj{{"name", h.GetKey()}, {"value", h.GetValue()}})
		}
		kind, name, body = "Command", "Input", obj{{"headers", headers}, {"payload", byteList(m.GetValue().GetContent())}, {"name", m.GetName()}}
	case *pb.OutputCommandMessage:
		var result obj
		if f := m.GetFailure(); f != nil {
			result = obj{{"Failure", failureObj(f)}}
		} else {
			result = obj{{"Success", byteList(m.GetValue().GetContent())}}
		}
		kind, name, body = "Command", "Output", obj{{"result", result}, {"name", m.GetName()}}
	case *pb.GetLazyStateCommandMessage:
		kind, name, body = "Command", "GetLazyState", obj{{"key", string(m.GetKey())}, {"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.SetStateCommandMessage:
		kind, name, body = "Command", "SetState", obj{{"key", string(m.GetKey())}, {"value", byteList(m.GetValue().GetContent())}, {"name", m.GetName()}}
	case *pb.ClearStateCommandMessage:
		kind, name, body = "Command", "ClearState", obj{{"key", string(m.GetKey())}, {"name", m.GetName()}}
	case *pb.ClearAllStateCommandMessage:
		kind, name, body = "Command", "ClearAllState", obj{{"name", m.GetName()}}
	case *pb.GetLazyStateKeysCommandMessage:
		kind, name, body = "Command", "GetLazyStateKeys", obj{{"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.GetEagerStateCommandMessage:
		var result any = "Void"
		if v := m.GetValue(); v != nil {
			result = obj{{"Success", byteList(v.GetContent())}}
		}
		kind, name, body = "Command", "GetEagerState", obj{{"key", string(m.GetKey())}, {"result", result}, {"name", m.GetName()}}
	case *pb.GetEagerStateKeysCommandMessage:
		keys := []string{}
		for _, k := range m.GetValue().GetKeys() {
			keys = append(keys, string(k))
		}
		kind, name, body = "Command", "GetEagerStateKeys", obj{{"state_keys", keys}, {"name", m.GetName()}}
	case *pb.GetPromiseCommandMessage:
		kind, name, body = "Command", "GetPromise", obj{{"key", m.GetKey()}, {"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.PeekPromiseCommandMessage:
		kind, name, body = "Command", "PeekPromise", obj{{"key", m.GetKey()}, {"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.CompletePromiseCommandMessage:
		var value obj
		if f := m.GetCompletionFailure(); f != nil {
			value = obj{{"Failure", failureObj(f)}}
		} else {
			value = obj{{"Success", byteList(m.GetCompletionValue().GetContent())}}
		}
		kind, name, body = "Command", "CompletePromise", obj{{"key", m.GetKey()}, {"value", value}, {"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.SleepCommandMessage:
		kind, name, body = "Command", "Sleep", obj{{"wake_up_time", m.GetWakeUpTime()}, {"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.RunCommandMessage:
		kind, name, body = "Command", "Run", obj{{"completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.CallCommandMessage:
		if call == nil {
			return "", false
		}
		req := callRequest(call, m.GetServiceName(), m.GetKey(), m.GetHandlerName(), m.GetScope(), m.GetParameter(), m.GetHeaders(), m.IdempotencyKey)
		kind, name, body = "Command", "Call", obj{{"request", req}, {"invocation_id_completion_id", m.GetInvocationIdNotificationIdx()},
			{"result_completion_id", m.GetResultCompletionId()}, {"name", m.GetName()}}
	case *pb.OneWayCallCommandMessage:
		if call == nil {
			return "", false
		}
		req := callRequest(call, m.GetServiceName(), m.GetKey(), m.GetHandlerName(), m.GetScope(), m.GetParameter(), m.GetHeaders(), m.IdempotencyKey)
		kind, name, body = "Command", "OneWayCall", obj{{"request", req}, {"invoke_time", m.GetInvokeTime()},
			{"invocation_id_completion_id", m.GetInvocationIdNotificationIdx()}, {"name", m.GetName()}}
	case *pb.GetLazyStateCompletionNotificationMessage:
		var result any = "Void"
		if v := m.GetValue(); v != nil {
			result = obj{{"Success", byteList(v.GetContent())}}
		}
		return completionJSON("GetLazyState", obj{{"completion_id", m.GetCompletionId()}, {"result", result}})
	case *pb.GetLazyStateKeysCompletionNotificationMessage:
		keys := []string{}
		for _, k := range m.GetStateKeys().GetKeys() {
			keys = append(keys, string(k))
		}
		return completionJSON("GetLazyStateKeys", obj{{"completion_id", m.GetCompletionId()}, {"state_keys", keys}})
	case *pb.GetPromiseCompletionNotificationMessage:
		return completionJSON("GetPromise", obj{{"completion_id", m.GetCompletionId()}, {"result", successOrFailure(m.GetValue(), m.GetFailure(), false)}})
	case *pb.PeekPromiseCompletionNotificationMessage:
		return completionJSON("PeekPromise", obj{{"completion_id", m.GetCompletionId()}, {"result", successOrFailure(m.GetValue(), m.GetFailure(), true)}})
	case *pb.CompletePromiseCompletionNotificationMessage:
		return completionJSON("CompletePromise", obj{{"completion_id", m.GetCompletionId()}, {"result", successOrFailure(nil, m.GetFailure(), true)}})
	case *pb.SleepCompletionNotificationMessage:
		return completionJSON("Sleep", obj{{"completion_id", m.GetCompletionId()}})
	case *pb.CallInvocationIdCompletionNotificationMessage:
		return completionJSON("CallInvocationId", obj{{"completion_id", m.GetCompletionId()}, {"invocation_id", m.GetInvocationId()}})
	case *pb.CallCompletionNotificationMessage:
		return completionJSON("Call", obj{{"completion_id", m.GetCompletionId()}, {"result", successOrFailure(m.GetValue(), m.GetFailure(), false)}})
	case *pb.RunCompletionNotificationMessage:
		return completionJSON("Run", obj{{"completion_id", m.GetCompletionId()}, {"result", successOrFailure(m.GetValue(), m.GetFailure(), false)}})
	default:
		return "", false
	}
	return marshal(obj{{kind, obj{{name, body}}}})
}

// callRequest is restate-server's CallRequest of a call: the callee invocation and target as the
// state machine resolved them, the trace's span context (zeros while tracing is off), the
// request's parameter, headers and idempotency key, and the retention the callee got.
func callRequest(call *storage.CallRecord, service, key, handler, scope string, param []byte, headers []*pb.Header, idem *string) obj {
	var traceID [16]byte
	var spanID [8]byte
	var flags uint8
	var state string
	if tr := call.Trace; tr != nil {
		traceID, spanID, flags, state = tr.TraceID, tr.Parent, tr.Flags, tr.State
	}
	span := obj{{"span_context", obj{{"trace_id", byteList(traceID[:])}, {"span_id", byteList(spanID[:])},
		{"trace_flags", flags}, {"is_remote", false}, {"trace_state", state}}}, {"cause", nil}}
	hs := make([]obj, 0, len(headers))
	for _, h := range headers {
		hs = append(hs, obj{{"name", h.GetKey()}, {"value", h.GetValue()}})
	}
	var ret command.Retention
	if call.Retention != nil {
		ret = *call.Retention
	}
	return obj{{"invocation_id", call.Callee.String()},
		{"invocation_target", invocationTarget(call, service, key, handler, scope)},
		{"span_context", span}, {"parameter", byteList(param)}, {"headers", hs}, {"idempotency_key", idem},
		{"completion_retention_duration", duration(ret.Completion)}, {"journal_retention_duration", duration(ret.Journal)}}
}

// invocationTarget is restate-server's InvocationTarget enum of a callee.
func invocationTarget(call *storage.CallRecord, service, key, handler, scope string) obj {
	var sc any
	if scope != "" {
		sc = scope
	}
	switch call.ServiceType {
	case command.VirtualObject:
		ty := "Exclusive"
		if call.HandlerType == command.Shared {
			ty = "Shared"
		}
		return obj{{"VirtualObject", obj{{"name", service}, {"key", key}, {"handler", handler}, {"handler_ty", ty}, {"scope", sc}}}}
	case command.Workflow:
		ty := "Workflow"
		if call.HandlerType == command.Shared {
			ty = "Shared"
		}
		return obj{{"Workflow", obj{{"name", service}, {"key", key}, {"handler", handler}, {"handler_ty", ty}, {"scope", sc}}}}
	}
	return obj{{"Service", obj{{"name", service}, {"handler", handler}, {"scope", sc}}}}
}

// duration is a Rust std::time::Duration as serde writes it, from milliseconds.
func duration(ms int64) obj {
	return obj{{"secs", ms / 1000}, {"nanos", (ms % 1000) * 1_000_000}}
}

// entryLiteJSON renders a journal entry as restate-server's sys_journal.entry_lite_json: the
// serde JSON of its EntryLite (restate_types::journal_v2::lite), the entry without payloads:
// {"Command":{"Input":{}}}, {"Command":{"Sleep":{"wake_up_time":…,"completion_id":1}}},
// {"Notification":{"ty":{"Completion":"Call"},"id":{"CompletionId":2},"result":"Success"}}.
func entryLiteJSON(msg proto.Message, call *storage.CallRecord) (string, bool) {
	cmd := func(name string, body obj) (string, bool) { return marshal(obj{{"Command", obj{{name, body}}}}) }
	named := func(body obj, name string) obj { // a name serde skips when empty
		if name != "" {
			body = append(body, kv{"name", name})
		}
		return body
	}
	switch m := msg.(type) {
	case *pb.InputCommandMessage:
		return cmd("Input", obj{})
	case *pb.OutputCommandMessage:
		return cmd("Output", obj{{"result", successOrFailureLite(m.GetFailure() != nil)}})
	case *pb.GetLazyStateCommandMessage:
		return cmd("GetLazyState", obj{{"key", string(m.GetKey())}, {"completion_id", m.GetResultCompletionId()}})
	case *pb.SetStateCommandMessage:
		return cmd("SetState", obj{{"key", string(m.GetKey())}})
	case *pb.ClearStateCommandMessage:
		return cmd("ClearState", obj{{"key", string(m.GetKey())}})
	case *pb.ClearAllStateCommandMessage:
		return cmd("ClearAllState", obj{})
	case *pb.GetLazyStateKeysCommandMessage:
		return cmd("GetLazyStateKeys", obj{{"completion_id", m.GetResultCompletionId()}})
	case *pb.GetEagerStateCommandMessage:
		result := "Void"
		if m.GetValue() != nil {
			result = "Success"
		}
		return cmd("GetEagerState", obj{{"key", string(m.GetKey())}, {"result", result}})
	case *pb.GetEagerStateKeysCommandMessage:
		return cmd("GetEagerStateKeys", obj{})
	case *pb.GetPromiseCommandMessage:
		return cmd("GetPromise", obj{{"key", m.GetKey()}, {"completion_id", m.GetResultCompletionId()}})
	case *pb.PeekPromiseCommandMessage:
		return cmd("PeekPromise", obj{{"key", m.GetKey()}, {"completion_id", m.GetResultCompletionId()}})
	case *pb.CompletePromiseCommandMessage:
		return cmd("CompletePromise", obj{{"key", m.GetKey()}, {"completion_id", m.GetResultCompletionId()}})
	case *pb.SleepCommandMessage:
		return cmd("Sleep", named(obj{{"wake_up_time", m.GetWakeUpTime()}, {"completion_id", m.GetResultCompletionId()}}, m.GetName()))
	case *pb.RunCommandMessage:
		return cmd("Run", named(obj{{"completion_id", m.GetResultCompletionId()}}, m.GetName()))
	case *pb.CallCommandMessage:
		if call == nil {
			return "", false
		}
		return cmd("Call", named(obj{{"invocation_id", call.Callee.String()},
			{"invocation_target", invocationTarget(call, m.GetServiceName(), m.GetKey(), m.GetHandlerName(), m.GetScope())},
			{"invocation_id_completion_id", m.GetInvocationIdNotificationIdx()}, {"result_completion_id", m.GetResultCompletionId()}}, m.GetName()))
	case *pb.OneWayCallCommandMessage:
		if call == nil {
			return "", false
		}
		return cmd("OneWayCall", named(obj{{"invocation_id", call.Callee.String()},
			{"invocation_target", invocationTarget(call, m.GetServiceName(), m.GetKey(), m.GetHandlerName(), m.GetScope())},
			{"invoke_time", m.GetInvokeTime()}, {"invocation_id_completion_id", m.GetInvocationIdNotificationIdx()}}, m.GetName()))
	case *pb.SendSignalCommandMessage:
		var id obj
		if n, ok := m.GetSignalId().(*pb.SendSignalCommandMessage_Name); ok {
			id = obj{{"Name", n.Name}}
		} else {
			id = obj{{"Index", m.GetIdx()}}
		}
		result := "Void"
		switch {
		case m.GetFailure() != nil:
			result = "Failure"
		case m.GetValue() != nil:
			result = "Success"
		}
		return cmd("SendSignal", obj{{"target_invocation_id", m.GetTargetInvocationId()}, {"signal_id", id}, {"result", result}})
	case *pb.CompleteAwakeableCommandMessage:
		return cmd("CompleteAwakeable", obj{{"id", m.GetAwakeableId()}, {"result", successOrFailureLite(m.GetFailure() != nil)}})
	case *pb.AttachInvocationCommandMessage:
		if m.GetInvocationId() == "" { // an idempotent request's or a workflow's target: not rendered
			return "", false
		}
		return cmd("AttachInvocation", obj{{"target", obj{{"InvocationId", m.GetInvocationId()}}}, {"completion_id", m.GetResultCompletionId()}})
	case *pb.GetInvocationOutputCommandMessage:
		if m.GetInvocationId() == "" {
			return "", false
		}
		return cmd("GetInvocationOutput", obj{{"target", obj{{"InvocationId", m.GetInvocationId()}}}, {"completion_id", m.GetResultCompletionId()}})
	}
	return notificationLiteJSON(msg)
}

func successOrFailureLite(failed bool) string {
	if failed {
		return "Failure"
	}
	return "Success"
}

// notificationLiteJSON is a notification's NotificationLite: its type, id and which result it
// carries, read from the message's fields (every notification has completion_id, or a signal's
// idx or name, and a result oneof).
func notificationLiteJSON(msg proto.Message) (string, bool) {
	t, isSignal := "", false
	switch msg.(type) {
	case *pb.SignalNotificationMessage:
		isSignal = true
	default:
		name := string(msg.ProtoReflect().Descriptor().Name())
		t = trimSuffix(trimSuffix(name, "NotificationMessage"), "Completion")
		if t == name {
			return "", false
		}
	}
	fields := msg.ProtoReflect()
	desc := fields.Descriptor().Fields()
	set := func(name string) (protoreflect.FieldDescriptor, bool) {
		f := desc.ByName(protoreflect.Name(name))
		return f, f != nil && fields.Has(f)
	}
	var id obj
	if f := desc.ByName("completion_id"); f != nil {
		id = obj{{"CompletionId", fields.Get(f).Uint()}}
	} else if f, ok := set("name"); ok {
		id = obj{{"SignalName", fields.Get(f).String()}}
	} else if f := desc.ByName("idx"); f != nil {
		id = obj{{"SignalIndex", fields.Get(f).Uint()}}
	} else {
		return "", false
	}
	result := "Void"
	if o := desc.ByName("void"); o != nil && o.ContainingOneof() != nil {
		if f := fields.WhichOneof(o.ContainingOneof()); f != nil {
			result = liteResult(f)
		}
	} else if o := desc.ByName("value"); o != nil && o.ContainingOneof() != nil {
		if f := fields.WhichOneof(o.ContainingOneof()); f != nil {
			result = liteResult(f)
		}
	} else if f := desc.ByName("invocation_id"); f != nil {
		result = "InvocationId"
	} else if f := desc.ByName("state_keys"); f != nil {
		result = "StateKeys"
	}
	var ty any = obj{{"Completion", t}}
	if isSignal {
		ty = "Signal"
	}
	return marshal(obj{{"Notification", obj{{"ty", ty}, {"id", id}, {"result", result}}}})
}

// liteResult names the result oneof field f as NotificationResultLite does.
func liteResult(f protoreflect.FieldDescriptor) string {
	switch f.Name() {
	case "value":
		return "Success"
	case "failure":
		return "Failure"
	case "state_keys":
		return "StateKeys"
	case "invocation_id":
		return "InvocationId"
	}
	return "Void"
}

func completionJSON(name string, body obj) (string, bool) {
	return marshal(obj{{"Notification", obj{{"Completion", obj{{name, body}}}}}})
}

// successOrFailure is a result enum: {"Failure":{…}}, {"Success":[…]}, or "Void" when voidable
// and there is no value.
func successOrFailure(v *pb.Value, f *pb.Failure, voidable bool) any {
	switch {
	case f != nil:
		return obj{{"Failure", failureObj(f)}}
	case v == nil && voidable:
		return "Void"
	}
	return obj{{"Success", byteList(v.GetContent())}}
}

func failureObj(f *pb.Failure) obj {
	return obj{{"code", f.GetCode()}, {"message", f.GetMessage()}}
}

func marshal(o obj) (string, bool) {
	b, err := json.Marshal(o)
	return string(b), err == nil
}

// byteList is bytes as serde writes them: an array of numbers.
type byteList []byte

func (b byteList) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, c := range b {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(itoa(int(c)))
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d [3]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(d[i:])
}

// obj is a JSON object whose keys keep their order (serde writes a struct's fields in order).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
