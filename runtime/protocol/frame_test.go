package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []proto.Message{
		&pb.StartMessage{Id: []byte{1, 2}, DebugId: "inv_x", KnownEntries: 1},
		&pb.InputCommandMessage{Value: &pb.Value{Content: []byte(`"hi"`)}},
		&pb.SleepCompletionNotificationMessage{CompletionId: 1, Void: &pb.Void{}},
		&pb.EndMessage{},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf)
	for i, want := range msgs {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got, err := f.Message()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("frame %d: got %v want %v", i, got, want)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestHeaderBits(t *testing.T) {
	// The sleep-completion frame observed from the official server: type 0x800C, 4-byte payload.
	h := EncodeHeader(SleepCompletionType, false, 4)
	if !bytes.Equal(h[:], []byte{0x80, 0x0C, 0, 0, 0, 0, 0, 4}) {
		t.Fatalf("header %x", h)
	}
	h = EncodeHeader(ProposeRunCompletionType, true, 3)
	ty, ack, n, err := DecodeHeader(h)
	if err != nil || ty != ProposeRunCompletionType || !ack || n != 3 {
		t.Fatalf("decoded %v %v %v %v", ty, ack, n, err)
	}
}

func TestBadFrames(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  uint32
		want error
	}{
		{"truncated header", []byte{0, 0, 0}, 100, io.ErrUnexpectedEOF},
		{"truncated payload", []byte{0x04, 0, 0, 0, 0, 0, 0, 5, 1, 2}, 100, io.ErrUnexpectedEOF},
		{"reserved bits", []byte{0x04, 0, 0, 1, 0, 0, 0, 0}, 100, ErrReservedBits},
		{"too large", []byte{0x04, 0, 0, 0, 0, 0, 1, 0}, 100, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in))
			r.MaxFrameSize = tt.max
			_, err := r.ReadFrame()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Decode(MessageType(0x0999), nil); !errors.Is(err, ErrUnknownMessageType) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		min, max int
		limit    Version
		want     Version
		err      bool
	}{
		{5, 7, V7, V7, false},
		{5, 7, V6, V6, false},
		{5, 5, V7, V5, false},
		{1, 4, V7, 0, true},
		{5, 9, V7, V7, false},
	}
	for _, tt := range tests {
		got, err := Negotiate(tt.min, tt.max, tt.limit)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Negotiate(%d,%d,%d) = %v, %v", tt.min, tt.max, tt.limit, got, err)
		}
	}
	if v, err := ParseContentType("application/vnd.restate.invocation.v6"); err != nil || v != V6 {
		t.Fatalf("parse: %v %v", v, err)
	}
	if _, err := ParseContentType("application/vnd.restate.invocation.v4"); err == nil {
		t.Fatal("v4 accepted")
	}
}

// Journal entry types are named as restate-server's sys_journal names them, and the names
// map back.
func TestJournalName(t *testing.T) {
	for _, tc := range []struct {
		t    MessageType
		want string
	}{
		{InputCommandType, "Command: Input"},
		{RunCommandType, "Command: Run"},
		{CallInvocationIDCompletionType, "Notification: CallInvocationId"},
		{CallCompletionType, "Notification: Call"},
		{SignalNotificationType, "Notification: Signal"},
	} {
		if got := tc.t.JournalName(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.t, got, tc.want)
		}
	}
	n := 0
	for mt := range messages {
		if !mt.IsCommand() && !mt.IsNotification() && mt != SignalNotificationType {
			continue
		}
		n++
		if back, ok := TypeOfJournalName(mt.JournalName()); !ok || back != mt {
			t.Errorf("%s: %q maps back to %s, %v", mt, mt.JournalName(), back, ok)
		}
	}
	if n < 30 {
		t.Errorf("only %d journal entry types", n)
	}
}
