//go:build linux

// Package cli runs the official Restate CLI (npm @restatedev/restate, installed in compat/cli
// by .ci/run) against our server and against restate-server with the same deployment, and
// compares what it prints.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/tests/testenv"
)

const (
	cliBin            = "compat/cli/node_modules/@restatedev/restate-linux-x64/bin/restate"
	officialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
)

// side is one server the CLI is pointed at, and the CLI's configuration directory for it
// (RESTATE_CLI_CONFIG_HOME, empty).
type side struct{ name, admin, ingress, config string }

// command is one CLI invocation of the script; its arguments may name the deployments
// registered so far as {first} and {second} (their ids on the side being run). expect lists
// lines both servers' answers must have (normalised: runs of spaces made one).
type command struct {
	args   []string
	expect []string
}

// script is the CLI commands about deployments and services, in order: registering, listing
// and describing deployments and services, an edit of a service's configuration, a second
// registration that updates both services, errors for what does not exist, then the two that
// read SQL (POST /query) once a service has an older revision: `services describe` counts the
// invocations still on it, `deployments remove` the ones pinned to the deployment. (The
// commands about invocations and state are sqlScript's, sql_test.go.)
var script = []command{
	{[]string{"deployments", "register", "--yes", "{firstURI}"}, nil},
	{[]string{"deployments", "list"}, nil},
	{[]string{"deployments", "describe", "{first}"}, nil},
	{[]string{"services", "list"}, nil},
	{[]string{"services", "describe", "Greeter"}, nil},
	{[]string{"services", "describe", "Welcome"}, nil},
	{[]string{"services", "config", "view", "Greeter"}, nil},
	{[]string{"services", "config", "view", "Welcome"}, nil},
	// RESTATE_EDITOR (editor, written by the test) appends settings to the file it is given.
	{[]string{"services", "config", "edit", "--yes", "Welcome"}, nil},
	{[]string{"services", "config", "view", "Welcome"}, []string{"Public: false", "Journal retention: 3d", "Inactivity timeout: 2m", "Abort timeout: 15m"}},
	{[]string{"whoami"}, nil},
	{[]string{"kafka-clusters", "list"}, nil},
	{[]string{"subscriptions", "list"}, nil},
	{[]string{"deployments", "register", "--yes", "{secondURI}"}, nil},
	{[]string{"deployments", "register", "--yes", "{secondURI}"}, []string{"❯ Deployment already exists with id {second}"}},
	{[]string{"deployments", "list"}, nil},
	{[]string{"deployments", "describe", "{second}"}, nil},
	{[]string{"services", "config", "view", "Greeter"}, nil},
	{[]string{"services", "describe", "Nope"}, nil},
	{[]string{"deployments", "describe", "dp_11111111111111111111111"}, nil},
	{[]string{"services", "describe", "Greeter"}, nil},
	{[]string{"deployments", "remove", "--yes", "{first}"}, nil},
	{[]string{"deployments", "list"}, nil},
}

// editor is the RESTATE_EDITOR of `services config edit`: it appends settings to the file.
var editor string

// TestCLIMatchesOfficial runs the script with the official CLI against restate-server 1.7.12
// and against ours (the real binary), the greeter endpoint registered on both, and compares
// what the CLI prints and its exit status. Ids, addresses and times are normalised; lines are
// compared as sorted sets because restate-server lists services and handlers in hash order
// (Welcome before Greeter, count after greet, from one answer to the next).
func TestCLIMatchesOfficial(t *testing.T) {
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

	editor = filepath.Join(t.TempDir(), "editor")
	editorScript := "#!/bin/sh\nprintf 'abort_timeout = \"15m\"\\ninactivity_timeout = \"2m\"\\njournal_retention = \"3d\"\\npublic = false\\n' >> \"$1\"\n"
	if err := os.WriteFile(editor, []byte(editorScript), 0o755); err != nil {
		t.Fatal(err)
	}
	firstURI, secondURI := serveGreeter(t), serveGreeter(t)
	theirs := startOfficial(t, official)
	// restate-server's default retry policy (500ms to 1m), which `services config view` shows.
	srv := testenv.StartServer(t, testenv.ServerConfig{Args: []string{"--retry-initial-interval", "500ms", "--retry-max-interval", "1m"}})
	ours := side{"ours", srv.Admin, srv.Ingress, t.TempDir()}

	want, _ := runScript(t, cli, theirs, firstURI, secondURI)
	got, _ := runScript(t, cli, ours, firstURI, secondURI)
	for i := range script {
		for _, l := range script[i].expect {
			if !slices.Contains(strings.Split(want[i].normal, "\n"), l) || !slices.Contains(strings.Split(got[i].normal, "\n"), l) {
				t.Errorf("restate %s: a line %q wanted from both\nours:\n%s\nrestate-server:\n%s", strings.Join(script[i].args, " "), l, got[i].raw, want[i].raw)
			}
		}
		if w, g := want[i], got[i]; w.normal != g.normal {
			t.Errorf("restate %s: ours and restate-server print differently\nlines only ours prints:\n%s\nlines only restate-server prints:\n%s\nours:\n%s\nrestate-server:\n%s",
				strings.Join(script[i].args, " "), only(g.normal, w.normal), only(w.normal, g.normal), g.raw, w.raw)
		}
	}
	if !t.Failed() {
		t.Logf("%d commands print alike", len(script))
	}
}

// answer is what one command printed, as printed and normalised.
type answer struct{ raw, normal string }

// runScript runs the script against s and returns the answers and the names of the
// deployments it registered ({first}, {second}: their ids on s).
func runScript(t *testing.T, cli string, s side, firstURI, secondURI string) ([]answer, map[string]string) {
	t.Helper()
	names := map[string]string{}
	var out []answer
	for _, c := range script {
		args := expand(c.args, names, firstURI, secondURI)
		text, code := runCLI(t, cli, s, args)
		raw := fmt.Sprintf("exit %d\n%s", code, text)
		if c.args[0] == "deployments" && c.args[1] == "register" {
			// Name the deployment just registered.
			for _, id := range deploymentIDs(t, s.admin) {
				if !slices.Contains(mapValues(names), id) {
					if c.args[3] == "{firstURI}" {
						names["{first}"] = id
					} else {
						names["{second}"] = id
					}
				}
			}
		}
		out = append(out, answer{raw, normalise(raw, s, names, firstURI, secondURI)})
	}
	return out, names
}

// only lists the lines of a (sorted, one per line) that b lacks, as many times as it lacks them.
func only(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(b, "\n") {
		count[l]++
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if count[l] > 0 {
			count[l]--
			continue
		}
		out = append(out, "  "+l)
	}
	return strings.Join(out, "\n")
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

func expand(args []string, names map[string]string, firstURI, secondURI string) []string {
	r := strings.NewReplacer("{firstURI}", firstURI, "{secondURI}", secondURI, "{first}", names["{first}"], "{second}", names["{second}"])
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

var (
	isoTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	// A deployment's first service shares its row of `deployments list`.
	listedService = regexp.MustCompile(`^(.*\S) (- \S+ \[\d+\])$`)
	humanTime     = regexp.MustCompile(`[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d\d:\d\d`)
	spaces        = regexp.MustCompile(`[ \t]+`)
)

// normalise replaces the side's ids, addresses and times with names and compares lines as a
// sorted set, each with its runs of spaces made one (column widths follow the values).
func normalise(raw string, s side, names map[string]string, firstURI, secondURI string) string {
	pairs := []string{s.config, "<config>", s.admin, "<admin>", s.ingress, "<ingress>", firstURI, "<firstURI>", secondURI, "<secondURI>"}
	for k, v := range names {
		pairs = append(pairs, v, k)
	}
	text := strings.NewReplacer(pairs...).Replace(raw)
	text = humanTime.ReplaceAllString(isoTime.ReplaceAllString(text, "<time>"), "<time>")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
		if m := listedService.FindStringSubmatch(l); m != nil {
			lines = append(lines, m[1], m[2])
		} else if l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// runCLI runs the CLI against s and returns what it printed
// (stdout and stderr) and its exit status.
func runCLI(t *testing.T, cli string, s side, args []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"--time-format", "iso8601"}, args...)...)
	cmd.Env = append(os.Environ(),
		"RESTATE_CLI_CONFIG_HOME="+s.config,
		"RESTATE_ADMIN_URL="+s.admin,
		"RESTATE_INGRESS_URL="+s.ingress,
		"NO_COLOR=1",
		"RESTATE_EDITOR="+editor,
	)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("restate %s against %s: %v\n%s", strings.Join(args, " "), s.name, err, out)
		}
		code = ee.ExitCode()
	}
	return string(testenv.StripANSI(out)), code
}

// deploymentIDs lists the side's deployments by the admin API.
func deploymentIDs(t *testing.T, admin string) []string {
	t.Helper()
	resp, err := testenv.HTTPClient.Get(admin + "/deployments")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s/deployments: %v", admin, err)
	}
	var ids []string
	for _, d := range v.Deployments {
		ids = append(ids, d.ID)
	}
	return ids
}

// serveGreeter serves the greeter example's services on a port of its own, for the test's
// duration, and returns its URI as the CLI prints it.
func serveGreeter(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go greeter.Endpoint().Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// startOfficial starts restate-server with its own base directory and ports.
func startOfficial(t *testing.T, bin string) side {
	t.Helper()
	ingress, admin := testenv.StartOfficialServer(t, bin, nil)
	return side{"restate-server", admin, ingress, t.TempDir()}
}
