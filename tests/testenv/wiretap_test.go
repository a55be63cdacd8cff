package testenv

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// frame builds one service-protocol frame: type, flags (the REQUESTED_ACK bit when ack), length.
func frame(typ uint16, ack bool, payload []byte) []byte {
	h := uint64(typ)<<48 | uint64(len(payload))
	if ack {
		h |= 1 << 47
	}
	return append(binary.BigEndian.AppendUint64(nil, h), payload...)
}

// oneByteReader returns one byte per Read, so every frame arrives split across reads.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(1, len(p))]) }

func TestFrameRecorder(t *testing.T) {
	start, err := proto.Marshal(&pb.StartMessage{Id: []byte("0123456789abcdef01234567"), DebugId: "inv_1abc", KnownEntries: 3, Key: "alice",
		StateMap: []*pb.StartMessage_StateEntry{{Key: []byte("k"), Value: []byte("v")}}, RandomSeed: 42})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 70000)
	tests := []struct {
		name     string
		stream   []byte
		wantType []uint16
		wantErr  bool
	}{
		{"empty", nil, nil, false},
		{"start, input, ack flag, large frame", slices.Concat(frame(FrameStart, false, start), frame(0x0400, false, nil),
			frame(0x0005, true, []byte{8, 1}), frame(FrameRun, false, big)), []uint16{FrameStart, 0x0400, 0x0005, FrameRun}, false},
		{"truncated payload", slices.Concat(frame(FrameEnd, false, nil), frame(FrameOutput, false, []byte{1, 2, 3})[:10]), []uint16{FrameEnd}, true},
		{"truncated header", frame(FrameEnd, false, nil)[:5], nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var types []uint16
			var starts []startFields
			var errs []error
			ended := 0
			rec := &frameRecorder{rc: io.NopCloser(oneByteReader{bytes.NewReader(tc.stream)}),
				onFrame: func(typ uint16, payload []byte) {
					types = append(types, typ)
					if typ == FrameStart {
						st, err := decodeStart(payload)
						if err != nil {
							t.Error(err)
						}
						starts = append(starts, st)
					}
				},
				onErr: func(err error) { errs = append(errs, err) },
				onEnd: func() { ended++ }}
			out, err := io.ReadAll(rec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, tc.stream) {
				t.Errorf("passed %d bytes, want the %d of the stream unchanged", len(out), len(tc.stream))
			}
			if !slices.Equal(types, tc.wantType) {
				t.Errorf("frames %v, want %v", types, tc.wantType)
			}
			if (len(errs) > 0) != tc.wantErr {
				t.Errorf("errors %v, want error: %v", errs, tc.wantErr)
			}
			if ended != 1 {
				t.Errorf("end reported %d times, want once", ended)
			}
			if len(starts) > 0 && starts[0] != (startFields{id: "inv_1abc", key: "alice", known: 3}) {
				t.Errorf("start fields %+v", starts[0])
			}
		})
	}
}

func TestInvokePath(t *testing.T) {
	for _, tc := range []struct {
		path, service, handler string
		ok                     bool
	}{
		{"/invoke/Greeter/greet", "Greeter", "greet", true},
		{"/prefix/invoke/Greeter/greet", "Greeter", "greet", true},
		{"/discover", "", "", false},
		{"/health", "", "", false},
		{"/invoke/Greeter", "", "", false},
	} {
		s, h, ok := invokePath(tc.path)
		if s != tc.service || h != tc.handler || ok != tc.ok {
			t.Errorf("invokePath(%q) = %q %q %v, want %q %q %v", tc.path, s, h, ok, tc.service, tc.handler, tc.ok)
		}
	}
}
