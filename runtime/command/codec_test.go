package command

import (
	"errors"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/ids"
)

func TestBatchRoundTrip(t *testing.T) {
	id := ids.NewInvocationID(42, [16]byte{1, 2, 3})
	in := Batch{Time: 1700000000000, Commands: []Command{
		{Kind: KindInvoke, Invoke: &Invocation{ID: id, Target: Target{Service: "Counter", Handler: "add", Key: "a", ServiceType: VirtualObject, HandlerType: Exclusive}, Input: []byte("1"), Headers: []Header{{"x", "y"}}}},
		{Kind: KindAppendEntry, AppendEntry: &AppendEntry{ID: id, CommandIndex: 1, Entry: Entry{Type: 0x0403, Payload: []byte{1}}}},
		{Kind: KindDeliver, Deliver: &Deliver{Producer: 3, Seq: 9, Message: OutboxMessage{Complete: &Completion{ID: id, CompletionID: 2, Result: Result{Failure: &Failure{Code: 418, Message: "teapot"}}}}}},
		{Kind: KindEnd, End: &End{ID: id}},
		{Kind: KindSignal, Signal: &Signal{ID: id, Index: 17, Result: Result{Value: []byte("v")}}},
		{Kind: KindDeliver, Deliver: &Deliver{Producer: 1, Seq: 2, Message: OutboxMessage{Signal: &Signal{ID: id, Name: "go", Void: true}}}},
		{Kind: KindEnd, End: &End{ID: id, Commands: new(uint32(3))}},
		{Kind: KindIngest, Ingest: &Ingest{Subscription: "sub_1", Topic: "orders", Partition: 2, From: IngestFromUnknown, Records: []IngestRecord{
			{Offset: 7, Invoke: Invocation{ID: id, Target: Target{Service: "Orders", Handler: "add", Key: "k", ServiceType: VirtualObject, HandlerType: Exclusive}, Input: []byte("1")}},
			{Offset: 9, Skip: "key not UTF-8"},
		}}},
		{Kind: KindJournalEvent, JournalEvent: &JournalEvent{ID: id, TransientError: &TransientError{Code: 570, Message: "mismatch", Stacktrace: "at x", DocCode: "RT0016",
			RelatedCommandIndex: new(uint32(5)), RelatedCommandName: new("MISMATCH"), RelatedCommandType: 0x0411}}, Term: 3},
		{Kind: KindJournalEvent, JournalEvent: &JournalEvent{ID: id, Paused: &Paused{LastFailure: &TransientError{Code: 500, Message: "last"}}}, Term: 3},
	}}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	in.Version = FormatVersion
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
}

func TestDecodeRejects(t *testing.T) {
	future, _ := msgpack.Marshal(&Batch{Version: FormatVersion + 1})
	mismatched, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindEnd, Suspend: &Suspend{}}}})
	unknown, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: 99}}})
	twoNames, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindSignal, Signal: &Signal{Index: 17, Name: "n"}}}})
	noName, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindSignal, Signal: &Signal{}}}})
	twoMessages, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindDeliver, Deliver: &Deliver{Message: OutboxMessage{Complete: &Completion{}, Signal: &Signal{Index: 17}}}}}})
	noEvent, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindJournalEvent, JournalEvent: &JournalEvent{}}}})
	twoEvents, _ := msgpack.Marshal(&Batch{Version: FormatVersion, Commands: []Command{{Kind: KindJournalEvent, JournalEvent: &JournalEvent{TransientError: &TransientError{}, Paused: &Paused{}}}}})
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"journal event without an event", noEvent, nil},
		{"journal event with two events", twoEvents, nil},
		{"future version", future, ErrUnknownVersion},
		{"kind mismatch", mismatched, nil},
		{"unknown kind", unknown, nil},
		{"signal with index and name", twoNames, nil},
		{"signal without index or name", noName, nil},
		{"outbox message with two fields", twoMessages, nil},
		{"garbage", []byte{0xc1, 0xff}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v want %v", err, tt.want)
			}
		})
	}
}
