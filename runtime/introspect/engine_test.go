package introspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/storage"
)

// pebbleSource is one partition's real storage on disk and a fixed registry view.
type pebbleSource struct {
	db       *pebble.DB
	services []registry.Service
	reads    []Read // what each query read
}

func (s *pebbleSource) PartitionRows(_ context.Context, rd Read) ([]Rows, error) {
	s.reads = append(s.reads, rd)
	snap := s.db.NewSnapshot()
	defer snap.Close()
	return PartitionRows(snap, rd, nil)
}
func (s *pebbleSource) Services() []registry.Service       { return s.services }
func (s *pebbleSource) Deployments() []registry.Deployment { return nil }

func id(n byte) ids.InvocationID {
	var e [16]byte
	e[0] = n
	return ids.NewInvocationID(ids.PartitionKey(uint64(n)<<56), e)
}

func entry(t *testing.T, m proto.Message) command.Entry {
	t.Helper()
	typ, err := protocol.TypeOf(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return command.Entry{Type: uint16(typ), Payload: b}
}

// fixture writes a partition's tables: a running greeter call with a journal, a completed
// failed one, an inboxed counter add behind the one holding the lock, a key's state, a promise
// and an idempotency key.
func fixture(t *testing.T) (*pebbleSource, map[string]ids.InvocationID) {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	invs := map[string]ids.InvocationID{"running": id(1), "failed": id(2), "holder": id(3), "inboxed": id(4)}
	greeter := command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
	counter := command.Target{Service: "Counter", Handler: "add", Key: "a", ServiceType: command.VirtualObject}
	b := db.NewBatch()
	put := func(inv ids.InvocationID, st storage.InvocationStatus) {
		st.Invocation.ID = inv
		if err := storage.PutStatus(b, inv, &st); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2026, 11, 28, 1, 2, 3, 456e6, time.UTC).UnixMilli()
	put(invs["running"], storage.InvocationStatus{Phase: storage.Running, Invocation: command.Invocation{Target: greeter, IdempotencyKey: "k1"}, CommandCount: 3, JournalLength: 3, CreatedAt: created, ModifiedAt: created + 10})
	put(invs["failed"], storage.InvocationStatus{Phase: storage.Completed, Invocation: command.Invocation{Target: greeter}, Result: &command.Result{Failure: &command.Failure{Code: 500, Message: "boom"}}, CreatedAt: created, ModifiedAt: created + 20})
	put(invs["holder"], storage.InvocationStatus{Phase: storage.Suspended, Invocation: command.Invocation{Target: counter}, CreatedAt: created, ModifiedAt: created,
		RunningAt: created + 1, CreatedUsing: "0.1.0-test", JournalLength: 2, CommandCount: 1,
		Waiting: &storage.Waiting{Completions: []uint32{2}, Signals: []uint32{17, 1}, NamedSignals: []string{"go"}}})
	put(invs["inboxed"], storage.InvocationStatus{Phase: storage.Inboxed, Invocation: command.Invocation{Target: counter}, CreatedAt: created + 5, ModifiedAt: created + 5})
	wake := uint64(created + 60_000)
	for i, e := range []command.Entry{
		entry(t, &pb.InputCommandMessage{}),
		entry(t, &pb.RunCommandMessage{Name: "charge", ResultCompletionId: 1}),
		entry(t, &pb.SleepCommandMessage{WakeUpTime: wake, ResultCompletionId: 2}),
		entry(t, &pb.CallCommandMessage{ServiceName: "Counter", HandlerName: "add", Key: "a", InvocationIdNotificationIdx: 3, ResultCompletionId: 4}),
		entry(t, &pb.CallInvocationIdCompletionNotificationMessage{CompletionId: 3, InvocationId: invs["inboxed"].String()}),
		entry(t, &pb.RunCompletionNotificationMessage{CompletionId: 1, Result: &pb.RunCompletionNotificationMessage_Value{Value: &pb.Value{Content: []byte(`"ok"`)}}}),
		entry(t, &pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Idx{Idx: 1}, Result: &pb.SignalNotificationMessage_Void{Void: &pb.Void{}}}),
		entry(t, &pb.SignalNotificationMessage{SignalId: &pb.SignalNotificationMessage_Name{Name: "go"}, Result: &pb.SignalNotificationMessage_Failure{Failure: &pb.Failure{Code: 409}}}),
	} {
		var err error
		if i == 3 { // the call, with what the state machine made of it
			err = storage.AppendJournalCall(b, invs["running"], uint32(i), e, created+int64(i), &storage.CallRecord{Callee: invs["inboxed"],
				ServiceType: command.VirtualObject, HandlerType: command.Exclusive, Retention: &command.Retention{Completion: 86_400_000, Journal: 1_500}})
		} else {
			err = storage.AppendJournal(b, invs["running"], uint32(i), e, created+int64(i))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(storage.PutLock(b, "Counter", "a", invs["holder"]))
	must(storage.PushInbox(b, "Counter", "a", 7, invs["inboxed"]))
	must(storage.PutState(b, "Counter", "a", []byte("count"), []byte("41")))
	must(storage.PutState(b, "Counter", "a", []byte("raw"), []byte{0xff, 0x00}))
	must(storage.PutPromise(b, "Signup", "u1", "email", &storage.Promise{Completed: true, Result: command.Result{Value: []byte(`"ok"`)}}))
	must(storage.PutIdempotentInvocation(b, greeter, "k1", invs["running"]))
	must(b.Commit(pebble.Sync))
	src := &pebbleSource{db: db, services: []registry.Service{{Name: "Counter", Type: command.VirtualObject, Revision: 2}}}
	return src, invs
}

func open(t *testing.T, src Source) *Engine {
	t.Helper()
	e, err := Open(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// strs renders a result's rows as strings, for comparison.
func strs(res *Result) []string {
	var out []string
	for _, r := range res.Rows {
		parts := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case time.Time:
				parts[i] = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				parts[i] = fmt.Sprintf("%x", x)
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func TestQueries(t *testing.T) {
	src, invs := fixture(t)
	e := open(t, src)
	run := invs["running"].String()
	cases := []struct {
		name, q string
		want    []string
	}{
		{"invocations by status", `SELECT status, COUNT(*) AS n FROM sys_invocation GROUP BY status ORDER BY status`,
			[]string{"completed|1", "pending|1", "ready|1", "suspended|1"}},
		{"a failed invocation", `SELECT target, completion_result, completion_failure FROM sys_invocation WHERE status = 'completed'`,
			[]string{"Greeter/greet|failure|[500] boom"}},
		{"keyed target", `SELECT target, target_service_key, target_service_ty FROM sys_invocation WHERE status = 'pending'`,
			[]string{"Counter/a/add|a|virtual_object"}},
		{"journal of one invocation", `SELECT index, entry_type, name, sleep_wakeup_at FROM sys_journal WHERE id = '` + run + `' ORDER BY index`,
			// sleep_wakeup_at is a version-1 column: NULL in version-2 rows, as on restate-server.
			[]string{"0|Command: Input||NULL", "1|Command: Run|charge|NULL", "2|Command: Sleep||NULL",
				"3|Command: Call||NULL", "4|Notification: CallInvocationId|NULL|NULL", "5|Notification: Run|NULL|NULL",
				"6|Notification: Signal|NULL|NULL", "7|Notification: Signal|NULL|NULL"}},
		{"appended at the log's time", `SELECT index, appended_at FROM sys_journal WHERE id = '` + run + `' AND index < 2 ORDER BY index`,
			[]string{"0|2026-11-28T01:02:03.456Z", "1|2026-11-28T01:02:03.457Z"}},
		// entry_lite_json as restate-server writes it (serde of its journal_v2 EntryLite).
		{"entry_lite_json", `SELECT entry_lite_json FROM sys_journal WHERE id = '` + run + `' ORDER BY index`,
			[]string{`{"Command":{"Input":{}}}`, `{"Command":{"Run":{"completion_id":1,"name":"charge"}}}`,
				`{"Command":{"Sleep":{"wake_up_time":1795827783456,"completion_id":2}}}`,
				`{"Command":{"Call":{"invocation_id":"` + invs["inboxed"].String() + `","invocation_target":{"VirtualObject":{"name":"Counter","key":"a","handler":"add","handler_ty":"Exclusive","scope":null}},"invocation_id_completion_id":3,"result_completion_id":4}}}`,
				`{"Notification":{"ty":{"Completion":"CallInvocationId"},"id":{"CompletionId":3},"result":"InvocationId"}}`,
				`{"Notification":{"ty":{"Completion":"Run"},"id":{"CompletionId":1},"result":"Success"}}`,
				`{"Notification":{"ty":"Signal","id":{"SignalIndex":1},"result":"Void"}}`,
				`{"Notification":{"ty":"Signal","id":{"SignalName":"go"},"result":"Failure"}}`}},
		{"a call's entry_json", `SELECT invoked_target, invoked_id, entry_json FROM sys_journal WHERE entry_type = 'Command: Call'`,
			[]string{`NULL|NULL|{"Command":{"Call":{"request":{"invocation_id":"` + invs["inboxed"].String() + `","invocation_target":{"VirtualObject":{"name":"Counter","key":"a","handler":"add","handler_ty":"Exclusive","scope":null}},` +
				`"span_context":{"span_context":{"trace_id":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"span_id":[0,0,0,0,0,0,0,0],"trace_flags":0,"is_remote":false,"trace_state":""},"cause":null},` +
				`"parameter":[],"headers":[],"idempotency_key":null,"completion_retention_duration":{"secs":86400,"nanos":0},"journal_retention_duration":{"secs":1,"nanos":500000000}},` +
				`"invocation_id_completion_id":3,"result_completion_id":4,"name":""}}}`}},
		{"suspended", `SELECT suspended_waiting_for_completions, suspended_waiting_for_signals, suspended_waiting_future_json, running_at, created_using_restate_version, journal_size FROM sys_invocation WHERE status = 'suspended'`,
			[]string{`[2]|[1 17]|{"Unknown":[{"Single":{"CompletionId":2}},{"Single":{"SignalIndex":1}},{"Single":{"SignalIndex":17}},{"Single":{"SignalName":"go"}}]}|2026-11-28T01:02:03.457Z|0.1.0-test|2`}},
		// As restate-server: no journal before it starts, no retry count outside the invoker.
		{"not started", `SELECT journal_size, journal_commands_size, retry_count, inboxed_at, running_at FROM sys_invocation WHERE status = 'pending'`,
			[]string{"NULL|NULL|NULL|2026-11-28T01:02:03.461Z|NULL"}},
		// entry_json as restate-server writes it (serde of its journal_v2 Entry), which the
		// CLI's invocations describe reads.
		{"entry_json", `SELECT entry_json FROM sys_journal WHERE id = '` + run + `' AND index IN (1, 2, 5) ORDER BY index`,
			[]string{`{"Command":{"Run":{"completion_id":1,"name":"charge"}}}`,
				`{"Command":{"Sleep":{"wake_up_time":1795827783456,"completion_id":2,"name":""}}}`,
				`{"Notification":{"Completion":{"Run":{"completion_id":1,"result":{"Success":[34,111,107,34]}}}}}`}},
		{"stored status names", `SELECT status, COUNT(*) AS n FROM sys_invocation_status GROUP BY status ORDER BY status`,
			[]string{"completed|1", "inboxed|1", "invoked|1", "suspended|1"}},
		{"state of a key", `SELECT key, value_utf8, value FROM state WHERE service_name = 'Counter' AND service_key = 'a' ORDER BY key`,
			[]string{"count|41|3431", "raw|NULL|ff00"}},
		{"inbox", `SELECT service_key, id, sequence_number, created_at FROM sys_inbox`,
			[]string{"a|" + invs["inboxed"].String() + "|6|2026-11-28T01:02:03.461Z"}}, // ours count from 1, restate-server's from 0
		{"keyed service status", `SELECT service_name, service_key, invocation_id FROM sys_keyed_service_status`,
			[]string{"Counter|a|" + invs["holder"].String()}},
		{"promise", `SELECT key, completed, completion_success_value_utf8 FROM sys_promise`,
			[]string{`email|true|"ok"`}},
		{"idempotency", `SELECT service_name, service_handler, idempotency_key, invocation_id FROM sys_idempotency`,
			[]string{"Greeter|greet|k1|" + run}},
		{"join", `SELECT i.target, j.name FROM sys_invocation i JOIN sys_journal j ON i.id = j.id WHERE j.entry_type = 'Command: Run'`,
			[]string{"Greeter/greet|charge"}},
		{"registry", `SELECT name, revision, ty FROM sys_service`, []string{"Counter|2|virtual_object"}},
		{"schema lists every table", `SELECT COUNT(DISTINCT table_name) FROM information_schema.columns WHERE table_name IN ('sys_invocation','sys_journal','state','sys_inbox','sys_promise','sys_idempotency','sys_keyed_service_status','sys_service','sys_deployment')`,
			[]string{"9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Query(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strs(res); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s\n got %q\nwant %q", tc.q, got, tc.want)
			}
		})
	}
}

func TestRefusedQueries(t *testing.T) {
	src, _ := fixture(t)
	e := open(t, src)
	for _, q := range []string{
		`SELEC 1`,
		`SELECT nope FROM sys_invocation`,
		`SELECT * FROM no_such_table`,
		`SELECT * FROM read_csv('/etc/passwd')`,
		`COPY (SELECT 1) TO '/tmp/resolute-introspect-escape.csv'`,
		`SET enable_external_access = true`,
	} {
		_, err := e.Query(context.Background(), q)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("%s: got %v, want a QueryError", q, err)
		}
	}
}

func TestFormats(t *testing.T) {
	src, invs := fixture(t)
	e := open(t, src)
	res, err := e.Query(context.Background(), `SELECT id, retry_count, created_at, target_service_key, journal_size FROM sys_invocation WHERE id = '`+invs["running"].String()+`'`)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var decoded struct{ Rows []map[string]any }
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatalf("%s: %v", js.String(), err)
	}
	want := map[string]any{"id": invs["running"].String(), "created_at": "2026-11-28T01:02:03.456Z", "journal_size": 3.0}
	if len(decoded.Rows) != 1 || fmt.Sprint(decoded.Rows[0]) != fmt.Sprint(want) {
		t.Errorf("JSON %s, want rows [%v] (NULL target_service_key and retry_count left out)", js.String(), want)
	}

	var ar bytes.Buffer
	if err := WriteArrow(&ar, res); err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(&ar)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatalf("no record batch: %v", rd.Err())
	}
	rec := rd.RecordBatch()
	if rec.NumRows() != 1 || rec.NumCols() != 5 {
		t.Fatalf("record %d×%d, want 1×5", rec.NumRows(), rec.NumCols())
	}
	if got := rec.Column(0).(*array.LargeString).Value(0); got != invs["running"].String() {
		t.Errorf("id %q", got)
	}
	if got := rec.Column(1).(*array.Uint64).Value(0); got != 0 {
		t.Errorf("retry_count %d", got)
	}
	if got := rec.Column(2).(*array.Timestamp).Value(0); int64(got) != time.Date(2026, 11, 28, 1, 2, 3, 456e6, time.UTC).UnixMilli() {
		t.Errorf("created_at %d", got)
	}
	if !rec.Column(3).IsNull(0) {
		t.Error("target_service_key is not NULL")
	}
	if got := rec.Column(4).(*array.Uint32).Value(0); got != 3 {
		t.Errorf("journal_size %d", got)
	}
}

// The schema has restate-server 1.7.12's tables and columns, in its order and with the DuckDB
// type of each Arrow type (sys_idempotency is ours: 1.7.12 has none).
func TestSchemaMatchesRestate(t *testing.T) {
	data, err := os.ReadFile("testdata/restate-1.7.12-columns.json")
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		Rows []struct{ TableName, ColumnName, DataType string }
	}
	if err := json.Unmarshal(bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(data, []byte(`"table_name"`), []byte(`"TableName"`)), []byte(`"column_name"`), []byte(`"ColumnName"`)), []byte(`"data_type"`), []byte(`"DataType"`)), &dump); err != nil {
		t.Fatal(err)
	}
	duck := map[string]string{"LargeUtf8": tString, "UInt64": tU64, "UInt32": tU32, "Boolean": tBool,
		`Timestamp(ms, "+00:00")`: tTimestamp, "LargeBinary": tBlob, "Duration(ms)": tDuration,
		"List(UInt32)": tU32List, "List(LargeUtf8)": tStrList}
	want := map[string][]Column{}
	for _, r := range dump.Rows {
		typ, ok := duck[r.DataType]
		if !ok {
			t.Fatalf("%s.%s: no DuckDB type for %s", r.TableName, r.ColumnName, r.DataType)
		}
		want[r.TableName] = append(want[r.TableName], Column{r.ColumnName, typ})
	}
	if len(want) == 0 {
		t.Fatal("no columns in the dump")
	}
	for name, cols := range want {
		tb, ok := tableByName(name)
		if !ok {
			t.Errorf("no table %s", name)
			continue
		}
		if fmt.Sprint(tb.Columns) != fmt.Sprint(cols) {
			t.Errorf("%s:\n got %v\nwant %v", name, tb.Columns, cols)
		}
	}
}

// A query gets the columns it names (tables are loaded with only those); SELECT *, COUNT(*)
// and schema queries see the whole table.
func TestColumnsLoaded(t *testing.T) {
	src, _ := fixture(t)
	e := open(t, src)
	width := len(Tables[0].Columns)
	for _, tc := range []struct {
		q          string
		cols, rows int
	}{
		{`SELECT * FROM sys_invocation`, width, 4},
		{`SELECT i.* FROM sys_invocation i`, width, 4},
		{`SELECT COUNT(*) FROM sys_invocation`, 1, 1},
		{`SELECT "status", id FROM sys_invocation WHERE target_service_name = 'Greeter'`, 2, 2},
		{`SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'sys_invocation'`, 1, 1},
	} {
		res, err := e.Query(context.Background(), tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		if len(res.Columns) != tc.cols || len(res.Rows) != tc.rows {
			t.Errorf("%s: %d columns, %d rows; want %d, %d", tc.q, len(res.Columns), len(res.Rows), tc.cols, tc.rows)
		}
	}
	res, err := e.Query(context.Background(), `SELECT COUNT(*) FROM sys_invocation`)
	if err != nil || fmt.Sprint(res.Rows) != "[[4]]" {
		t.Errorf("COUNT(*): %v %v, want 4", res, err)
	}
	res, err = e.Query(context.Background(), `SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'sys_invocation'`)
	if err != nil || fmt.Sprint(res.Rows) != fmt.Sprintf("[[%d]]", width) {
		t.Errorf("columns of sys_invocation: %v %v, want %d", res, err, width)
	}
}

// countingSource counts the partition reads of a pebbleSource.
type countingSource struct {
	*pebbleSource
	reads int
}

func (c *countingSource) PartitionRows(ctx context.Context, rd Read) ([]Rows, error) {
	c.reads++
	return c.pebbleSource.PartitionRows(ctx, rd)
}

// Describe tells a query's columns without reading a partition.
func TestDescribe(t *testing.T) {
	src, _ := fixture(t)
	counting := &countingSource{pebbleSource: src}
	e := open(t, counting)
	cols, err := e.Describe(context.Background(), `SELECT id, retry_count, created_at, COUNT(*) OVER () AS n FROM sys_invocation WHERE status = NULL`)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cols); got != "[{id VARCHAR} {retry_count UBIGINT} {created_at TIMESTAMPTZ} {n BIGINT}]" {
		t.Errorf("columns %s", got)
	}
	if counting.reads != 0 {
		t.Errorf("Describe read the partitions %d times", counting.reads)
	}
	if _, err := e.Describe(context.Background(), `SELECT nope FROM sys_invocation`); !errors.As(err, new(*QueryError)) {
		t.Errorf("describe of a bad query: %v, want a QueryError", err)
	}
}
