package introspect

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// Rows are one table's rows from one source (a partition or the registry). Values are in the
// table's column order, each nil (NULL) or of the Go type its column's kind takes: string,
// uint64, uint32, bool, []byte, []uint32, []string, and int64 milliseconds for timestamps and
// durations. Rows travel between nodes msgpack-encoded; append converts what decoding widened
// or narrowed.
type Rows struct {
	Table string `msgpack:"t"`
	// Columns names the columns of Values' rows, in the table's order, when they are not all
	// of the table's (a read of Read.Columns).
	Columns []string `msgpack:"c,omitempty"`
	Values  [][]any  `msgpack:"v"`
}

// Attempt is the invoker's view of a running invocation's attempts (from
// invoker.Invoker.Attempts, on the partition's leader, where the invoker runs them).
type Attempt struct {
	// Count is the number of the current or last attempt, 1 for the first.
	Count int
	// Running: an attempt is under way; otherwise it waits until NextRetryAt.
	Running     bool
	NextRetryAt time.Time
	LastFailure string
	Deployment  ids.DeploymentID
}

// AttemptsFunc reports the invoker's view of invocation id, if it runs or retries it.
type AttemptsFunc func(id ids.InvocationID) (Attempt, bool)

// Read is what a query reads of the partitions: the partitioned tables it names and, for some
// of them, the only invocations it can see (a query whose WHERE says id = '…' or id IN (…): see
// pushDown). Only's tables are among those with an invocation id column: sys_invocation,
// sys_invocation_status, sys_journal, sys_journal_events.
type Read struct {
	Tables []string
	Only   map[string][]ids.InvocationID
	// Columns is the columns the query can read (neededColumns); nil: all. A table's rows
	// carry only those it has (at least one: keptColumns).
	Columns map[string]bool
}

// Partitions is the partitions a read needs, by index (index maps a partition key to its
// partition): those of its ids when every table it reads is restricted to ids, else nil (all).
func (rd Read) Partitions(index func(ids.PartitionKey) uint32) map[uint32]bool {
	out := map[uint32]bool{}
	for _, t := range rd.Tables {
		only, ok := rd.Only[t]
		if !ok {
			return nil
		}
		for _, id := range only {
			out[index(id.PartitionKey)] = true
		}
	}
	return out
}

// PartitionRows reads the partitioned tables of rd from one partition's storage; snap should
// be a snapshot, so that every table is read at the same applied index. attempts may be nil.
func PartitionRows(snap pebble.Reader, rd Read, attempts AttemptsFunc) (out []Rows, err error) {
	defer func() { // a record the rows cannot render fails the query, not the server
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("introspect: reading %v: %v", rd.Tables, p)
		}
	}()
	for _, name := range rd.Tables {
		t, ok := tableByName(name)
		if !ok || !t.Partitioned {
			return nil, fmt.Errorf("introspect: %q is not a partition table", name)
		}
		b := newBuilder(t, rd.Columns)
		var err error
		only, restricted := rd.Only[name]
		switch name {
		case TableInvocation, TableInvocationStatus:
			if name == TableInvocationStatus {
				attempts = nil
			}
			if restricted {
				err = invocationRowsOf(snap, b, only, attempts, name == TableInvocationStatus)
			} else {
				err = invocationRows(snap, b, attempts, name == TableInvocationStatus)
			}
		case TableJournal:
			if restricted {
				for _, id := range only {
					if err = storage.ScanJournalOf(snap, id, journalRow(b)); err != nil {
						break
					}
				}
			} else {
				err = storage.ScanJournals(snap, journalRow(b))
			}
		case TableJournalEvents:
			if restricted {
				for _, id := range only {
					if err = storage.ScanJournalEventsOf(snap, id, eventRow(b)); err != nil {
						break
					}
				}
			} else {
				err = storage.ScanJournalEvents(snap, eventRow(b))
			}
		case TableState:
			err = stateRows(snap, b)
		case TableInbox:
			err = inboxRows(snap, b)
		case TablePromise:
			err = promiseRows(snap, b)
		case TableIdempotency:
			err = idempotencyRows(snap, b)
		case TableKeyedStatus:
			err = storage.ScanLocks(snap, func(service, key string, id ids.InvocationID) bool {
				r := b.row()
				b.set(r, "partition_key", uint64(ids.KeyedPartitionKey(service, key)))
				b.set(r, "service_name", service)
				b.set(r, "service_key", key)
				b.set(r, "invocation_id", id.String())
				return true
			})
		}
		if err != nil {
			return nil, fmt.Errorf("introspect: read %s: %w", name, err)
		}
		out = append(out, Rows{Table: name, Columns: b.columns, Values: b.rows})
	}
	return out, nil
}

// RegistryRows reads sys_service or sys_deployment from the registry's view.
func RegistryRows(table string, services []registry.Service, deployments []registry.Deployment) (Rows, error) {
	t, ok := tableByName(table)
	if !ok || t.Partitioned {
		return Rows{}, fmt.Errorf("introspect: %q is not a registry table", table)
	}
	b := newBuilder(t, nil)
	switch table {
	case TableService:
		for _, s := range services {
			r := b.row()
			b.set(r, "name", s.Name)
			b.set(r, "revision", uint64(s.Revision))
			b.set(r, "public", !s.Options.IngressPrivate)
			b.set(r, "ty", s.Type.Ty())
			b.set(r, "deployment_id", s.DeploymentID.String())
		}
	case TableDeployment:
		for _, d := range deployments {
			r := b.row()
			b.set(r, "id", d.ID.String())
			b.set(r, "ty", "http")
			b.set(r, "endpoint", d.URI)
			b.set(r, "created_at", d.CreatedAt)
			b.set(r, "min_service_protocol_version", uint32(d.MinProtocolVersion))
			b.set(r, "max_service_protocol_version", uint32(d.MaxProtocolVersion))
			names := make([]string, len(d.Services))
			for i, svc := range d.Services {
				names[i] = svc.Name
			}
			b.set(r, "services", names)
		}
	}
	return Rows{Table: table, Values: b.rows}, nil
}

// builder collects a table's rows, setting values by column name.
type builder struct {
	index   map[string]int
	columns []string // the columns of a narrow row (nil: all of the table's)
	width   int
	rows    [][]any
}

// newBuilder builds rows of t with the columns of t in columns (nil: all; keptColumns).
func newBuilder(t Table, columns map[string]bool) *builder {
	if columns == nil {
		return &builder{index: columnIndex(t), width: len(t.Columns)}
	}
	b := &builder{index: map[string]int{}}
	for _, i := range keptColumns(t, columns) {
		b.index[t.Columns[i].Name] = len(b.columns)
		b.columns = append(b.columns, t.Columns[i].Name)
	}
	b.width = len(b.columns)
	return b
}

type row []any

func (b *builder) row() row {
	r := make(row, b.width)
	b.rows = append(b.rows, r)
	return r
}

// set stores v in column name; a column the table does not have is skipped (sys_invocation
// and sys_invocation_status share their producer but not every column).
func (b *builder) set(r row, name string, v any) {
	if i, ok := b.index[name]; ok {
		r[i] = v
	}
}

// has reports whether the table being filled has column name (a query's unused columns are
// pruned).
func (b *builder) has(name string) bool {
	_, ok := b.index[name]
	return ok
}

// waitingFutureJSON is restate-server's suspended_waiting_future_json of an invocation suspended
// on the given notifications: an "Unknown" combinator (a suspension does not say how the
// handler combines them) of each completion id, signal index and signal name.
func waitingFutureJSON(completions, signals []uint32, names []string) string {
	futures := make([]obj, 0, len(completions)+len(signals)+len(names))
	for _, c := range completions {
		futures = append(futures, obj{{"Single", obj{{"CompletionId", c}}}})
	}
	for _, s := range signals {
		futures = append(futures, obj{{"Single", obj{{"SignalIndex", s}}}})
	}
	for _, n := range names {
		futures = append(futures, obj{{"Single", obj{{"SignalName", n}}}})
	}
	out, _ := marshal(obj{{"Unknown", futures}})
	return out
}

// setNonZero sets a time column if the time was recorded (not 0).
func (b *builder) setNonZero(r row, name string, at int64) {
	if at != 0 {
		b.set(r, name, at)
	}
}

func failureString(f *command.Failure) string {
	return "[" + strconv.Itoa(int(f.Code)) + "] " + f.Message
}

// utf8OrNil is s as a string if it is valid UTF-8, else NULL.
func utf8OrNil(s []byte) any {
	if utf8.Valid(s) {
		return string(s)
	}
	return nil
}

// invocationRows fills sys_invocation, or with stored sys_invocation_status and its stored
// status names (inboxed, scheduled, invoked, suspended, paused, completed).
func invocationRows(snap pebble.Reader, b *builder, attempts AttemptsFunc, stored bool) error {
	return storage.ScanStatuses(snap, func(id ids.InvocationID, st *storage.InvocationStatus) bool {
		invocationRow(b, id, st, attempts, stored)
		return true
	})
}

// invocationRowsOf is invocationRows of the invocations only (those this partition has).
func invocationRowsOf(snap pebble.Reader, b *builder, only []ids.InvocationID, attempts AttemptsFunc, stored bool) error {
	for _, id := range only {
		st, found, err := storage.Status(snap, id)
		if err != nil {
			return err
		}
		if found {
			invocationRow(b, id, &st, attempts, stored)
		}
	}
	return nil
}

// invocationRow adds the row of invocation id (nothing for a state patch waiting in an inbox:
// not an invocation).
func invocationRow(b *builder, id ids.InvocationID, st *storage.InvocationStatus, attempts AttemptsFunc, stored bool) {
	if st.Mutation != nil {
		return
	}
	r := b.row()
	tg := st.Invocation.Target
	b.set(r, "partition_key", uint64(id.PartitionKey))
	if b.has("id") {
		b.set(r, "id", id.String())
	}
	if b.has("target") {
		b.set(r, "target", tracing.Full(tg))
	}
	b.set(r, "target_service_name", tg.Service)
	if tg.Keyed() {
		b.set(r, "target_service_key", tg.Key)
	}
	b.set(r, "target_handler_name", tg.Handler)
	b.set(r, "target_service_ty", tg.ServiceType.Ty())
	if k := st.Invocation.IdempotencyKey; k != "" {
		b.set(r, "idempotency_key", k)
	}
	b.set(r, "invoked_by", "ingress")
	switch by := st.Invocation.InvokedBy; {
	case by != nil:
		b.set(r, "invoked_by", "service")
		b.set(r, "invoked_by_id", by.ID.String())
		b.set(r, "invoked_by_service_name", by.Target.Service)
		if b.has("invoked_by_target") {
			b.set(r, "invoked_by_target", tracing.Full(by.Target))
		}
	case st.Invocation.Caller != nil && st.Invocation.Caller.ID != (ids.InvocationID{}):
		b.set(r, "invoked_by", "service") // recorded before InvokedBy existed
		b.set(r, "invoked_by_id", st.Invocation.Caller.ID.String())
	default:
		for _, h := range st.Invocation.Headers {
			if h.Key == "restate.subscription.id" {
				b.set(r, "invoked_by", "subscription")
				b.set(r, "invoked_by_subscription_id", h.Value)
			}
		}
	}
	if st.CreatedUsing != "" {
		b.set(r, "created_using_restate_version", st.CreatedUsing)
	}
	if p := st.Pinned; p != nil {
		b.set(r, "pinned_deployment_id", p.Deployment.String())
		if p.Protocol > 0 {
			b.set(r, "pinned_service_protocol_version", uint32(p.Protocol))
		}
	}
	if st.Phase != storage.Inboxed && st.Phase != storage.Scheduled {
		// As restate-server: an invocation that has not started has no journal (ours holds
		// its input as entry 0 already) and no trace yet.
		b.set(r, "journal_size", st.JournalLength)
		b.set(r, "journal_commands_size", st.CommandCount)
		if tr := st.Invocation.Trace; tr != nil && b.has("trace_id") { // recorded while tracing was on
			b.set(r, "trace_id", tracing.InvocationContext(id, tr).TraceID().String())
		}
	}
	b.set(r, "created_at", st.CreatedAt)
	b.set(r, "modified_at", st.ModifiedAt)
	inboxedAt, scheduledAt := st.InboxedAt, st.ScheduledAt
	switch { // recorded before the transition times were kept: the creation time
	case st.Phase == storage.Inboxed && inboxedAt == 0:
		inboxedAt = st.CreatedAt
	case st.Phase == storage.Scheduled && scheduledAt == 0:
		scheduledAt = st.CreatedAt
	}
	b.setNonZero(r, "inboxed_at", inboxedAt)
	b.setNonZero(r, "scheduled_at", scheduledAt)
	b.setNonZero(r, "running_at", st.RunningAt)
	if st.Invocation.ExecutionTime > 0 {
		b.set(r, "scheduled_start_at", st.Invocation.ExecutionTime)
	}
	if ret := st.Invocation.Retention; ret != nil {
		b.set(r, "completion_retention", ret.Completion)
		b.set(r, "journal_retention", ret.Journal)
	}
	status := ""
	switch st.Phase {
	case storage.Inboxed:
		status = "pending"
	case storage.Scheduled:
		status = "scheduled"
	case storage.Suspended:
		status = "suspended"
		var w storage.Waiting
		if st.Waiting != nil {
			w = *st.Waiting
		}
		completions, signals := slices.Sorted(slices.Values(w.Completions)), slices.Sorted(slices.Values(w.Signals))
		b.set(r, "suspended_waiting_for_completions", append([]uint32{}, completions...))
		b.set(r, "suspended_waiting_for_signals", append([]uint32{}, signals...))
		b.set(r, "suspended_waiting_future_json", waitingFutureJSON(completions, signals, slices.Sorted(slices.Values(w.NamedSignals))))
	case storage.Paused:
		status = "paused"
	case storage.Completed:
		status = "completed"
		b.set(r, "completed_at", st.ModifiedAt)
		if res := st.Result; res != nil {
			if res.Failure != nil {
				b.set(r, "completion_result", "failure")
				b.set(r, "completion_failure", failureString(res.Failure))
			} else {
				b.set(r, "completion_result", "success")
			}
		}
	case storage.Running:
		status = "ready"
	}
	// retry_count, last_failure and the other attempt columns come from the invoker's state
	// of an invocation it runs or retries, as restate-server's come from its
	// sys_invocation_state: NULL for any other. (A paused invocation's last failure is not
	// in sys_invocation on restate-server either; GET /invocations/{id} shows ours.)
	if attempts != nil && st.Phase == storage.Running {
		if a, ok := attempts(id); ok {
			b.set(r, "retry_count", uint64(a.Count))
			switch {
			case a.Running:
				status = "running"
			case a.Count > 0:
				status = "backing-off"
				if !a.NextRetryAt.IsZero() {
					b.set(r, "next_retry_at", a.NextRetryAt.UnixMilli())
				}
			}
			if a.LastFailure != "" {
				b.set(r, "last_failure", a.LastFailure)
			}
			if a.Deployment != (ids.DeploymentID{}) {
				b.set(r, "last_attempt_deployment_id", a.Deployment.String())
			}
		}
	}
	if stored {
		status = storedStatus(st.Phase)
	}
	b.set(r, "status", status)
}

// journalRow adds sys_journal rows as restate-server does for its version-2 journals: the entry's
// type, name, raw bytes, append time, entry_json and entry_lite_json; the version-1 columns
// (completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name) stay NULL, as there.
func journalRow(b *builder) func(id ids.InvocationID, index uint32, rec storage.JournalRecord) bool {
	return func(id ids.InvocationID, index uint32, rec storage.JournalRecord) bool {
		e := rec.Entry
		r := b.row()
		b.set(r, "partition_key", uint64(id.PartitionKey))
		b.set(r, "id", id.String())
		b.set(r, "index", index)
		b.set(r, "version", uint32(2))
		t := protocol.MessageType(e.Type)
		b.set(r, "entry_type", t.JournalName())
		b.set(r, "raw", e.Payload)
		b.set(r, "raw_length", uint64(len(e.Payload)))
		b.setNonZero(r, "appended_at", rec.At)
		msg, err := protocol.NewMessage(t)
		if err != nil || proto.Unmarshal(e.Payload, msg) != nil {
			return true
		}
		if b.has("entry_json") {
			if js, ok := entryJSON(msg, rec.Call); ok {
				b.set(r, "entry_json", js)
			}
		}
		if b.has("entry_lite_json") {
			if js, ok := entryLiteJSON(msg, rec.Call); ok {
				b.set(r, "entry_lite_json", js)
			}
		}
		if t.IsCommand() { // as restate-server: "" for an unnamed command, NULL for notifications
			fields := msg.ProtoReflect()
			n := ""
			if f := fields.Descriptor().Fields().ByName("name"); f != nil && f.Kind() == protoreflect.StringKind {
				n = fields.Get(f).String()
			}
			b.set(r, "name", n)
		}
		return true
	}
}

func targetOf(service, key, handler string) string {
	if key != "" {
		return service + "/" + key + "/" + handler
	}
	return service + "/" + handler
}

// storedStatus names a phase as sys_invocation_status does.
func storedStatus(p storage.Phase) string {
	switch p {
	case storage.Inboxed:
		return "inboxed"
	case storage.Scheduled:
		return "scheduled"
	case storage.Running:
		return "invoked"
	case storage.Suspended:
		return "suspended"
	case storage.Paused:
		return "paused"
	case storage.Completed:
		return "completed"
	}
	return "unknown"
}

func trimSuffix(s, suffix string) string {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return s
}

func stateRows(snap pebble.Reader, b *builder) error {
	return storage.ScanState(snap, func(service, key string, name, value []byte) bool {
		r := b.row()
		b.set(r, "partition_key", uint64(ids.KeyedPartitionKey(service, key)))
		b.set(r, "service_name", service)
		b.set(r, "service_key", key)
		b.set(r, "key", string(name))
		b.set(r, "key_length", uint64(len(name)))
		b.set(r, "value_utf8", utf8OrNil(value))
		b.set(r, "value", value)
		b.set(r, "value_length", uint64(len(value)))
		return true
	})
}

func inboxRows(snap pebble.Reader, b *builder) error {
	var inboxed []ids.InvocationID
	var rs []row
	err := storage.ScanInboxes(snap, func(service, key string, seq uint64, id ids.InvocationID) bool {
		r := b.row()
		b.set(r, "partition_key", uint64(ids.KeyedPartitionKey(service, key)))
		b.set(r, "service_name", service)
		b.set(r, "service_key", key)
		b.set(r, "id", id.String())
		// Ours numbers a partition's inbox entries from 1 (0 is "not in an inbox" in a status);
		// restate-server from 0.
		b.set(r, "sequence_number", seq-1)
		inboxed = append(inboxed, id)
		rs = append(rs, r)
		return true
	})
	if err != nil {
		return err
	}
	for i, id := range inboxed {
		st, found, err := storage.Status(snap, id)
		if err != nil {
			return err
		}
		if found {
			b.set(rs[i], "created_at", st.CreatedAt)
		}
	}
	return nil
}

func promiseRows(snap pebble.Reader, b *builder) error {
	return storage.ScanPromises(snap, func(service, key, name string, p *storage.Promise) bool {
		r := b.row()
		b.set(r, "partition_key", uint64(ids.KeyedPartitionKey(service, key)))
		b.set(r, "service_name", service)
		b.set(r, "service_key", key)
		b.set(r, "key", name)
		b.set(r, "completed", p.Completed)
		if p.Completed {
			if p.Result.Failure != nil {
				b.set(r, "completion_failure", failureString(p.Result.Failure))
			} else {
				b.set(r, "completion_success_value", p.Result.Value)
				b.set(r, "completion_success_value_utf8", utf8OrNil(p.Result.Value))
			}
		}
		return true
	})
}

func idempotencyRows(snap pebble.Reader, b *builder) error {
	return storage.ScanIdempotency(snap, func(service, key, handler, idem string, id ids.InvocationID) bool {
		r := b.row()
		b.set(r, "partition_key", uint64(id.PartitionKey))
		b.set(r, "service_name", service)
		if key != "" {
			b.set(r, "service_key", key)
		}
		b.set(r, "service_handler", handler)
		b.set(r, "idempotency_key", idem)
		b.set(r, "invocation_id", id.String())
		return true
	})
}
