package command

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
)

// FuzzDecode decodes arbitrary bytes as a log entry. Properties: no panic; an accepted batch
// has a known version and only valid commands, and re-encoding is stable (Encode∘Decode∘Encode
// gives the same bytes as Encode, and decodes to the same batch). Seeds live in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, b := range fuzzBatches() {
		data, err := Encode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xc1, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(data)
		if err != nil {
			return
		}
		if b.Version != FormatVersion {
			t.Fatalf("accepted version %d", b.Version)
		}
		for i, c := range b.Commands {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted invalid command %d: %v", i, err)
			}
		}
		enc, err := Encode(b)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		b2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		enc2, err := Encode(b2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding unstable: %x vs %x (%v)", enc, enc2, err)
		}
	})
}

// FuzzRoundTrip builds a valid batch of every command kind from fuzzed fields and checks
// Decode∘Encode is the identity.
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(1700000000000), uint64(42), []byte{1, 2, 3}, "Counter", "a", []byte("1"), uint32(3), uint16(418))
	f.Add(int64(-1), ^uint64(0), []byte{}, "", "", []byte{}, ^uint32(0), uint16(0))
	f.Fuzz(func(t *testing.T, now int64, pk uint64, uuid []byte, name, key string, data []byte, n uint32, code uint16) {
		var u [16]byte
		copy(u[:], uuid)
		id := ids.InvocationID{PartitionKey: ids.PartitionKey(pk), UUID: u}
		if len(data) == 0 {
			data = nil // omitempty: an empty byte slice decodes as nil
		}
		in := Batch{Version: FormatVersion, Time: now, Commands: fuzzCommands(id, name, key, data, n, code)}
		enc, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Decode(enc)
		if err != nil {
			t.Fatalf("valid batch rejected: %v", err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
		}
	})
}

func fuzzCommands(id ids.InvocationID, name, key string, data []byte, n uint32, code uint16) []Command {
	var headers []Header
	if name != "" {
		headers = []Header{{Key: name, Value: key}}
	}
	target := Target{Service: name, Handler: key, Key: key, ServiceType: ServiceType(n%3 + 1), HandlerType: HandlerType(n % 4)}
	inv := &Invocation{ID: id, Target: target, Input: data, Headers: headers, IdempotencyKey: key, ExecutionTime: int64(n)}
	if n%2 == 1 {
		inv.Caller = &Caller{ID: id, CompletionID: n}
	}
	failure := Failure{Code: code, Message: name}
	var call *CallResolution
	if n%2 == 0 {
		call = &CallResolution{ServiceType: ServiceType(n % 4), HandlerType: HandlerType(n % 3)}
	}
	var suspend Suspend
	suspend.ID = id
	if n > 0 {
		suspend.WaitingCompletions, suspend.WaitingSignals = []uint32{n}, []uint32{1, n}
	}
	if name != "" {
		suspend.WaitingNamedSignals = []string{name}
	}
	return []Command{
		{Kind: KindInvoke, Invoke: inv},
		{Kind: KindAppendEntry, AppendEntry: &AppendEntry{ID: id, CommandIndex: n, Entry: Entry{Type: code, Payload: data}, Call: call}},
		{Kind: KindEnd, End: &End{ID: id}},
		{Kind: KindSuspend, Suspend: &suspend},
		{Kind: KindDeliver, Deliver: &Deliver{Producer: n, Seq: uint64(n) << 3, Message: OutboxMessage{Invoke: inv}}},
		{Kind: KindDeliver, Deliver: &Deliver{Producer: n, Seq: 1, Message: OutboxMessage{Complete: &Completion{ID: id, CompletionID: n, Result: Result{Value: data}}}}},
		{Kind: KindDeliver, Deliver: &Deliver{Message: OutboxMessage{Complete: &Completion{ID: id, Result: Result{Failure: &failure}}}}},
		{Kind: KindTruncateOutbox, TruncateOutbox: &TruncateOutbox{UpTo: uint64(n)}},
		{Kind: KindFail, Fail: &Fail{ID: id, Failure: failure}},
		{Kind: KindFireTimer, FireTimer: &FireTimer{ID: id, CompletionID: n, WakeTime: int64(code)}},
	}
}

func fuzzBatches() []Batch {
	id := ids.NewInvocationID(42, [16]byte{1, 2, 3})
	return []Batch{
		{Time: 1700000000000, Commands: fuzzCommands(id, "Counter", "a", []byte("1"), 3, 418)},
		{Time: 1, Commands: fuzzCommands(id, "", "", nil, 0, 0)},
		{Time: 0},
	}
}
