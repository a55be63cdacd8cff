package introspect

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/storage"
)

// sys_journal_events has restate-server's columns and a row per stored event, in order, its
// event_json as restate-server writes it (serde: "ty" first, the unset fields left out, strings
// not HTML-escaped); a query about one invocation reads only its events.
func TestJournalEventsTable(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, b := id(1), id(2)
	at := time.Date(2026, 11, 28, 1, 2, 3, 456e6, time.UTC).UnixMilli()
	batch := db.NewIndexedBatch()
	for _, ev := range []struct {
		id ids.InvocationID
		e  storage.JournalEvent
	}{
		{a, storage.JournalEvent{At: at, TransientError: &command.TransientError{Code: 500, Message: `boom "<x> & y"`,
			Stacktrace: "Error: boom\n    at <anonymous>", DocCode: "RT0007"}}},
		{b, storage.JournalEvent{At: at + 1, AfterEntry: 4, TransientError: &command.TransientError{Code: 570, Message: "mismatch",
			DocCode: "RT0016", RelatedCommandIndex: new(uint32(2)), RelatedCommandName: new(""), RelatedCommandType: 0x0499}}},
		{a, storage.JournalEvent{At: at + 2, AfterEntry: 3, TransientError: &command.TransientError{Code: 503, Message: "later",
			RelatedCommandIndex: new(uint32(1)), RelatedCommandName: new("step"), RelatedCommandType: uint16(protocol.RunCommandType)}}},
		{a, storage.JournalEvent{At: at + 3, AfterEntry: 3, Paused: &command.Paused{LastFailure: &command.TransientError{Code: 500, Message: "last", DocCode: "RT0007"}}}},
		{b, storage.JournalEvent{At: at + 5, AfterEntry: 4, Paused: &command.Paused{}}},
	} {
		if err := storage.AppendJournalEvent(batch, ev.id, &ev.e); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	src := &pebbleSource{db: db}
	e := open(t, src)

	res, err := e.Query(context.Background(), `SELECT * FROM sys_journal_events ORDER BY id, appended_at`)
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []ResultColumn{{"partition_key", tU64}, {"id", tString}, {"after_journal_entry_index", tU32},
		{"appended_at", tTimestamp}, {"event_type", tString}, {"event_json", tString}}
	if fmt.Sprint(res.Columns) != fmt.Sprint(wantCols) {
		t.Errorf("columns %v, want %v", res.Columns, wantCols)
	}
	pk := func(i ids.InvocationID) string { return fmt.Sprint(uint64(i.PartitionKey)) }
	want := []string{
		pk(a) + "|" + a.String() + `|0|2026-11-28T01:02:03.456Z|TransientError|{"ty":"TransientError","error_code":500,"error_message":"boom \"<x> & y\"","error_stacktrace":"Error: boom\n    at <anonymous>","restate_doc_error_code":"RT0007"}`,
		pk(a) + "|" + a.String() + `|3|2026-11-28T01:02:03.458Z|TransientError|{"ty":"TransientError","error_code":503,"error_message":"later","related_command_index":1,"related_command_name":"step","related_command_type":"Run"}`,
		// As restate-server 1.7.12 writes the pause after the last attempt.
		pk(a) + "|" + a.String() + `|3|2026-11-28T01:02:03.459Z|Paused|{"ty":"Paused","last_failure":{"error_code":500,"error_message":"last","restate_doc_error_code":"RT0007"}}`,
		// A related command type the runtime does not know is left out; an empty name is kept.
		pk(b) + "|" + b.String() + `|4|2026-11-28T01:02:03.457Z|TransientError|{"ty":"TransientError","error_code":570,"error_message":"mismatch","restate_doc_error_code":"RT0016","related_command_index":2,"related_command_name":""}`,
		pk(b) + "|" + b.String() + `|4|2026-11-28T01:02:03.461Z|Paused|{"ty":"Paused"}`,
	}
	if a.String() > b.String() {
		want = append(want[3:], want[:3]...)
	}
	if got := strs(res); !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", fmt.Sprint(got), fmt.Sprint(want))
	}

	src.reads = nil
	res, err = e.Query(context.Background(), `SELECT event_type, after_journal_entry_index FROM sys_journal_events WHERE id = '`+b.String()+`' ORDER BY appended_at`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(res); !slices.Equal(got, []string{"TransientError|4", "Paused|4"}) {
		t.Errorf("events of one invocation: %v", got)
	}
	if len(src.reads) != 1 || !slices.Equal(src.reads[0].Only[TableJournalEvents], []ids.InvocationID{b}) {
		t.Errorf("a query about one invocation read %+v, want its events only", src.reads)
	}
}
