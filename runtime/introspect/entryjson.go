package introspect

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// entryJSON renders a journal entry as restate-server's sys_journal.entry_json: the serde JSON
// of its journal_v2 Entry ({"Command":{"Sleep":{"wake_up_time":…,"completion_id":1,"name":""}}},
// {"Notification":{"Completion":{"Run":{"completion_id":1,"result":{"Success":[…]}}}}}), which
// the official CLI's `invocations describe` reads for each entry's details. Bytes are arrays of
// numbers, as serde writes them. Entries whose serde shape needs what the journal does not hold
// (calls carry the callee's full request) are not rendered: ok is false.
func entryJSON(msg proto.Message) (out string, ok bool) {
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
