//go:build linux && clipending

package cli

import "testing"

// TestCLISQLPending runs sqlScriptFull: sqlScript and the commands that still print
// differently on ours (see the report of issue 13's point 2). Run with -tags clipending.
func TestCLISQLPending(t *testing.T) { compareSQLScript(t, sqlScriptFull) }

var sqlScriptFull = []sqlCommand{
	{args: []string{"services", "status", "--locked-key-held-threshold-second", "100000"}},
	{args: []string{"services", "status", "--locked-key-held-threshold-second", "100000", "Locker"}},
	{args: []string{"services", "status", "--locked-key-held-threshold-second", "100000", "Greeter"}},
	{args: []string{"invocations", "list"}},
	{args: []string{"invocations", "list", "--all"}},
	{args: []string{"invocations", "list", "--service", "Locker", "--key", "k1"}},
	{args: []string{"invocations", "list", "--status", "pending,suspended", "--oldest-first"}},
	{args: []string{"invocations", "list", "--virtual-objects-only"}},
	{args: []string{"invocations", "list", "--completion-result", "failure"}},
	{args: []string{"invocations", "describe", "{holdA}"}},
	{args: []string{"invocations", "describe", "{holdB}"}},
	{args: []string{"invocations", "describe", "{nap}"}},
	{args: []string{"invocations", "describe", "{napLater}"}},
	{args: []string{"invocations", "describe", "{fail}"}},
	{args: []string{"invocations", "describe", "{welcomeCarol}"}},
	{args: []string{"invocations", "describe", "{welcomeFail}"}},
	{args: []string{"invocations", "describe", "{greetBob}"}},
	{args: []string{"invocations", "describe", "inv_1111111111111111111111111111111111"}},
	{args: []string{"kv", "get", "Greeter", "bob"}},
	{args: []string{"kv", "get", "--plain", "Locker", "k1"}},
	{args: []string{"kv", "get", "Greeter", "nobody"}},
	{args: []string{"kv", "get", "Welcome", "x"}},
	{args: []string{"sql", "select id, target, status from sys_invocation where status = 'suspended' order by target"}},
	{args: []string{"sql", "select target, status from sys_invocation where status != 'completed' and modified_at <= now() - interval '1' hour order by target, status"}},
	{args: []string{"sql", "select target, status from sys_invocation where status != 'completed' and modified_at <= now() + interval '1' hour order by target, status"}},
	{args: []string{"sql", "select target, status, retry_count from sys_invocation where status in ('pending', 'suspended', 'paused', 'scheduled', 'backing-off') order by target, status"}},
	{args: []string{"sql", "select id from sys_invocation where to_timestamp(modified_at) <= now() - interval '1' hour;"}},
	{args: []string{"sql", "select index, entry_type, name from sys_journal where id = '{holdA}' order by index"}},
	{args: []string{"sql", "select service_name, service_key, key, value_utf8, value from state where service_name = 'Greeter' and service_key = 'bob';"}},
	{args: []string{"sql", "select invocation_id from sys_keyed_service_status where service_name = 'Locker' and service_key = 'k1';"}},
	{args: []string{"sql", "select sys_invocation.target, sys_invocation.status, state.key from sys_invocation JOIN state on sys_invocation.target_service_name = state.service_name and sys_invocation.target_service_key = state.service_key order by 1, 2, 3;"}},
	{args: []string{"sql", "select invoked_by, invoked_by_service_name, invoked_by_id, trace_id is null as no_trace from sys_invocation where target = 'Greeter/carol/greet'"}},
	{args: []string{"sql", "--json", "select target, created_at, completion_retention, journal_retention, idempotency_key from sys_invocation where id = '{greetBob}'"}},
	{args: []string{"sql", "select service_name, service_key, id, sequence_number from sys_inbox"}},
	{args: []string{"sql", "select name, ty, revision, public, deployment_id from sys_service order by name"}},
	{args: []string{"sql", "select nope from sys_invocation"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{greetBob}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{holdA}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{holdB}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{napLater}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{fail}'"}},
	{args: []string{"sql", "--json", "select id, index, entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name, raw_length, version, entry_json, entry_lite_json, appended_at from sys_journal where id = '{welcomeCarol}' order by index"}},
	{args: []string{"sql", "--json", "select id, index, entry_type, name, completed, sleep_wakeup_at, raw_length, version, entry_json, entry_lite_json from sys_journal where id = '{nap}' order by index"}},
	{args: []string{"sql", "--json", "select service_name, service_key, key, key_length, value_utf8, value, value_length, scope from state order by service_name, service_key, key"}},
	{args: []string{"sql", "--json", "select id, ty, endpoint, min_service_protocol_version, max_service_protocol_version from sys_deployment"}},
	// Refused (the deployment is the latest of its services), after counting its active
	// invocations by SQL.
	{args: []string{"--yes", "deployments", "remove", "{first}"}},
	// Changes, each waited for.
	{args: []string{"--yes", "kv", "edit", "Greeter", "bob"}, until: noRow("state", "service_name = 'Greeter' and service_key = 'bob' and value_utf8 != '5'")},
	{args: []string{"--yes", "kv", "clear", "Greeter/carol"}, until: noRow("state", "service_name = 'Greeter' and service_key = 'carol'")},
	{args: []string{"--yes", "invocations", "cancel", "{nap}"}, until: noRow("sys_invocation", "id = '{nap}' and status != 'completed'")},
	{args: []string{"invocations", "describe", "{nap}"}},
	// One kill at a time: with both at once (kill Locker/k1) whether holdB is kept depends on
	// whether its kill lands before or after it leaves the inbox, on either server.
	{args: []string{"--yes", "invocations", "kill", "{holdA}"}, until: noRow("sys_invocation", "id = '{holdB}' and status != 'suspended'")},
	{args: []string{"--yes", "invocations", "kill", "Locker/k1"}, until: noRow("sys_invocation", "target_service_name = 'Locker' and status != 'completed'")},
	{args: []string{"invocations", "list", "--all", "--service", "Locker"}},
	{args: []string{"--yes", "invocations", "cancel", "Locker"}},
	{args: []string{"--yes", "invocations", "purge", "{holdA}"}, until: noRow("sys_invocation", "id = '{holdA}'")},
	{args: []string{"--yes", "invocations", "purge", "{welcomeFail}"}, until: noRow("sys_invocation", "id = '{welcomeFail}'")},
	{args: []string{"--yes", "invocations", "purge", "Greeter"}, until: noRow("sys_invocation", "target_service_name = 'Greeter'")},
	{args: []string{"invocations", "list", "--all"}},
	{args: []string{"services", "status", "--locked-key-held-threshold-second", "100000"}},
}
