//go:build linux

package quickstart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestQuickstart does what README.md tells a newcomer: run `resolute dev`, then the curl
// commands it prints. The README's own curl line must be one of them and answer what the README
// says; every printed command must answer what the greeter example promises.
func TestQuickstart(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme := readmeQuickstart(t, root)
	bin := testenv.ResoluteBinary(t)
	checkDefaultPort(t, bin, readme.example.port)

	ports := testenv.FreePorts(t, 2)
	logDir := t.TempDir()
	dev := testenv.StartProc(t, "resolute-dev", logDir, exec.Command(bin, "dev",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--ingress-addr", testenv.Addr(ports[0]), "--admin-addr", testenv.Addr(ports[1])))
	// The examples are printed once they are registered, before this log line.
	testenv.WaitReady(t, "resolute dev", testenv.ServerReadyTimeout, func() error {
		log, err := os.ReadFile(dev.LogPath)
		if err != nil {
			return err
		}
		if !bytes.Contains(log, []byte("resolute serving")) {
			return fmt.Errorf("no \"resolute serving\" line yet")
		}
		return nil
	}, dev)
	log, err := os.ReadFile(dev.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	printed := printedCommands(t, string(log))

	ingress, admin := "http://"+testenv.Addr(ports[0]), "http://"+testenv.Addr(ports[1])
	// The README's line, with its host replaced by where this server listens, is printed.
	readmeReq := readme.example.req
	readmeReq.url = ingress + readmeReq.path()
	if !slices.ContainsFunc(printed, func(r request) bool { return r.equal(readmeReq) }) {
		t.Fatalf("README's curl line %q is not among those resolute dev prints:\n%s", readme.example.line, commandLines(printed))
	}

	run := runner(t)
	answers := map[string]response{}
	for _, r := range printed {
		answers[r.method+" "+r.url] = run(r)
	}
	// What each printed command must answer, in the order printed. The first is the README's.
	want := []struct {
		method, url string
		status      int
		body        string // exact, or a regular expression when re is set
		re          bool
	}{
		{"POST", ingress + "/Greeter/alice/greet", 200, readme.example.output, false},
		{"POST", ingress + "/Greeter/alice/count", 200, "1", false},
		{"POST", ingress + "/Welcome/welcome", 200, `"Welcome bob for the 1-th time."`, false},
		{"POST", ingress + "/Greeter/alice/greet/send", 202, `^\{"invocationId":"inv_1[0-9a-zA-Z]{33}","status":"Accepted"\}$`, true},
		{"POST", ingress + "/Greeter/carol/greet", 200, `"Hello carol for the 1-th time."`, false},
		{"GET", admin + "/services", 200, `"name":"Greeter"`, true},
		{"POST", ingress + "/FoodOrder/order-1/run/send", 202, `^\{"invocationId":"inv_1[0-9a-zA-Z]{33}","status":"Accepted"\}$`, true},
		{"POST", ingress + "/Cart/alice/add", 200, `^\{"seat":"A1","id":"[0-9a-f-]{36}"\}$`, true},
		{"POST", ingress + "/Seat/A1/status", 200, `^\{"status":"held","user":"alice","hold":"[0-9a-f-]{36}","history":\["held by alice"\]\}$`, true},
	}
	if len(printed) != len(want) {
		t.Errorf("resolute dev printed %d commands, the test knows %d:\n%s", len(printed), len(want), commandLines(printed))
	}
	for i, w := range want {
		got, ok := answers[w.method+" "+w.url]
		if !ok {
			t.Errorf("resolute dev did not print %s %s", w.method, w.url)
			continue
		}
		if i < len(printed) && (printed[i].method != w.method || printed[i].url != w.url) {
			t.Errorf("command %d printed is %s %s, want %s %s", i+1, printed[i].method, printed[i].url, w.method, w.url)
		}
		match := got.body == w.body
		if w.re {
			match = regexp.MustCompile(w.body).MatchString(got.body)
		}
		if got.status != w.status || !match {
			t.Errorf("%s %s: %d %s, want %d %s", w.method, w.url, got.status, got.body, w.status, w.body)
		}
	}
	var services struct {
		Services []struct{ Name string } `json:"services"`
	}
	if err := json.Unmarshal([]byte(answers["GET "+admin+"/services"].body), &services); err != nil || len(services.Services) != 5 {
		t.Errorf("GET /services: %v %s", err, answers["GET "+admin+"/services"].body)
	}
	// The printed idempotency-key command, run again, is answered from the first run.
	for _, r := range printed {
		if r.header.Get("idempotency-key") == "" {
			continue
		}
		if again := run(r); again != answers[r.method+" "+r.url] {
			t.Errorf("%s repeated with its idempotency key: %+v, first %+v", r.line, again, answers[r.method+" "+r.url])
		}
	}
	if exited, err := dev.Terminate(10 * time.Second); !exited || err != nil {
		t.Errorf("resolute dev after SIGTERM: exited in time %v, %v; want exit status 0", exited, err)
	}
}

// quickstart is what README.md's quickstart says.
type quickstart struct {
	example struct {
		line   string  // the curl line under "`resolute dev` prints curl commands to try"
		req    request // it, parsed
		port   string  // the port it addresses
		output string  // the answer the README shows under it
	}
}

// readmeQuickstart reads README.md: its first two commands must be `go run ./cmd/resolute dev`
// (what this test runs, with the binary of ./cmd/resolute) and the test command that .ci/run
// runs; then comes an example curl line with its answer as a comment.
func readmeQuickstart(t *testing.T, root string) quickstart {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d sh blocks, want the quickstart and the curl example", len(blocks))
	}
	cmds := commands(blocks[0][1])
	if len(cmds) < 2 || cmds[0] != "go run ./cmd/resolute dev" {
		t.Fatalf("README's first command is %q, want \"go run ./cmd/resolute dev\"", cmds)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TEST_CMD=\((.*)\)$`).FindSubmatch(ci)
	if m == nil || cmds[1] != string(m[1]) {
		t.Fatalf("README's second command %q is not .ci/run's test command %q", cmds[1], m)
	}

	var q quickstart
	lines := strings.Split(strings.TrimSpace(blocks[1][1]), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "curl ") || !strings.HasPrefix(lines[1], "# ") {
		t.Fatalf("README's example block is %q, want a curl line and its answer as a comment", lines)
	}
	q.example.line, q.example.output = lines[0], strings.TrimPrefix(lines[1], "# ")
	q.example.req = parseCurl(t, lines[0])
	u, err := url.Parse("http://" + strings.TrimPrefix(q.example.req.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	q.example.port = u.Port()
	return q
}

// commands are the lines of a shell block without their comments.
func commands(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// checkDefaultPort: the README's example addresses the ingress at the port `resolute dev`
// listens on by default.
func checkDefaultPort(t *testing.T, bin, port string) {
	t.Helper()
	help, err := exec.Command(bin, "dev", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("resolute dev --help: %v\n%s", err, help)
	}
	m := regexp.MustCompile(`--ingress-addr string .*\(default "[^"]*:(\d+)"\)`).FindSubmatch(help)
	if m == nil || string(m[1]) != port {
		t.Fatalf("README's example uses port %s; resolute dev's default ingress address: %q", port, m)
	}
}

// request is one curl command line.
type request struct {
	line   string
	method string
	url    string
	header http.Header
	body   string
}

func (r request) path() string {
	u, err := url.Parse("http://" + strings.TrimPrefix(r.url, "http://"))
	if err != nil {
		return r.url
	}
	return u.RequestURI()
}

func (r request) equal(o request) bool {
	return r.method == o.method && r.url == o.url && r.body == o.body && fmt.Sprint(r.header) == fmt.Sprint(o.header)
}

// printedCommands are the curl lines in resolute dev's output, parsed.
func printedCommands(t *testing.T, log string) []request {
	t.Helper()
	var out []request
	for _, l := range strings.Split(log, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") {
			out = append(out, parseCurl(t, l))
		}
	}
	if len(out) == 0 {
		t.Fatalf("resolute dev printed no curl command:\n%s", log)
	}
	return out
}

func commandLines(rs []request) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.line + "\n")
	}
	return b.String()
}

// parseCurl reads the curl options the examples use (-X, -H, -d and a URL); anything else
// fails the test rather than being run differently from what curl would do.
func parseCurl(t *testing.T, line string) request {
	t.Helper()
	args, err := shellWords(line)
	if err != nil || len(args) == 0 || args[0] != "curl" {
		t.Fatalf("%q: not a curl command (%v)", line, err)
	}
	r := request{line: line, header: http.Header{}}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if r.url != "" {
				t.Fatalf("%q: two URLs", line)
			}
			r.url = a
			continue
		}
		if i+1 >= len(args) {
			t.Fatalf("%q: %s without a value", line, a)
		}
		i++
		switch a {
		case "-X":
			r.method = args[i]
		case "-H":
			k, v, ok := strings.Cut(args[i], ":")
			if !ok {
				t.Fatalf("%q: header %q", line, args[i])
			}
			r.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d":
			r.body = args[i]
		default:
			t.Fatalf("%q: curl option %s not understood by this test", line, a)
		}
	}
	if r.url == "" {
		t.Fatalf("%q: no URL", line)
	}
	if r.method == "" {
		r.method = "GET" // curl's default; -d alone would mean POST, which no example relies on
		if r.body != "" {
			r.method = "POST"
		}
	}
	return r
}

// shellWords splits a command line as sh would for the quoting the examples use: single quotes,
// double quotes (no escapes inside) and blanks.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c quote", c)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case '\\', '$', '`':
			return nil, fmt.Errorf("%c is not supported", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

type response struct {
	status int
	body   string
}

// runner runs a parsed curl command: with curl itself when it is installed (the newcomer's
// way), else as the same HTTP request from Go.
func runner(t *testing.T) func(request) response {
	if curl, err := exec.LookPath("curl"); err == nil {
		t.Logf("running the commands with %s", curl)
		return func(r request) response {
			t.Helper()
			args, err := shellWords(r.line)
			if err != nil {
				t.Fatal(err)
			}
			// -sS: no progress meter; -w: the status on a line of its own after the body.
			args = append([]string{"-sS", "--max-time", "30", "-w", "\n%{http_code}"}, args[1:]...)
			out, err := exec.Command(curl, args...).Output()
			if err != nil {
				t.Fatalf("%s: %v", r.line, err)
			}
			i := bytes.LastIndexByte(out, '\n')
			if i < 0 {
				t.Fatalf("%s: output %q has no status line", r.line, out)
			}
			body, code := string(out[:i]), string(out[i+1:])
			var status int
			if _, err := fmt.Sscan(code, &status); err != nil {
				t.Fatalf("%s: status %q: %v", r.line, code, err)
			}
			return response{status, body}
		}
	}
	t.Log("curl is not installed: running the commands as the same requests from Go")
	return func(r request) response {
		t.Helper()
		u := r.url
		if !strings.Contains(u, "://") {
			u = "http://" + u // as curl does
		}
		req, err := http.NewRequest(r.method, u, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = r.header.Clone()
		if r.body != "" && req.Header.Get("content-type") == "" {
			req.Header.Set("content-type", "application/x-www-form-urlencoded") // curl -d's default
		}
		resp, err := testenv.HTTPClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", r.line, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", r.line, err)
		}
		return response{resp.StatusCode, string(b)}
	}
}
