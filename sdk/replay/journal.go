package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Format is the value of a journal file's "format" field.
const Format = "resolute-journal/v1"

// ErrBadJournal is wrapped by every error about a journal file's content.
var ErrBadJournal = errors.New("replay: bad journal")

// Journal is one invocation's recorded journal: what `resolute journal export` writes and
// ReadFile reads, as JSON:
//
//	{
//	  "format": "resolute-journal/v1",
//	  "invocation_id": "inv_1…",
//	  "service": "Shop", "handler": "checkout", "key": "alice",
//	  "protocol_version": 6,
//	  "random_seed": "1234567890",
//	  "entries": [
//	    {"index": 0, "type": "InputCommand", "raw": "CgUKAyJhIg==", "what": "Input"},
//	    {"index": 1, "type": "CallCommand", "raw": "…", "what": "Call Pricing/price"},
//	    {"index": 2, "type": "CallInvocationIdCompletion", "raw": "…"},
//	    …
//	  ]
//	}
//
// Entries are the journal in order (sys_journal's rows, index 0 the InputCommand), each a
// service-protocol message: type is its name in the protocol (a command "…Command", a
// notification "…Completion" or "SignalNotification"), raw its protobuf bytes in base64. "what"
// is a description for readers, ignored when reading. key is the Virtual Object's or
// Workflow's key (absent for a Service). random_seed is the StartMessage's (protocol V6 and
// later: what ctx.Rand is seeded with), as a decimal string; protocol_version the version the
// invocation ran with (5 to 7).
type Journal struct {
	Format          string  `json:"format"`
	InvocationID    string  `json:"invocation_id"`
	Service         string  `json:"service"`
	Handler         string  `json:"handler"`
	Key             string  `json:"key,omitempty"`
	ProtocolVersion int     `json:"protocol_version"`
	RandomSeed      uint64  `json:"random_seed,string"`
	Entries         []Entry `json:"entries"`
}

// Entry is one journal entry.
type Entry struct {
	Index uint32               `json:"index"`
	Type  protocol.MessageType `json:"-"`
	Raw   []byte               `json:"raw"`
}

// entryJSON is an Entry in the file.
type entryJSON struct {
	Index uint32 `json:"index"`
	Type  string `json:"type"`
	Raw   []byte `json:"raw"`
	What  string `json:"what,omitempty"`
}

// MarshalJSON writes the entry with its type's name and a description.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(entryJSON{Index: e.Index, Type: e.Type.String(), Raw: e.Raw, What: e.What()})
}

// UnmarshalJSON reads an entry; its type must be a command or notification of the protocol.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t, ok := typeByName[j.Type]
	if !ok || !(t.IsCommand() || t.IsNotification()) {
		return fmt.Errorf("%w: entry %d: type %q is not a command or notification of the service protocol", ErrBadJournal, j.Index, j.Type)
	}
	*e = Entry{Index: j.Index, Type: t, Raw: j.Raw}
	return nil
}

// What describes the entry as the SDK's mismatch messages do ("Call Greeter/greet",
// `Run "charge"`); a notification by its type.
func (e Entry) What() string {
	if !e.Type.IsCommand() {
		return ""
	}
	return statemachine.Describe(e.Type, e.Raw)
}

// typeByName maps the protocol's message names back to their types.
var typeByName = func() map[string]protocol.MessageType {
	m := map[string]protocol.MessageType{}
	for t := protocol.MessageType(0); ; t++ {
		if t.Known() {
			m[t.String()] = t
		}
		if t == 0xFFFF {
			return m
		}
	}
}()

// TypeByName returns the message type the protocol calls name ("CallCommand",
// "SleepCompletion", …).
func TypeByName(name string) (protocol.MessageType, bool) {
	t, ok := typeByName[name]
	return t, ok
}

// Read reads a journal file's content and checks it (Validate).
func Read(r io.Reader) (*Journal, error) {
	var j Journal
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		if errors.Is(err, ErrBadJournal) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadJournal, err)
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// ReadFile reads the journal file at path.
func ReadFile(path string) (*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	j, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

// Write writes j as an indented journal file.
func (j *Journal) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// WriteFile writes j to path.
func (j *Journal) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := j.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("replay: write %s: %w", path, err)
	}
	return f.Close()
}

// Validate checks what a replay relies on: the format, a protocol version the SDK speaks, the
// target, an invocation id, entries numbered from 0 in order, each decoding as its type, the
// first an InputCommand.
func (j *Journal) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadJournal, fmt.Sprintf(format, args...))
	}
	switch {
	case j.Format != Format:
		return bad("format %q, want %q", j.Format, Format)
	case j.ProtocolVersion < int(protocol.MinVersion) || j.ProtocolVersion > int(protocol.MaxVersion):
		return bad("protocol_version %d, want %d to %d", j.ProtocolVersion, protocol.MinVersion, protocol.MaxVersion)
	case j.Service == "" || j.Handler == "":
		return bad("service and handler are required")
	case len(j.Entries) == 0 || j.Entries[0].Type != protocol.InputCommandType:
		return bad("the first entry must be the InputCommand")
	}
	if _, err := ids.ParseInvocationID(j.InvocationID); err != nil {
		return bad("invocation_id: %v", err)
	}
	for i, e := range j.Entries {
		if e.Index != uint32(i) {
			return bad("entry %d has index %d: entries must be numbered from 0 in order", i, e.Index)
		}
		if _, err := protocol.Decode(e.Type, e.Raw); err != nil {
			return bad("entry %d: %v", i, err)
		}
	}
	return nil
}

// Commands is the number of commands in the journal (InputCommand included).
func (j *Journal) Commands() int {
	n := 0
	for _, e := range j.Entries {
		if e.Type.IsCommand() {
			n++
		}
	}
	return n
}

// command returns the command numbered n (InputCommand is 0), as the SDK numbers them.
func (j *Journal) command(n int) (Entry, bool) {
	for _, e := range j.Entries {
		if !e.Type.IsCommand() {
			continue
		}
		if n == 0 {
			return e, true
		}
		n--
	}
	return Entry{}, false
}

// frames is what a runtime sends to start an attempt on the journal: the StartMessage (every
// entry known, no eager state: replayed state reads come from the journal) and the entries.
func (j *Journal) frames() ([]protocol.Frame, error) {
	id, err := ids.ParseInvocationID(j.InvocationID)
	if err != nil {
		return nil, fmt.Errorf("%w: invocation_id: %v", ErrBadJournal, err)
	}
	start, err := protocol.EncodeMessage(&pb.StartMessage{
		Id:           id.Bytes(),
		DebugId:      j.InvocationID,
		KnownEntries: uint32(len(j.Entries)),
		Key:          j.Key,
		PartialState: true,
		RandomSeed:   j.RandomSeed,
	})
	if err != nil {
		return nil, err
	}
	out := []protocol.Frame{start}
	for _, e := range j.Entries {
		out = append(out, protocol.Frame{Type: e.Type, Payload: e.Raw})
	}
	return out, nil
}

// output is the journal's OutputCommand, if it has one.
func (j *Journal) output() (*pb.OutputCommandMessage, bool) {
	for _, e := range j.Entries {
		if e.Type == protocol.OutputCommandType {
			var o pb.OutputCommandMessage
			if proto.Unmarshal(e.Raw, &o) == nil {
				return &o, true
			}
		}
	}
	return nil, false
}
