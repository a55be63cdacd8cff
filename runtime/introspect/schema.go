package introspect

// Column is one column of a table: its name and DuckDB type.
type Column struct {
	Name string
	Type string
}

// Table is one table of the introspection schema.
type Table struct {
	Name    string
	Columns []Column
	// Partitioned tables are read from every partition; the others from the registry.
	Partitioned bool
}

// DuckDB types of restate-server's Arrow types: LargeUtf8, UInt64, UInt32, Boolean,
// Timestamp(ms, "+00:00"), LargeBinary, Duration(ms), List(UInt32), List(LargeUtf8). The
// columns are restate-server 1.7.12's, in its order (testdata/restate-1.7.12-columns.json).
const (
	tString    = "VARCHAR"
	tU64       = "UBIGINT"
	tU32       = "UINTEGER"
	tBool      = "BOOLEAN"
	tTimestamp = "TIMESTAMPTZ"
	tBlob      = "BLOB"
	tDuration  = "INTERVAL"
	tU32List   = "UINTEGER[]"
	tStrList   = "VARCHAR[]"
)

func cols(pairs ...string) []Column {
	out := make([]Column, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Column{Name: pairs[i], Type: pairs[i+1]})
	}
	return out
}

// Table names.
const (
	TableInvocation       = "sys_invocation"
	TableInvocationStatus = "sys_invocation_status"
	TableJournal          = "sys_journal"
	TableState            = "state"
	TableInbox            = "sys_inbox"
	TablePromise          = "sys_promise"
	TableIdempotency      = "sys_idempotency"
	TableKeyedStatus      = "sys_keyed_service_status"
	TableService          = "sys_service"
	TableDeployment       = "sys_deployment"
	TableJournalEvents    = "sys_journal_events"
)

// Tables is the schema, in the order the tables are created.
var Tables = []Table{
	{Name: TableInvocation, Partitioned: true, Columns: cols(
		"id", tString,
		"vqueue_id", tString,
		"target", tString,
		"target_service_name", tString,
		"target_service_key", tString,
		"target_handler_name", tString,
		"target_service_ty", tString,
		"scope", tString,
		"limit_key", tString,
		"idempotency_key", tString,
		"invoked_by", tString,
		"invoked_by_service_name", tString,
		"invoked_by_id", tString,
		"invoked_by_subscription_id", tString,
		"invoked_by_target", tString,
		"restarted_from", tString,
		"pinned_deployment_id", tString,
		"pinned_service_protocol_version", tU32,
		"trace_id", tString,
		"journal_size", tU32,
		"journal_commands_size", tU32,
		"created_at", tTimestamp,
		"created_using_restate_version", tString,
		"modified_at", tTimestamp,
		"inboxed_at", tTimestamp,
		"scheduled_at", tTimestamp,
		"scheduled_start_at", tTimestamp,
		"running_at", tTimestamp,
		"completed_at", tTimestamp,
		"completion_retention", tDuration,
		"journal_retention", tDuration,
		"suspended_waiting_for_completions", tU32List,
		"suspended_waiting_for_signals", tU32List,
		"suspended_waiting_future_json", tString,
		"retry_count", tU64,
		"last_start_at", tTimestamp,
		"next_retry_at", tTimestamp,
		"last_attempt_deployment_id", tString,
		"last_attempt_server", tString,
		"last_failure", tString,
		"last_failure_error_code", tString,
		"last_failure_related_entry_index", tU64,
		"last_failure_related_entry_name", tString,
		"last_failure_related_entry_type", tString,
		"last_failure_related_command_index", tU64,
		"last_failure_related_command_name", tString,
		"last_failure_related_command_type", tString,
		"last_awaiting_on_future_json", tString,
		"status", tString,
		"completion_result", tString,
		"completion_failure", tString,
	)},
	// sys_invocation_status is the status record alone, with the stored status names (inboxed,
	// scheduled, invoked, suspended, paused, completed); sys_invocation adds the invoker's view.
	{Name: TableInvocationStatus, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"id", tString,
		"vqueue_id", tString,
		"status", tString,
		"completion_result", tString,
		"completion_failure", tString,
		"target", tString,
		"target_service_name", tString,
		"target_service_key", tString,
		"target_handler_name", tString,
		"target_service_ty", tString,
		"scope", tString,
		"limit_key", tString,
		"idempotency_key", tString,
		"invoked_by", tString,
		"invoked_by_id", tString,
		"invoked_by_subscription_id", tString,
		"invoked_by_service_name", tString,
		"invoked_by_target", tString,
		"restarted_from", tString,
		"pinned_deployment_id", tString,
		"pinned_service_protocol_version", tU32,
		"trace_id", tString,
		"journal_size", tU32,
		"journal_commands_size", tU32,
		"created_at", tTimestamp,
		"created_using_restate_version", tString,
		"modified_at", tTimestamp,
		"inboxed_at", tTimestamp,
		"scheduled_at", tTimestamp,
		"scheduled_start_at", tTimestamp,
		"running_at", tTimestamp,
		"completed_at", tTimestamp,
		"completion_retention", tDuration,
		"journal_retention", tDuration,
		"suspended_waiting_for_completions", tU32List,
		"suspended_waiting_for_signals", tU32List,
		"suspended_waiting_future_json", tString,
	)},
	{Name: TableJournal, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"id", tString,
		"index", tU32,
		"entry_type", tString,
		"name", tString,
		"completed", tBool,
		"invoked_id", tString,
		"invoked_target", tString,
		"sleep_wakeup_at", tTimestamp,
		"promise_name", tString,
		"raw", tBlob,
		"raw_length", tU64,
		"version", tU32,
		"entry_json", tString,
		"entry_lite_json", tString,
		"appended_at", tTimestamp,
	)},
	{Name: TableJournalEvents, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"id", tString,
		"after_journal_entry_index", tU32,
		"appended_at", tTimestamp,
		"event_type", tString,
		"event_json", tString,
	)},
	{Name: TableState, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"scope", tString,
		"service_name", tString,
		"service_key", tString,
		"key", tString,
		"key_length", tU64,
		"value_utf8", tString,
		"value", tBlob,
		"value_length", tU64,
	)},
	{Name: TableInbox, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"service_name", tString,
		"service_key", tString,
		"id", tString,
		"sequence_number", tU64,
		"created_at", tTimestamp,
	)},
	{Name: TablePromise, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"scope", tString,
		"service_name", tString,
		"service_key", tString,
		"key", tString,
		"completed", tBool,
		"completion_success_value", tBlob,
		"completion_success_value_utf8", tString,
		"completion_failure", tString,
	)},
	// sys_idempotency is not in restate-server 1.7.12 (it was in earlier releases, with these
	// columns); kept because idempotency keys are worth seeing.
	{Name: TableIdempotency, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"service_name", tString,
		"service_key", tString,
		"service_handler", tString,
		"idempotency_key", tString,
		"invocation_id", tString,
	)},
	{Name: TableKeyedStatus, Partitioned: true, Columns: cols(
		"partition_key", tU64,
		"service_name", tString,
		"service_key", tString,
		"invocation_id", tString,
	)},
	{Name: TableService, Columns: cols(
		"name", tString,
		"revision", tU64,
		"public", tBool,
		"ty", tString,
		"deployment_id", tString,
	)},
	{Name: TableDeployment, Columns: cols(
		"id", tString,
		"ty", tString,
		"endpoint", tString,
		"created_at", tTimestamp,
		"min_service_protocol_version", tU32,
		"max_service_protocol_version", tU32,
		"services", tStrList,
	)},
}

// tableByName finds a table of the schema.
func tableByName(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// columnIndex maps a table's column names to their positions.
func columnIndex(t Table) map[string]int {
	m := make(map[string]int, len(t.Columns))
	for i, c := range t.Columns {
		m[c.Name] = i
	}
	return m
}

// keptColumns is the positions of t's columns a query that can read columns (nil: all) needs,
// in t's order; at least one (the first), so that a table read only for COUNT(*) keeps its rows.
func keptColumns(t Table, columns map[string]bool) []int {
	var keep []int
	for i, c := range t.Columns {
		if columns == nil || columns[c.Name] {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		keep = []int{0}
	}
	return keep
}
