//go:build linux

package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// The services of the SQL workload, besides the greeter example's: Locker/{key}/hold keeps its
// key locked on an awakeable nobody resolves (so a second call waits in the inbox), Sleeper/nap
// sleeps an hour, Sleeper/fail fails once and is paused. A one-second inactivity timeout makes
// the waiting ones suspend soon on both servers.
var (
	locker = sdk.NewObject("Locker", sdk.WithInactivityTimeout(time.Second)).
		Handler("hold", sdk.ObjectHandler(hold))
	sleeper = sdk.NewService("Sleeper", sdk.WithInactivityTimeout(time.Second)).
		Handler("nap", sdk.ServiceHandler(nap)).
		Handler("fail", sdk.ServiceHandler(fail, sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(1), sdk.PauseOnMaxAttempts())))
)

func hold(ctx sdk.ObjectContext, in string) (string, error) {
	if err := sdk.Set(ctx, "held", in); err != nil {
		return "", err
	}
	if _, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "ready", nil }, sdk.WithName("prepare")); err != nil {
		return "", err
	}
	return sdk.Awakeable[string](ctx).Result()
}

func nap(ctx sdk.Context, _ string) (string, error) { return "", sdk.Sleep(ctx, time.Hour) }

func fail(sdk.Context, string) (string, error) { return "", fmt.Errorf("always failing") }

// call is one ingress request of the workload; name names its invocation id in commands
// ({name}) and in what they print.
type call struct{ name, path, body string }

// workload runs in order on both servers, each request with an idempotency key of its own
// (restate-server gives every ingress request one, so listings show one on both). It leaves:
// completed greetBob, welcomeCarol (and the Greeter/carol call it made), welcomeFail (failed);
// holdA suspended holding Locker/k1 and holdB pending behind it; nap suspended; napLater
// scheduled in an hour; fail paused.
var workload = []call{
	{"{greetBob}", "/Greeter/bob/greet", `"Hi"`},
	{"{welcomeCarol}", "/Welcome/welcome", `"carol"`},
	{"{welcomeFail}", "/Welcome/welcome", `""`},
	{"{holdA}", "/Locker/k1/hold/send", `"a"`},
	{"{holdB}", "/Locker/k1/hold/send", `"b"`},
	{"{nap}", "/Sleeper/nap/send", `"x"`},
	{"{napLater}", "/Sleeper/nap/send?delay=1h", `"y"`},
	{"{fail}", "/Sleeper/fail/send", `"z"`},
}

// settled is where the workload's unfinished invocations rest (status by name).
var settled = map[string]string{
	"{holdA}": "suspended", "{holdB}": "pending", "{nap}": "suspended", "{napLater}": "scheduled", "{fail}": "paused",
}

// sqlCommand is one CLI command of sqlScript. If until is set, the command changed something
// the servers apply later: the test then waits until no row matches the SQL condition until
// (on sys_invocation or state, {names} expanded) before the next command.
type sqlCommand struct {
	args  []string
	until string
	// badRequest: the query is bad input, which ours answers 400 and restate-server 500 (it
	// answers 400 to a parse error, 500 to a query naming what does not exist): the test
	// checks ours says 400 and compares the rest.
	badRequest bool
}

// noRow is a query that returns a row once no row of table matches cond.
func noRow(table, cond string) string {
	return fmt.Sprintf("select n from (select count(*) as n from %s where %s) where n = 0", table, cond)
}

// sqlScript is the CLI commands that read through POST /query, in order: the read-only ones
// first, then the ones that change invocations, each followed by a read that shows it. The sql
// queries are those of Restate's introspection docs (docs/services/introspection.mdx):
// invocations by status, one invocation's journal, the state of a key, the lock holder of a
// Virtual Object key, the sys_invocation/state join, how an invocation was invoked, the docs'
// to_timestamp; whole rows of sys_invocation and sys_journal as JSON.
var sqlScript = []sqlCommand{
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
	{args: []string{"sql", "select nope from sys_invocation"}, badRequest: true},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{greetBob}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{holdA}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{holdB}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{napLater}'"}},
	{args: []string{"sql", "--json", "select * from sys_invocation where id = '{fail}'"}},
	{args: []string{"sql", "--json", "select id, index, entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name, raw_length, version, entry_json, entry_lite_json, appended_at from sys_journal where id = '{welcomeCarol}' order by index"}},
	{args: []string{"sql", "--json", "select id, index, entry_type, name, completed, sleep_wakeup_at, raw_length, version, entry_json, entry_lite_json from sys_journal where id = '{nap}' order by index"}},
	{args: []string{"sql", "--json", "select service_name, service_key, key, key_length, value_utf8, value, value_length, scope from state order by service_name, service_key, key"}},
	{args: []string{"sql", "--json", "select id, ty, endpoint, min_service_protocol_version, max_service_protocol_version from sys_deployment"}},
	// fail's pause after its last attempt, with that attempt's failure (the only journal event
	// of the workload: no attempt is retried, and V6 suspensions record none).
	{args: []string{"sql", "--json", "select e.id, e.after_journal_entry_index, e.event_type, e.event_json, e.appended_at >= i.created_at as after_creation from sys_journal_events e join sys_invocation i on i.id = e.id order by e.id, e.appended_at"}},
	// Refused (the deployment is the latest of its services), after counting its active
	// invocations by SQL.
	{args: []string{"--yes", "deployments", "remove", "{first}"}},
	// Changes, each waited for.
	{args: []string{"--yes", "kv", "edit", "Greeter", "bob"}, until: noRow("state", "service_name = 'Greeter' and service_key = 'bob' and value_utf8 != '5'")},
	{args: []string{"kv", "get", "Greeter", "bob"}},
	{args: []string{"--yes", "kv", "clear", "Greeter/carol"}, until: noRow("state", "service_name = 'Greeter' and service_key = 'carol'")},
	{args: []string{"--yes", "kv", "clear", "Greeter/carol"}},
	{args: []string{"--yes", "invocations", "cancel", "{nap}"}, until: noRow("sys_invocation", "id = '{nap}' and status != 'completed'")},
	{args: []string{"invocations", "describe", "{nap}"}},
	// One kill at a time: with both at once (kill Locker/k1) whether holdB is kept depends on
	// whether its kill lands before or after it leaves the inbox, on either server.
	{args: []string{"--yes", "invocations", "kill", "{holdA}"}, until: noRow("sys_invocation", "id = '{holdB}' and status != 'suspended'")},
	{args: []string{"invocations", "list", "--service", "Locker"}},
	{args: []string{"--yes", "invocations", "cancel", "{holdA}"}},
	{args: []string{"--yes", "invocations", "kill", "Locker/k1"}, until: noRow("sys_invocation", "target_service_name = 'Locker' and status != 'completed'")},
	{args: []string{"invocations", "list", "--all", "--service", "Locker"}},
	{args: []string{"--yes", "invocations", "cancel", "Locker"}},
	{args: []string{"--yes", "invocations", "purge", "{holdA}"}, until: noRow("sys_invocation", "id = '{holdA}'")},
	{args: []string{"--yes", "invocations", "purge", "{welcomeFail}"}, until: noRow("sys_invocation", "id = '{welcomeFail}'")},
	{args: []string{"--yes", "invocations", "purge", "Greeter"}, until: noRow("sys_invocation", "target_service_name = 'Greeter'")},
	{args: []string{"invocations", "list", "--all"}},
	{args: []string{"services", "status", "--locked-key-held-threshold-second", "100000"}},
}

// TestCLISQLMatchesOfficial runs sqlScript with the official CLI against restate-server
// 1.7.12 and against ours after the same workload, and compares what the CLI prints and its
// exit status, normalised as TestCLIMatchesOfficial does and with the workload's invocation
// ids named, durations and query times made <dur>.
func TestCLISQLMatchesOfficial(t *testing.T) { compareSQLScript(t, sqlScript) }

// compareSQLScript runs script against restate-server and ours after the workload and fails
// the test for every command whose answers differ.
func compareSQLScript(t *testing.T, script []sqlCommand) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(root, cliBin)
	official := filepath.Join(root, officialServerBin)
	_, cliErr := os.Stat(cli)
	testenv.RequirePrereq(t, cliErr == nil, "%s missing: run `npm ci` in compat/cli (.ci/run does)", cliBin)
	_, serverErr := os.Stat(official)
	testenv.RequirePrereq(t, serverErr == nil, "%s missing: run `npm ci` in compat/ts", officialServerBin)

	// The RESTATE_EDITOR of `kv edit`: it sets Greeter/bob's count to 5.
	editor = filepath.Join(t.TempDir(), "editor")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nprintf '{\"count\": 5}' > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	uri := serveWorkload(t)
	theirs := startOfficial(t, official)
	// restate-server 1.7.12 speaks service protocol V6 unless its protocol_v7 switch is on; ours
	// V7. Both speak V6 here, so that the protocol pinned and what a suspension waits on are
	// the same on both.
	srv := testenv.StartServer(t, testenv.ServerConfig{Args: []string{"--retry-initial-interval", "500ms", "--retry-max-interval", "1m", "--max-protocol-version", "6"}})
	ours := side{"ours", srv.Admin, srv.Ingress, t.TempDir()}

	want := runSQLScript(t, cli, theirs, uri, script)
	got := runSQLScript(t, cli, ours, uri, script)
	alike := 0
	for i, c := range script {
		w, g := want[i], got[i]
		if c.badRequest {
			if !strings.Contains(g.raw, "Http status code 400 Bad Request") {
				t.Errorf("restate %s: ours did not answer 400:\n%s", strings.Join(c.args, " "), g.raw)
			}
			w.normal = errorStatus.ReplaceAllString(w.normal, "-> Http status code <status>")
			g.normal = errorStatus.ReplaceAllString(g.normal, "-> Http status code <status>")
		}
		if w.normal != g.normal {
			t.Errorf("restate %s: ours and restate-server print differently\nlines only ours prints:\n%s\nlines only restate-server prints:\n%s\nours:\n%s\nrestate-server:\n%s",
				strings.Join(c.args, " "), only(g.normal, w.normal), only(w.normal, g.normal), g.raw, w.raw)
			continue
		}
		alike++
	}
	t.Logf("%d of %d commands print alike", alike, len(script))
}

// runSQLScript registers uri on s, runs the workload, waits until it has settled, and runs
// script, returning each command's answer.
func runSQLScript(t *testing.T, cli string, s side, uri string, script []sqlCommand) []answer {
	t.Helper()
	reg, err := testenv.Register(s.admin, uri)
	if err != nil {
		t.Fatalf("%s: register %s: %v", s.name, uri, err)
	}
	names := map[string]string{"{first}": reg.ID}
	for _, c := range workload {
		names[c.name] = invoke(t, s, c)
	}
	waiting := waitRows(t, s, names, settledQuery(names))

	var out []answer
	for _, c := range script {
		args := expandNames(c.args, names)
		text, code := runCLI(t, cli, s, args)
		raw := fmt.Sprintf("exit %d\n%s", code, text)
		out = append(out, answer{raw, normaliseSQL(raw, s, names, uri)})
		if c.until != "" && waiting {
			waiting = waitRows(t, s, names, c.until)
		}
	}
	return out
}

// invoke sends c to s's ingress with an idempotency key named for it and returns the id of the
// invocation it made.
func invoke(t *testing.T, s side, c call) string {
	t.Helper()
	hdr := http.Header{"Idempotency-Key": {strings.Trim(c.name, "{}")}}
	r, err := testenv.Post(testenv.HTTPClient, s.ingress+c.path, c.body, hdr)
	if err != nil {
		t.Fatalf("%s: %s: %v", s.name, c.path, err)
	}
	if id := r.Header.Get("x-restate-id"); id != "" {
		return id
	}
	var sent struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil || sent.InvocationID == "" {
		t.Fatalf("%s: POST %s: no invocation id in %v (%v)", s.name, c.path, r, err)
	}
	return sent.InvocationID
}

// settledQuery returns a row once every unfinished invocation of the workload is where settled
// says.
func settledQuery(names map[string]string) string {
	var conds []string
	for name, status := range settled {
		conds = append(conds, fmt.Sprintf("(id = '%s' and status = '%s')", names[name], status))
	}
	slices.Sort(conds)
	return fmt.Sprintf("select n from (select count(*) as n from sys_invocation where %s) where n = %d", strings.Join(conds, " or "), len(settled))
}

// waitRows polls s's POST /query with query ({names} expanded) until it returns a row. It
// fails the test and returns false after a minute (the commands still run and show what
// differs; the caller waits no more on that side).
func waitRows(t *testing.T, s side, names map[string]string, query string) bool {
	t.Helper()
	query = expandNames([]string{query}, names)[0]
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		rows, err := sqlRows(s.admin, query)
		if err == nil && len(rows) > 0 {
			return true
		}
		last = fmt.Sprintf("%d rows, %v", len(rows), err)
		if time.Now().After(deadline) {
			t.Errorf("%s: %q returned no row in a minute (last: %s)", s.name, query, last)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sqlRows runs query by admin's POST /query in JSON, as the CLI does.
func sqlRows(admin, query string) ([]map[string]any, error) {
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return nil, err
	}
	r, err := testenv.Post(testenv.HTTPClient, admin+"/query", string(body), http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusOK {
		return nil, fmt.Errorf("POST /query: %v", r)
	}
	var v struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, fmt.Errorf("POST /query: %w in %s", err, r.Body)
	}
	return v.Rows, nil
}

func expandNames(args []string, names map[string]string) []string {
	var pairs []string
	for k, v := range names {
		pairs = append(pairs, k, v)
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

var (
	// chrono's DateTime<Local> as the CLI prints it whatever --time-format says.
	localTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d\d:\d\d`)
	// chrono's TimeDelta as --time-format iso8601 prints durations (PT26.624123S, P0D, -PT1S).
	isoDuration = regexp.MustCompile(`-?P(\d+D)?(T\d+(\.\d+)?S)?\b`)
	queryTook   = regexp.MustCompile(`Query took \S+`)
	// How long a Virtual Object's invocation has been suspended decides whether the CLI adds
	// this (more than 5 s): a matter of when the command runs.
	keyNote = regexp.MustCompile(`\(<dur>\. The key will not be released until this invocation is complete\)`)
	// The words of an SQL error are the engine's (DataFusion's or DuckDB's, over several
	// lines); the HTTP status after them is compared.
	queryError = regexp.MustCompile(`(?s)Error: <UNKNOWN> .*?\n\s*-> Http status code`)
	// Invocation ids the workload did not name (Greeter/carol's, called by Welcome).
	invocationID = regexp.MustCompile(`inv_[0-9A-Za-z]{30,}`)
	// The release of the server that created an invocation: each server's own.
	createdUsing = regexp.MustCompile(`"created_using_restate_version":"[^"]*"`)
	// An Input entry's request headers, in entry_json (escaped in the CLI's --json): their
	// order is compared sorted. restate-server keeps the order they arrived in; Go's net/http
	// hands ours a map. HTTP gives no meaning to the order of fields with different names
	// (RFC 9110, section 5.3).
	inputHeaders = regexp.MustCompile(`(\\"headers\\":\[)([^\]]*)(\])`)
	// A sleep's wake-up time in entry_json (ms since the epoch): when the workload ran.
	wakeUpTime = regexp.MustCompile(`(wake_up_time\\":)\d+`)
	// What a suspended invocation waits on: restate-server keeps the SDK's list in a hash set,
	// so its order varies from run to run; compared sorted.
	waitingSignals = regexp.MustCompile(`("suspended_waiting_for_signals":\[)([^\]]*)(\])`)
	waitingFuture  = regexp.MustCompile(`(\{\\"Unknown\\":\[)(.*?)(\]\})`)
	// The HTTP status of an SQL error, for the commands whose status differs on purpose.
	errorStatus = regexp.MustCompile(`-> Http status code \d+ [^\n']*`)
)

// sortList sorts the comma-separated elements of the second group of m, a match of re.
func sortList(re *regexp.Regexp) func(string) string {
	return func(m string) string {
		parts := re.FindStringSubmatch(m)
		xs := strings.Split(parts[2], ",")
		slices.Sort(xs)
		return parts[1] + strings.Join(xs, ",") + parts[3]
	}
}

// sortObjects sorts the JSON objects listed in the second group of m, a match of re.
func sortObjects(re *regexp.Regexp) func(string) string {
	return func(m string) string {
		parts := re.FindStringSubmatch(m)
		xs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(parts[2], "{"), "}"), "},{")
		slices.Sort(xs)
		return parts[1] + "{" + strings.Join(xs, "},{") + "}" + parts[3]
	}
}

// normaliseSQL is normalise with the workload's invocation ids named, other invocation ids,
// durations and query times replaced.
func normaliseSQL(raw string, s side, names map[string]string, uri string) string {
	raw = localTime.ReplaceAllString(raw, "<time>")
	raw = queryTook.ReplaceAllString(raw, "Query took <dur>")
	raw = queryError.ReplaceAllString(raw, "Error: <UNKNOWN> <message>\n  -> Http status code")
	text := normalise(raw, s, names, uri, uri)
	text = isoDuration.ReplaceAllStringFunc(text, func(m string) string {
		if m == "P" || m == "-P" {
			return m
		}
		return "<dur>"
	})
	text = invocationID.ReplaceAllString(text, "<inv>")
	text = createdUsing.ReplaceAllString(text, `"created_using_restate_version":"<version>"`)
	text = inputHeaders.ReplaceAllStringFunc(text, sortObjects(inputHeaders))
	text = wakeUpTime.ReplaceAllString(text, "${1}<ms>")
	text = waitingSignals.ReplaceAllStringFunc(text, sortList(waitingSignals))
	text = waitingFuture.ReplaceAllStringFunc(text, sortObjects(waitingFuture))
	text = keyNote.ReplaceAllString(text, "(<dur>)")
	lines := strings.Split(text, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// serveWorkload serves the greeter example's services and the workload's on a port of its own
// and returns its URI.
func serveWorkload(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sdk.NewEndpoint().Bind(greeter.Greeter, greeter.Welcome, locker, sleeper).Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String() + "/"
}
