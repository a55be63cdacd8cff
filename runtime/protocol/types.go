package protocol

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// MessageType is the 16-bit code in a frame header.
type MessageType uint16

// Control messages.
const (
	StartType                   MessageType = 0x0000
	SuspensionType              MessageType = 0x0001
	ErrorType                   MessageType = 0x0002
	EndType                     MessageType = 0x0003
	CommandAckType              MessageType = 0x0004
	ProposeRunCompletionType    MessageType = 0x0005
	AwaitingOnType              MessageType = 0x0006
	ProposeRunCompletionAckType MessageType = 0x0007
)

// Commands.
const (
	InputCommandType               MessageType = 0x0400
	OutputCommandType              MessageType = 0x0401
	GetLazyStateCommandType        MessageType = 0x0402
	SetStateCommandType            MessageType = 0x0403
	ClearStateCommandType          MessageType = 0x0404
	ClearAllStateCommandType       MessageType = 0x0405
	GetLazyStateKeysCommandType    MessageType = 0x0406
	GetEagerStateCommandType       MessageType = 0x0407
	GetEagerStateKeysCommandType   MessageType = 0x0408
	GetPromiseCommandType          MessageType = 0x0409
	PeekPromiseCommandType         MessageType = 0x040A
	CompletePromiseCommandType     MessageType = 0x040B
	SleepCommandType               MessageType = 0x040C
	CallCommandType                MessageType = 0x040D
	OneWayCallCommandType          MessageType = 0x040E
	SendSignalCommandType          MessageType = 0x0410
	RunCommandType                 MessageType = 0x0411
	AttachInvocationCommandType    MessageType = 0x0412
	GetInvocationOutputCommandType MessageType = 0x0413
	CompleteAwakeableCommandType   MessageType = 0x0414
)

// Notifications.
const (
	GetLazyStateCompletionType        MessageType = 0x8002
	GetLazyStateKeysCompletionType    MessageType = 0x8006
	GetPromiseCompletionType          MessageType = 0x8009
	PeekPromiseCompletionType         MessageType = 0x800A
	CompletePromiseCompletionType     MessageType = 0x800B
	SleepCompletionType               MessageType = 0x800C
	CallCompletionType                MessageType = 0x800D
	CallInvocationIDCompletionType    MessageType = 0x800E
	RunCompletionType                 MessageType = 0x8011
	AttachInvocationCompletionType    MessageType = 0x8012
	GetInvocationOutputCompletionType MessageType = 0x8013
	SignalNotificationType            MessageType = 0xFBFF
)

// IsCommand reports whether t is in the command range 0x0400–0x7FFF.
func (t MessageType) IsCommand() bool { return t >= 0x0400 && t < 0x8000 }

// IsNotification reports whether t is in the notification range 0x8000–0xFBFF.
func (t MessageType) IsNotification() bool { return t >= 0x8000 && t < 0xFC00 }

// IsControl reports whether t is in the control range 0x0000–0x03FF.
func (t MessageType) IsControl() bool { return t < 0x0400 }

// IsCustom reports whether t is in the custom-entry range 0xFC00–0xFFFF (stored opaquely).
func (t MessageType) IsCustom() bool { return t >= 0xFC00 }

type messageInfo struct {
	name string
	new  func() proto.Message
}

var messages = map[MessageType]messageInfo{
	StartType:                   {"Start", func() proto.Message { return &pb.StartMessage{} }},
	SuspensionType:              {"Suspension", func() proto.Message { return &pb.SuspensionMessage{} }},
	ErrorType:                   {"Error", func() proto.Message { return &pb.ErrorMessage{} }},
	EndType:                     {"End", func() proto.Message { return &pb.EndMessage{} }},
	CommandAckType:              {"CommandAck", func() proto.Message { return &pb.CommandAckMessage{} }},
	ProposeRunCompletionType:    {"ProposeRunCompletion", func() proto.Message { return &pb.ProposeRunCompletionMessage{} }},
	AwaitingOnType:              {"AwaitingOn", func() proto.Message { return &pb.AwaitingOnMessage{} }},
	ProposeRunCompletionAckType: {"ProposeRunCompletionAck", func() proto.Message { return &pb.ProposeRunCompletionAckMessage{} }},

	InputCommandType:               {"InputCommand", func() proto.Message { return &pb.InputCommandMessage{} }},
	OutputCommandType:              {"OutputCommand", func() proto.Message { return &pb.OutputCommandMessage{} }},
	GetLazyStateCommandType:        {"GetLazyStateCommand", func() proto.Message { return &pb.GetLazyStateCommandMessage{} }},
	SetStateCommandType:            {"SetStateCommand", func() proto.Message { return &pb.SetStateCommandMessage{} }},
	ClearStateCommandType:          {"ClearStateCommand", func() proto.Message { return &pb.ClearStateCommandMessage{} }},
	ClearAllStateCommandType:       {"ClearAllStateCommand", func() proto.Message { return &pb.ClearAllStateCommandMessage{} }},
	GetLazyStateKeysCommandType:    {"GetLazyStateKeysCommand", func() proto.Message { return &pb.GetLazyStateKeysCommandMessage{} }},
	GetEagerStateCommandType:       {"GetEagerStateCommand", func() proto.Message { return &pb.GetEagerStateCommandMessage{} }},
	GetEagerStateKeysCommandType:   {"GetEagerStateKeysCommand", func() proto.Message { return &pb.GetEagerStateKeysCommandMessage{} }},
	GetPromiseCommandType:          {"GetPromiseCommand", func() proto.Message { return &pb.GetPromiseCommandMessage{} }},
	PeekPromiseCommandType:         {"PeekPromiseCommand", func() proto.Message { return &pb.PeekPromiseCommandMessage{} }},
	CompletePromiseCommandType:     {"CompletePromiseCommand", func() proto.Message { return &pb.CompletePromiseCommandMessage{} }},
	SleepCommandType:               {"SleepCommand", func() proto.Message { return &pb.SleepCommandMessage{} }},
	CallCommandType:                {"CallCommand", func() proto.Message { return &pb.CallCommandMessage{} }},
	OneWayCallCommandType:          {"OneWayCallCommand", func() proto.Message { return &pb.OneWayCallCommandMessage{} }},
	SendSignalCommandType:          {"SendSignalCommand", func() proto.Message { return &pb.SendSignalCommandMessage{} }},
	RunCommandType:                 {"RunCommand", func() proto.Message { return &pb.RunCommandMessage{} }},
	AttachInvocationCommandType:    {"AttachInvocationCommand", func() proto.Message { return &pb.AttachInvocationCommandMessage{} }},
	GetInvocationOutputCommandType: {"GetInvocationOutputCommand", func() proto.Message { return &pb.GetInvocationOutputCommandMessage{} }},
	CompleteAwakeableCommandType:   {"CompleteAwakeableCommand", func() proto.Message { return &pb.CompleteAwakeableCommandMessage{} }},

	GetLazyStateCompletionType:        {"GetLazyStateCompletion", func() proto.Message { return &pb.GetLazyStateCompletionNotificationMessage{} }},
	GetLazyStateKeysCompletionType:    {"GetLazyStateKeysCompletion", func() proto.Message { return &pb.GetLazyStateKeysCompletionNotificationMessage{} }},
	GetPromiseCompletionType:          {"GetPromiseCompletion", func() proto.Message { return &pb.GetPromiseCompletionNotificationMessage{} }},
	PeekPromiseCompletionType:         {"PeekPromiseCompletion", func() proto.Message { return &pb.PeekPromiseCompletionNotificationMessage{} }},
	CompletePromiseCompletionType:     {"CompletePromiseCompletion", func() proto.Message { return &pb.CompletePromiseCompletionNotificationMessage{} }},
	SleepCompletionType:               {"SleepCompletion", func() proto.Message { return &pb.SleepCompletionNotificationMessage{} }},
	CallCompletionType:                {"CallCompletion", func() proto.Message { return &pb.CallCompletionNotificationMessage{} }},
	CallInvocationIDCompletionType:    {"CallInvocationIdCompletion", func() proto.Message { return &pb.CallInvocationIdCompletionNotificationMessage{} }},
	RunCompletionType:                 {"RunCompletion", func() proto.Message { return &pb.RunCompletionNotificationMessage{} }},
	AttachInvocationCompletionType:    {"AttachInvocationCompletion", func() proto.Message { return &pb.AttachInvocationCompletionNotificationMessage{} }},
	GetInvocationOutputCompletionType: {"GetInvocationOutputCompletion", func() proto.Message { return &pb.GetInvocationOutputCompletionNotificationMessage{} }},
	SignalNotificationType:            {"SignalNotification", func() proto.Message { return &pb.SignalNotificationMessage{} }},
}

var typesByName = func() map[string]MessageType {
	m := make(map[string]MessageType, len(messages))
	for t, info := range messages {
		m[string(proto.MessageName(info.new()))] = t
	}
	return m
}()

// String names the message type, or gives its hex code when unknown.
func (t MessageType) String() string {
	if info, ok := messages[t]; ok {
		return info.name
	}
	return fmt.Sprintf("MessageType(0x%04X)", uint16(t))
}

// JournalName names a journal entry's type as restate-server's sys_journal.entry_type does for
// its version-2 journals: "Command: Run", "Notification: Call", "Notification: Signal".
func (t MessageType) JournalName() string {
	name := t.String()
	switch {
	case t.IsCommand():
		return "Command: " + strings.TrimSuffix(name, "Command")
	case t == SignalNotificationType:
		return "Notification: Signal"
	case t.IsNotification():
		return "Notification: " + strings.TrimSuffix(strings.TrimSuffix(name, "Notification"), "Completion")
	}
	return name
}

// TypeOfJournalName is JournalName's inverse, for the known journal entry types.
func TypeOfJournalName(name string) (MessageType, bool) {
	t, ok := typesByJournalName[name]
	return t, ok
}

var typesByJournalName = func() map[string]MessageType {
	m := map[string]MessageType{}
	for t := range messages {
		if t.IsCommand() || t.IsNotification() {
			m[t.JournalName()] = t
		}
	}
	return m
}()

// Known reports whether t is a message type this package can decode.
func (t MessageType) Known() bool {
	_, ok := messages[t]
	return ok
}

// NewMessage returns an empty protobuf message for type t.
func NewMessage(t MessageType) (proto.Message, error) {
	info, ok := messages[t]
	if !ok {
		return nil, fmt.Errorf("%w: 0x%04X", ErrUnknownMessageType, uint16(t))
	}
	return info.new(), nil
}

// TypeOf returns the message type code of m.
func TypeOf(m proto.Message) (MessageType, error) {
	t, ok := typesByName[string(proto.MessageName(m))]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownMessageType, proto.MessageName(m))
	}
	return t, nil
}

// Decode parses a payload of type t.
func Decode(t MessageType, payload []byte) (proto.Message, error) {
	m, err := NewMessage(t)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("protocol: decode %s: %w", t, err)
	}
	return m, nil
}
