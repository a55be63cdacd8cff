package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// fuzzMaxFrame keeps the fuzzers from allocating what a header merely claims.
const fuzzMaxFrame = 1 << 16

// FuzzReadFrames reads frames from arbitrary bytes and decodes every one. Properties: no panic;
// only the documented errors; re-encoding the frames read reproduces the bytes consumed exactly;
// a known type that decodes survives Marshal and Decode unchanged. Seeds (real V6 streams from
// PROTOCOL.md, truncations, reserved bits, unknown types) live in testdata/fuzz/FuzzReadFrames.
func FuzzReadFrames(f *testing.F) {
	for _, seed := range fuzzStreams(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.MaxFrameSize = fuzzMaxFrame
		var again []byte
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				checkReadError(t, err, data, again)
				return
			}
			again = AppendFrame(again, fr)
			if !bytes.HasPrefix(data, again) {
				t.Fatalf("re-encoded frames %x are not a prefix of the input %x", again, data)
			}
			checkDecode(t, fr.Type, fr.Payload)
		}
	})
}

func checkReadError(t *testing.T, err error, data, consumed []byte) {
	t.Helper()
	switch {
	case err == io.EOF:
		if len(consumed) != len(data) {
			t.Fatalf("clean EOF after %d of %d bytes", len(consumed), len(data))
		}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrReservedBits), errors.Is(err, ErrFrameTooLarge):
		if len(consumed) == len(data) {
			t.Fatalf("error %v with every byte consumed", err)
		}
	default:
		t.Fatalf("unexpected error %v", err)
	}
}

// FuzzDecode decodes an arbitrary payload as an arbitrary type. Properties: no panic; unknown
// types fail with ErrUnknownMessageType; a decoded message encodes to a frame of the same type
// that decodes to an equal message.
func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzStreams(f) {
		r := NewReader(bytes.NewReader(seed))
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				break
			}
			f.Add(uint16(fr.Type), fr.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, typ uint16, payload []byte) {
		checkDecode(t, MessageType(typ), payload)
	})
}

func checkDecode(t *testing.T, typ MessageType, payload []byte) {
	t.Helper()
	m, err := Decode(typ, payload)
	if !typ.Known() {
		if !errors.Is(err, ErrUnknownMessageType) {
			t.Fatalf("unknown type %s: err %v", typ, err)
		}
		return
	}
	if err != nil {
		return
	}
	fr, err := EncodeMessage(m)
	if err != nil {
		t.Fatalf("%s decoded but does not encode: %v", typ, err)
	}
	if fr.Type != typ {
		t.Fatalf("%s re-encodes as %s", typ, fr.Type)
	}
	back, err := fr.Message()
	if err != nil {
		t.Fatalf("%s: re-encoded payload does not decode: %v", typ, err)
	}
	if !proto.Equal(m, back) {
		t.Fatalf("%s round trip: %v != %v", typ, m, back)
	}
}

// fuzzStreams are the in-code seeds: observed V6 exchanges and their damaged variants.
func fuzzStreams(tb testing.TB) [][]byte {
	stream := func(msgs ...proto.Message) []byte {
		var out []byte
		for _, m := range msgs {
			fr, err := EncodeMessage(m)
			if err != nil {
				tb.Fatal(err)
			}
			out = AppendFrame(out, fr)
		}
		return out
	}
	void := &pb.Void{}
	counter := stream(
		&pb.StartMessage{Id: make([]byte, 24), DebugId: "inv_1", KnownEntries: 1, Key: "a", RandomSeed: 7},
		&pb.InputCommandMessage{Value: &pb.Value{Content: []byte("1")}},
		&pb.GetEagerStateCommandMessage{Key: []byte("c"), Result: &pb.GetEagerStateCommandMessage_Void{Void: void}},
		&pb.SetStateCommandMessage{Key: []byte("c"), Value: &pb.Value{Content: []byte("1")}},
		&pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: []byte("1")}}},
		&pb.EndMessage{},
	)
	sleep := []byte{0x80, 0x0C, 0, 0, 0, 0, 0, 4, 0x08, 0x01, 0x22, 0x00} // observed SleepCompletion
	ackRun := AppendFrame(nil, Frame{Type: ProposeRunCompletionType, RequestedAck: true, Payload: []byte{0x08, 0x01, 0x72, 0x01, '0'}})
	return [][]byte{
		counter,
		sleep,
		ackRun,
		counter[:5],                 // header cut
		counter[:len(counter)-3],    // payload cut
		{0x04, 0, 0, 1, 0, 0, 0, 0}, // reserved bits
		{0x09, 0x99, 0, 0, 0, 0, 0, 2, 0x08, 0x01},    // unknown type
		{0xFC, 0x01, 0, 0, 0, 0, 0, 1, 0xFF},          // custom entry
		{0x04, 0x01, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF},    // huge length
		{0x00, 0x02, 0, 0, 0, 0, 0, 2, 0x08, 0x80},    // truncated varint
		{0x04, 0x00, 0, 0, 0, 0, 0, 3, 0x72, 0x05, 1}, // length-delimited field overruns
	}
}
