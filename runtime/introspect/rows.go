package introspect

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
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
	Table  string  `msgpack:"t"`
	Values [][]any `msgpack:"v"`
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

// PartitionRows reads the named partitioned tables from one partition's storage; snap should
// be a snapshot, so that every table is read at the same applied index. attempts may be nil.
func PartitionRows(snap pebble.Reader, tables []string, attempts AttemptsFunc) ([]Rows, error) {
	var out []Rows
	for _, name := range tables {
		t, ok := tableByName(name)
		if !ok || !t.Partitioned {
			return nil, fmt.Errorf("introspect: %q is not a partition table", name)
		}
		b := newBuilder(t)
		var err error
		switch name {
		case TableInvocation:
			err = invocationRows(snap, b, attempts, false)
		case TableInvocationStatus:
			err = invocationRows(snap, b, nil, true)
		case TableJournal:
			err = journalRows(snap, b)
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
		out = append(out, Rows{Table: name, Values: b.rows})
	}
	return out, nil
}

// RegistryRows reads sys_service or sys_deployment from the registry's view.
func RegistryRows(table string, services []registry.Service, deployments []registry.Deployment) (Rows, error) {
	t, ok := tableByName(table)
	if !ok || t.Partitioned {
		return Rows{}, fmt.Errorf("introspect: %q is not a registry table", table)
	}
	b := newBuilder(t)
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
	index map[string]int
	width int
	rows  [][]any
}

func newBuilder(t Table) *builder {
	return &builder{index: columnIndex(t), width: len(t.Columns)}
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
		if st.Mutation != nil { // a state patch waiting in an inbox: not an invocation
			return true
		}
		r := b.row()
		tg := st.Invocation.Target
		b.set(r, "partition_key", uint64(id.PartitionKey))
		b.set(r, "id", id.String())
		b.set(r, "target", tracing.Full(tg))
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
			b.set(r, "invoked_by_target", tracing.Full(by.Target))
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
		if tr := st.Invocation.Trace; tr != nil { // recorded while tracing was on
			b.set(r, "trace_id", tracing.InvocationContext(id, tr).TraceID().String())
		}
		if p := st.Pinned; p != nil {
			b.set(r, "pinned_deployment_id", p.Deployment.String())
			if p.Protocol > 0 {
				b.set(r, "pinned_service_protocol_version", uint32(p.Protocol))
			}
		}
		b.set(r, "journal_size", st.JournalLength)
		b.set(r, "journal_commands_size", st.CommandCount)
		b.set(r, "created_at", st.CreatedAt)
		b.set(r, "modified_at", st.ModifiedAt)
		if st.Invocation.ExecutionTime > 0 {
			b.set(r, "scheduled_start_at", st.Invocation.ExecutionTime)
		}
		if ret := st.Invocation.Retention; ret != nil {
			b.set(r, "completion_retention", ret.Completion)
			b.set(r, "journal_retention", ret.Journal)
		}
		b.set(r, "retry_count", uint64(0))
		status := ""
		switch st.Phase {
		case storage.Inboxed:
			status = "pending"
			b.set(r, "inboxed_at", st.CreatedAt)
		case storage.Scheduled:
			status = "scheduled"
			b.set(r, "scheduled_at", st.CreatedAt)
		case storage.Suspended:
			status = "suspended"
			completions, signals := []uint32{}, []uint32{}
			if w := st.Waiting; w != nil {
				completions = append(completions, w.Completions...)
				signals = append(signals, w.Signals...)
			}
			b.set(r, "suspended_waiting_for_completions", completions)
			b.set(r, "suspended_waiting_for_signals", signals)
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
		if f := st.LastFailure; f != nil { // paused after its attempts were exhausted
			b.set(r, "last_failure", f.Message)
			b.set(r, "last_failure_error_code", strconv.Itoa(int(f.Code)))
			b.set(r, "retry_count", uint64(st.Attempts))
		}
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
		return true
	})
}

func journalRows(snap pebble.Reader, b *builder) error {
	// A call's callee id arrives in a later CallInvocationIdCompletionNotification of the same
	// journal: calls waits for it, by that notification's completion id.
	var current ids.InvocationID
	calls := map[uint32]row{}
	return storage.ScanJournals(snap, func(id ids.InvocationID, index uint32, e command.Entry, at int64) bool {
		if id != current {
			current = id
			clear(calls)
		}
		r := b.row()
		b.set(r, "partition_key", uint64(id.PartitionKey))
		b.set(r, "id", id.String())
		b.set(r, "index", index)
		b.set(r, "version", uint32(2))
		t := protocol.MessageType(e.Type)
		b.set(r, "entry_type", entryType(t))
		b.set(r, "raw", e.Payload)
		b.set(r, "raw_length", uint64(len(e.Payload)))
		if at != 0 {
			b.set(r, "appended_at", at)
		}
		msg, err := protocol.NewMessage(t)
		if err != nil || proto.Unmarshal(e.Payload, msg) != nil {
			return true
		}
		if js, ok := entryJSON(msg); ok {
			b.set(r, "entry_json", js)
		}
		fields := msg.ProtoReflect()
		desc := fields.Descriptor().Fields()
		str := func(name string) (string, bool) {
			f := desc.ByName(protoreflect.Name(name))
			if f == nil || f.Kind() != protoreflect.StringKind || !fields.Has(f) {
				return "", false
			}
			return fields.Get(f).String(), true
		}
		if t.IsCommand() { // as restate-server: "" for an unnamed command, NULL for notifications
			n, _ := str("name")
			b.set(r, "name", n)
		}
		switch m := msg.(type) {
		case *pb.SleepCommandMessage:
			b.set(r, "sleep_wakeup_at", int64(m.GetWakeUpTime()))
		case *pb.GetPromiseCommandMessage:
			b.set(r, "promise_name", m.GetKey())
		case *pb.PeekPromiseCommandMessage:
			b.set(r, "promise_name", m.GetKey())
		case *pb.CompletePromiseCommandMessage:
			b.set(r, "promise_name", m.GetKey())
		case *pb.CallCommandMessage:
			b.set(r, "invoked_target", targetOf(m.GetServiceName(), m.GetKey(), m.GetHandlerName()))
			calls[m.GetInvocationIdNotificationIdx()] = r
		case *pb.OneWayCallCommandMessage:
			b.set(r, "invoked_target", targetOf(m.GetServiceName(), m.GetKey(), m.GetHandlerName()))
			calls[m.GetInvocationIdNotificationIdx()] = r
		case *pb.CallInvocationIdCompletionNotificationMessage:
			if call, ok := calls[m.GetCompletionId()]; ok {
				b.set(call, "invoked_id", m.GetInvocationId())
			}
		}
		return true
	})
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

// entryType names a journal entry as restate-server's sys_journal does for its v2 journals:
// "Command: Run", "Notification: Sleep", "Notification: Signal".
func entryType(t protocol.MessageType) string {
	name := t.String()
	switch {
	case t.IsCommand():
		return "Command: " + trimSuffix(name, "Command")
	case t == protocol.SignalNotificationType:
		return "Notification: Signal"
	case t.IsNotification():
		return "Notification: " + trimSuffix(trimSuffix(name, "Notification"), "Completion")
	}
	return name
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
		b.set(r, "sequence_number", seq)
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
