package introspect

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/storage"
)

// eventRow adds the sys_journal_events row of a stored journal event, as restate-server
// 1.7.12: event_type names the event ("TransientError", "Paused") and event_json is the event
// as serde writes it, its type in "ty" and then its fields, the unset ones left out.
func eventRow(b *builder) func(id ids.InvocationID, seq uint32, e *storage.JournalEvent) bool {
	return func(id ids.InvocationID, _ uint32, e *storage.JournalEvent) bool {
		r := b.row()
		b.set(r, "partition_key", uint64(id.PartitionKey))
		if b.has("id") {
			b.set(r, "id", id.String())
		}
		b.set(r, "after_journal_entry_index", e.AfterEntry)
		b.set(r, "appended_at", e.At)
		ty, js := eventJSON(e)
		b.set(r, "event_type", ty)
		if b.has("event_json") {
			b.set(r, "event_json", js)
		}
		return true
	}
}

// eventJSON is an event's type and its JSON (restate's "Unknown" for one this version cannot
// read, as restate-server answers for an event it cannot decode).
func eventJSON(e *storage.JournalEvent) (ty, js string) {
	var w jsonObject
	switch {
	case e.TransientError != nil:
		w.field("ty", "TransientError")
		transientErrorFields(&w, e.TransientError)
		return "TransientError", w.String()
	case e.Paused != nil:
		w.field("ty", "Paused")
		if f := e.Paused.LastFailure; f != nil {
			var lf jsonObject
			transientErrorFields(&lf, f)
			w.field("last_failure", rawJSON(lf.String()))
		}
		return "Paused", w.String()
	}
	return "Unknown", `{"ty":"Unknown"}`
}

// transientErrorFields writes the fields of restate's TransientErrorEvent, the unset ones left
// out.
func transientErrorFields(w *jsonObject, te *command.TransientError) {
	w.field("error_code", int(te.Code))
	w.field("error_message", te.Message)
	if te.Stacktrace != "" {
		w.field("error_stacktrace", te.Stacktrace)
	}
	if te.DocCode != "" {
		w.field("restate_doc_error_code", te.DocCode)
	}
	if te.RelatedCommandIndex != nil {
		w.field("related_command_index", int(*te.RelatedCommandIndex))
	}
	if te.RelatedCommandName != nil {
		w.field("related_command_name", *te.RelatedCommandName)
	}
	if name := commandTypeName(te.RelatedCommandType); name != "" {
		w.field("related_command_type", name)
	}
}

// commandTypeName names a command's protocol message type as restate's CommandType does
// ("Run", "Call", "GetLazyState"), "" for none.
func commandTypeName(t uint16) string {
	mt := protocol.MessageType(t)
	if !mt.IsCommand() || !mt.Known() {
		return ""
	}
	return strings.TrimSuffix(mt.String(), "Command")
}

// jsonObject writes a JSON object field by field, in order, strings as serde_json writes them
// (no HTML escaping: a stack trace's "<anonymous>" stays as it is).
type jsonObject struct{ buf bytes.Buffer }

func (o *jsonObject) field(k string, v any) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	o.value(k)
	o.buf.WriteByte(':')
	switch v := v.(type) {
	case int:
		o.buf.WriteString(strconv.Itoa(v))
	case string:
		o.value(v)
	case rawJSON:
		o.buf.WriteString(string(v))
	}
}

func (o *jsonObject) value(s string) {
	enc := json.NewEncoder(&o.buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)               // a string always encodes
	o.buf.Truncate(o.buf.Len() - 1) // Encode's newline
}

func (o *jsonObject) String() string {
	if o.buf.Len() == 0 {
		return "{}"
	}
	return o.buf.String() + "}"
}

// rawJSON is a value written as it is (a nested object).
type rawJSON string
