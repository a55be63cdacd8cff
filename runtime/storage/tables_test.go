package storage

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// quiet keeps pebble's informational lines out of the test output.
type quiet struct{}

func (quiet) Infof(string, ...any)      {}
func (quiet) Errorf(f string, a ...any) { fmt.Printf(f+"\n", a...) }
func (quiet) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// openDB opens a real pebble store in a temporary directory.
func openDB(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testID is the invocation id with partition key 01…08 and UUID 10…1f.
var testID = ids.InvocationID{PartitionKey: 0x0102030405060708,
	UUID: [16]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}}

const testIDHex = "0102030405060708" + "101112131415161718191a1b1c1d1e1f"

// TestKeyLayout pins every table's key bytes, written out by hand from doc.go: the layout is
// the storage format, so a change must show up here.
func TestKeyLayout(t *testing.T) {
	long := strings.Repeat("s", 200) // length 200 is the two-byte uvarint c8 01
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"status", statusKey(testID), "02" + testIDHex},
		{"journal", journalKey(testID, 0x01020304), "03" + testIDHex + "01020304"},
		{"active", activeKey(testID), "04" + testIDHex},
		{"inbox", inboxKey("Svc", "k", 5), "05" + "03537663" + "016b" + "0000000000000005"},
		{"lock", lockKey("Svc", "k"), "06" + "03537663" + "016b"},
		{"state", stateKey("Svc", "k", []byte("n")), "07" + "03537663" + "016b" + "6e"},
		{"state, empty key and name", stateKey("Svc", "", nil), "07" + "03537663" + "00"},
		{"state, long service", stateKey(long, "k", []byte("n")), "07" + "c801" + hex.EncodeToString([]byte(long)) + "016b" + "6e"},
		{"outbox", outboxKey(258), "08" + "0000000000000102"},
		{"idempotency", idempotencyKey("Svc", "k", "h", "i"), "09" + "03537663" + "016b" + "0168" + "0169"},
		{"dedup", dedupKey(3), "0a" + "00000003"},
		{"timer", timerKey(Timer{WakeTime: 1000, ID: testID, CompletionID: 7}), "0b" + "00000000000003e8" + testIDHex + "00000007"},
		{"meta", MetaAppliedIndex, "01" + hex.EncodeToString([]byte("applied"))},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.got); got != tt.want {
			t.Errorf("%s key %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"07", "08"},
		{"0701", "0702"},
		{"07ff", "08"},
		{"0701ffff", "0702"},
		{"ffff", ""}, // no upper bound
		{"", ""},
	}
	for _, tt := range tests {
		in, _ := hex.DecodeString(tt.in)
		got := prefixEnd(in)
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("prefixEnd(%s) = %x, want %s", tt.in, got, tt.want)
		}
		if tt.want == "" && got != nil {
			t.Errorf("prefixEnd(%s) = %x, want nil (unbounded)", tt.in, got)
		}
		if !bytes.Equal(in, mustDecode(t, tt.in)) {
			t.Errorf("prefixEnd modified its argument: %x", in)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	must(t, err)
	return b
}

// TestStatusRoundTrip stores a status with every field set and reads back the same, and keeps
// the active index in step with the phase.
func TestStatusRoundTrip(t *testing.T) {
	db := openDB(t)
	st := InvocationStatus{
		Phase: Running,
		Invocation: command.Invocation{ID: testID,
			Target:         command.Target{Service: "Counter", Handler: "add", Key: "k", ServiceType: command.VirtualObject, HandlerType: command.Exclusive},
			Headers:        []command.Header{{Key: "a", Value: "1"}},
			IdempotencyKey: "idem",
			Caller:         &command.Caller{ID: ids.InvocationID{PartitionKey: 9}, CompletionID: 2},
			ExecutionTime:  1234,
		},
		CommandCount: 3, JournalLength: 5,
		Completions: []uint32{1, 2}, Signals: []uint32{17},
		Waiting:  &Waiting{Completions: []uint32{3}, Signals: []uint32{1}, NamedSignals: []string{"n"}},
		Result:   &command.Result{Failure: &command.Failure{Code: 418, Message: "teapot"}},
		InboxSeq: 4, CreatedAt: 10, ModifiedAt: 20,
	}
	must(t, PutStatus(db, testID, &st))
	got, found, err := Status(db, testID)
	if err != nil || !found || !reflect.DeepEqual(got, st) {
		t.Fatalf("Status = %+v, %v, %v\nwant %+v", got, found, err, st)
	}
	other := ids.InvocationID{PartitionKey: testID.PartitionKey, UUID: [16]byte{0x10}}
	if _, found, err := Status(db, other); found || err != nil {
		t.Fatalf("status of an unknown id: found %v, %v", found, err)
	}
	// Running is active; any other phase is not.
	for _, tt := range []struct {
		phase  Phase
		active bool
	}{{Running, true}, {Suspended, false}, {Running, true}, {Completed, false}} {
		st.Phase = tt.phase
		must(t, PutStatus(db, testID, &st))
		active, err := ActiveInvocations(db)
		must(t, err)
		if got := len(active) == 1 && active[0] == testID; got != tt.active || len(active) > 1 {
			t.Errorf("phase %s: active %v, want active=%v", tt.phase, active, tt.active)
		}
	}
}

// adjacentIDs returns ids whose raw forms sort one after another, the first ending in ff bytes,
// so a scan of one id's prefix must stop exactly at the next.
func adjacentIDs() []ids.InvocationID {
	var ones [16]byte
	for i := range ones {
		ones[i] = 0xff
	}
	return []ids.InvocationID{
		{PartitionKey: 1, UUID: [16]byte{15: 0xfe}},
		{PartitionKey: 1, UUID: ones},
		{PartitionKey: 2},
	}
}

// TestJournalRanges: each invocation's journal holds exactly its entries, in index order (not
// byte order of a decimal form: 2 before 256), even for ids whose bytes are adjacent.
func TestJournalRanges(t *testing.T) {
	db := openDB(t)
	idsInOrder := adjacentIDs()
	indexes := []uint32{256, 0, 65536, 2, 1}
	for n, id := range idsInOrder {
		for _, i := range indexes {
			must(t, AppendJournal(db, id, i, command.Entry{Type: uint16(n), Payload: []byte(fmt.Sprint(i))}, 0))
		}
	}
	for n, id := range idsInOrder {
		entries, err := Journal(db, id)
		must(t, err)
		var got []string
		for _, e := range entries {
			got = append(got, fmt.Sprintf("%d:%s", e.Type, e.Payload))
		}
		want := []string{fmt.Sprintf("%d:0", n), fmt.Sprintf("%d:1", n), fmt.Sprintf("%d:2", n), fmt.Sprintf("%d:256", n), fmt.Sprintf("%d:65536", n)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("journal of id %d: %v, want %v", n, got, want)
		}
		e, found, err := JournalEntry(db, id, 256)
		if err != nil || !found || string(e.Payload) != "256" || e.Type != uint16(n) {
			t.Errorf("JournalEntry(id %d, 256) = %+v, %v, %v", n, e, found, err)
		}
		if _, found, _ := JournalEntry(db, id, 3); found {
			t.Errorf("JournalEntry(id %d, 3) found an entry never written", n)
		}
	}
}

// TestStateBoundaries: the state of (service, key) never includes a neighbour whose strings
// only differ in where one ends: ("a","b"), ("ab",""), ("a","bc"), ("a",""), ("", "ab").
func TestStateBoundaries(t *testing.T) {
	db := openDB(t)
	type sk struct{ service, key string }
	owners := []sk{{"a", "b"}, {"ab", ""}, {"a", "bc"}, {"a", ""}, {"", "ab"}, {"a", "b\xff"}, {"a\xff", "b"}}
	for _, o := range owners {
		for _, name := range []string{"", "x", "\xff\xff", "c"} {
			must(t, PutState(db, o.service, o.key, []byte(name), []byte(o.service+"/"+o.key+"/"+name)))
		}
	}
	for _, o := range owners {
		all, err := AllState(db, o.service, o.key)
		must(t, err)
		var got []string
		for _, e := range all {
			if want := o.service + "/" + o.key + "/" + string(e.Key); string(e.Value) != want {
				t.Errorf("state (%q,%q) %q = %q, want %q", o.service, o.key, e.Key, e.Value, want)
			}
			got = append(got, string(e.Key))
		}
		// Ordered by state key bytes.
		if want := []string{"", "c", "x", "\xff\xff"}; !reflect.DeepEqual(got, want) {
			t.Errorf("state keys of (%q,%q): %q, want %q", o.service, o.key, got, want)
		}
	}
	// Clearing one owner's state leaves every neighbour whole.
	must(t, DeleteAllState(db, "a", "b"))
	for _, o := range owners {
		all, err := AllState(db, o.service, o.key)
		must(t, err)
		want := 4
		if o == (sk{"a", "b"}) {
			want = 0
		}
		if len(all) != want {
			t.Errorf("after clearing (a,b): (%q,%q) holds %d entries, want %d", o.service, o.key, len(all), want)
		}
	}
	must(t, DeleteState(db, "a", "bc", []byte("x")))
	if _, found, err := StateValue(db, "a", "bc", []byte("x")); found || err != nil {
		t.Errorf("deleted state still there: %v %v", found, err)
	}
	if v, found, err := StateValue(db, "a", "bc", []byte("c")); !found || err != nil || string(v) != "a/bc/c" {
		t.Errorf("StateValue(a, bc, c) = %q %v %v", v, found, err)
	}
}

// TestDeleteAllStateInBatch: inside the state machine's indexed batch, clearing also removes
// entries written earlier in the same batch, not yet committed.
func TestDeleteAllStateInBatch(t *testing.T) {
	db := openDB(t)
	must(t, PutState(db, "S", "k", []byte("committed"), []byte("1")))
	b := db.NewIndexedBatch()
	must(t, PutState(b, "S", "k", []byte("pending"), []byte("2")))
	must(t, PutState(b, "S", "k2", []byte("other"), []byte("3")))
	must(t, DeleteAllState(b, "S", "k"))
	if all, err := AllState(b, "S", "k"); err != nil || len(all) != 0 {
		t.Fatalf("in batch after clearing: %v %v", all, err)
	}
	must(t, b.Commit(pebble.Sync))
	if all, err := AllState(db, "S", "k"); err != nil || len(all) != 0 {
		t.Fatalf("committed after clearing: %v %v", all, err)
	}
	if all, err := AllState(db, "S", "k2"); err != nil || len(all) != 1 {
		t.Fatalf("neighbour k2 after clearing k: %v %v", all, err)
	}
}

// TestInboxFIFO: per key, in seq order (beyond one byte), neighbours apart.
func TestInboxFIFO(t *testing.T) {
	db := openDB(t)
	idOf := func(n byte) ids.InvocationID { return ids.InvocationID{PartitionKey: 1, UUID: [16]byte{n}} }
	for _, seq := range []uint64{256, 3, 1 << 40, 255} {
		must(t, PushInbox(db, "S", "k", seq, idOf(byte(seq%251))))
	}
	must(t, PushInbox(db, "S", "k2", 1, idOf(99)))
	must(t, PushInbox(db, "Sk", "", 1, idOf(98)))
	if n, err := InboxLength(db, "S", "k"); n != 4 || err != nil {
		t.Fatalf("inbox length %d %v, want 4", n, err)
	}
	for _, seq := range []uint64{3, 255, 256, 1 << 40} {
		id, ok, err := PopInbox(db, db, "S", "k")
		if err != nil || !ok || id != idOf(byte(seq%251)) {
			t.Fatalf("pop: %v %v %v, want the invocation of seq %d", id, ok, err, seq)
		}
	}
	if id, ok, err := PopInbox(db, db, "S", "k"); ok || err != nil {
		t.Fatalf("pop from an empty inbox: %v %v %v", id, ok, err)
	}
	for _, o := range []struct{ s, k string }{{"S", "k2"}, {"Sk", ""}} {
		if n, err := InboxLength(db, o.s, o.k); n != 1 || err != nil {
			t.Errorf("inbox (%s,%s): %d %v, want 1", o.s, o.k, n, err)
		}
	}
}

func outboxMsg(n int) *command.OutboxMessage {
	return &command.OutboxMessage{Complete: &command.Completion{ID: testID, CompletionID: uint32(n), Result: command.Result{Value: []byte(fmt.Sprint(n))}}}
}

func outboxSeqs(t *testing.T, r pebble.Reader, from uint64, limit int) []uint64 {
	t.Helper()
	entries, err := Outbox(r, from, limit)
	must(t, err)
	var out []uint64
	for _, e := range entries {
		if e.Message.Complete == nil || e.Message.Complete.CompletionID != uint32(e.Seq) {
			t.Fatalf("outbox seq %d holds %+v", e.Seq, e.Message)
		}
		out = append(out, e.Seq)
	}
	return out
}

// TestOutboxRangeAndTruncation: reads from a seq with a limit, never past the outbox table (the
// idempotency table follows it), and truncation removes exactly the prefix up to a seq.
func TestOutboxRangeAndTruncation(t *testing.T) {
	db := openDB(t)
	for seq := uint64(1); seq <= 5; seq++ {
		must(t, PutOutbox(db, seq, outboxMsg(int(seq))))
	}
	must(t, PutOutbox(db, 256, outboxMsg(256)))
	// Neighbouring tables, both sides.
	must(t, PutIdempotentInvocation(db, command.Target{Service: "S", Handler: "h"}, "i", testID))
	must(t, PutState(db, "S", "k", []byte("n"), []byte("v")))

	tests := []struct {
		from  uint64
		limit int
		want  []uint64
	}{
		{0, 100, []uint64{1, 2, 3, 4, 5, 256}},
		{3, 100, []uint64{3, 4, 5, 256}},
		{3, 2, []uint64{3, 4}},
		{6, 100, []uint64{256}},
		{257, 100, nil},
		{0, 0, nil},
	}
	for _, tt := range tests {
		if got := outboxSeqs(t, db, tt.from, tt.limit); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Outbox(from %d, limit %d) = %v, want %v", tt.from, tt.limit, got, tt.want)
		}
	}

	steps := []struct {
		upTo     uint64
		wantHead uint64
		left     []uint64
	}{
		{2, 2, []uint64{3, 4, 5, 256}},
		{2, 2, []uint64{3, 4, 5, 256}}, // again: nothing changes
		{1, 2, []uint64{3, 4, 5, 256}}, // behind the head: nothing changes
		{5, 5, []uint64{256}},
		{256, 256, nil},
	}
	for _, st := range steps {
		b := db.NewIndexedBatch()
		must(t, TruncateOutbox(b, st.upTo))
		must(t, b.Commit(pebble.Sync))
		head, err := OutboxHead(db)
		must(t, err)
		if got := outboxSeqs(t, db, 0, 100); head != st.wantHead || !reflect.DeepEqual(got, st.left) {
			t.Errorf("after TruncateOutbox(%d): head %d, outbox %v; want head %d, outbox %v", st.upTo, head, got, st.wantHead, st.left)
		}
	}
	if id, ok, err := IdempotentInvocation(db, command.Target{Service: "S", Handler: "h"}, "i"); !ok || err != nil || id != testID {
		t.Errorf("idempotency table after truncation: %v %v %v", id, ok, err)
	}
	if v, ok, err := StateValue(db, "S", "k", []byte("n")); !ok || err != nil || string(v) != "v" {
		t.Errorf("state table after truncation: %q %v %v", v, ok, err)
	}
}

// TestIdempotencyKeyFields: the four strings of an idempotency key do not run into each other.
func TestIdempotencyKeyFields(t *testing.T) {
	db := openDB(t)
	a := ids.InvocationID{PartitionKey: 1}
	b := ids.InvocationID{PartitionKey: 2}
	must(t, PutIdempotentInvocation(db, command.Target{Service: "S", Key: "k", Handler: "h"}, "i", a))
	must(t, PutIdempotentInvocation(db, command.Target{Service: "S", Key: "", Handler: "kh"}, "i", b))
	for _, tt := range []struct {
		t    command.Target
		idem string
		want ids.InvocationID
		ok   bool
	}{
		{command.Target{Service: "S", Key: "k", Handler: "h"}, "i", a, true},
		{command.Target{Service: "S", Key: "", Handler: "kh"}, "i", b, true},
		{command.Target{Service: "S", Key: "k", Handler: "hi"}, "", ids.InvocationID{}, false},
		{command.Target{Service: "S", Key: "k", Handler: "h"}, "j", ids.InvocationID{}, false},
	} {
		got, ok, err := IdempotentInvocation(db, tt.t, tt.idem)
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("IdempotentInvocation(%+v, %q) = %v %v %v, want %v %v", tt.t, tt.idem, got, ok, err, tt.want, tt.ok)
		}
	}
}

// TestTimersOrder: timers come back in wake-time order, then id, then completion id, and the
// limit stops the scan.
func TestTimersOrder(t *testing.T) {
	db := openDB(t)
	adj := adjacentIDs()
	in := []Timer{
		{WakeTime: 1 << 40, ID: adj[0], CompletionID: 1},
		{WakeTime: 256, ID: adj[2], CompletionID: 0},
		{WakeTime: 256, ID: adj[1], CompletionID: 3},
		{WakeTime: 256, ID: adj[1], CompletionID: 2},
		{WakeTime: 255, ID: adj[2], CompletionID: 9},
	}
	for _, tm := range in {
		must(t, PutTimer(db, tm))
	}
	want := []Timer{in[4], in[3], in[2], in[1], in[0]}
	got, err := Timers(db, 0)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Timers = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := Timers(db, 2); err != nil || !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("Timers(limit 2) = %+v, %v", got, err)
	}
	must(t, DeleteTimer(db, in[2]))
	if ok, err := HasTimer(db, in[2]); ok || err != nil {
		t.Fatalf("deleted timer still there: %v %v", ok, err)
	}
	if ok, err := HasTimer(db, in[3]); !ok || err != nil {
		t.Fatalf("neighbouring timer gone: %v %v", ok, err)
	}
}

func TestLockDedupAndCounters(t *testing.T) {
	db := openDB(t)
	must(t, PutLock(db, "S", "k", testID))
	if id, ok, err := Lock(db, "S", "k"); !ok || err != nil || id != testID {
		t.Fatalf("Lock = %v %v %v", id, ok, err)
	}
	if _, ok, _ := Lock(db, "Sk", ""); ok {
		t.Fatal("lock of (Sk, \"\") found the lock of (S, k)")
	}
	must(t, DeleteLock(db, "S", "k"))
	if _, ok, err := Lock(db, "S", "k"); ok || err != nil {
		t.Fatalf("deleted lock: %v %v", ok, err)
	}

	must(t, PutDedup(db, 3, 1<<33))
	if seq, err := Dedup(db, 3); seq != 1<<33 || err != nil {
		t.Fatalf("Dedup(3) = %d %v", seq, err)
	}
	if seq, err := Dedup(db, 4); seq != 0 || err != nil {
		t.Fatalf("Dedup(4) = %d %v, want 0", seq, err)
	}

	for want := uint64(1); want <= 3; want++ {
		if got, err := NextCounter(db, MetaOutboxSeq); got != want || err != nil {
			t.Fatalf("NextCounter = %d %v, want %d", got, err, want)
		}
	}
	if v, err := Counter(db, MetaInboxSeq); v != 0 || err != nil {
		t.Fatalf("untouched counter %d %v", v, err)
	}
	must(t, db.Set(MetaAppliedIndex, []byte{1, 2, 3}, nil))
	if _, err := Counter(db, MetaAppliedIndex); err == nil {
		t.Fatal("a 3-byte counter read without error")
	}
}

// A journal record keeps the log's time it was appended at; one written before that was kept
// (a bare command.Entry) reads with time 0, and reads as a command.Entry either way.
func TestJournalAppendedAt(t *testing.T) {
	db := openDB(t)
	id := ids.NewInvocationID(7, [16]byte{7})
	must(t, AppendJournal(db, id, 0, command.Entry{Type: 0x0400, Payload: []byte("in")}, 1_700_000_000_123))
	must(t, put(db, journalKey(id, 1), &command.Entry{Type: 0x0411, Payload: []byte("run")}))
	callee := ids.NewInvocationID(9, [16]byte{9})
	must(t, AppendJournalCall(db, id, 2, command.Entry{Type: 0x0408, Payload: []byte("call")}, 5,
		&CallRecord{Callee: callee, ServiceType: command.VirtualObject, HandlerType: command.Shared, Retention: &command.Retention{Completion: 7}}))
	var got []string
	must(t, ScanJournals(db, func(_ ids.InvocationID, index uint32, rec JournalRecord) bool {
		e, at := rec.Entry, rec.At
		s := fmt.Sprintf("%d:%x:%s@%d", index, e.Type, e.Payload, at)
		if c := rec.Call; c != nil {
			s += fmt.Sprintf(" call %s %d/%d %d", c.Callee, c.ServiceType, c.HandlerType, c.Retention.Completion)
		}
		got = append(got, s)
		return true
	}))
	want := fmt.Sprintf("[0:400:in@1700000000123 1:411:run@0 2:408:call@5 call %s %d/%d 7]", callee, command.VirtualObject, command.Shared)
	if fmt.Sprint(got) != want {
		t.Errorf("scan %v, want %s", got, want)
	}
	entries, err := Journal(db, id)
	if err != nil || fmt.Sprint(entries) != "[{1024 [105 110]} {1041 [114 117 110]} {1032 [99 97 108 108]}]" {
		t.Errorf("journal %v %v", entries, err)
	}
}
