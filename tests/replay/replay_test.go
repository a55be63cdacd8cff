//go:build linux

package replay_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk/replay"
	"github.com/resolute-run/resolute/tests/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/checkout.json from the recorded journal")

// TestRecordedJournals records checkout's journal on a real server (the resolute binary, the
// Go SDK deployment served over h2c), exports it with `resolute journal export`, and replays
// changed handlers against it: once the invocation completed (journal retention), and once
// while it sleeps (the journal of an invocation in flight).
//
// It does so with the server speaking protocol V7 and V5: the export records the version, and
// the replay needs it (on V5 the SDK seeds ctx.Rand from the invocation id, not the server's seed).
func TestRecordedJournals(t *testing.T) {
	bin := testenv.ResoluteBinary(t)
	for _, v := range []int{7, 5} {
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) { testRecordedJournals(t, bin, v) })
	}
}

func testRecordedJournals(t *testing.T, bin string, version int) {
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bin, Args: []string{"--max-protocol-version", strconv.Itoa(version)}})
	url := testenv.ServeH2C(t, shopEndpoint(change{}).Handler())
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}

	id := send(t, srv, "alice", "book")
	out := testenv.AttachInvocation(t, srv, id, 200)
	done := export(t, bin, srv, id)
	if got, want := len(done.Entries), 14; got != want {
		t.Fatalf("recorded journal has %d entries, want %d: %v", got, want, entryNames(done))
	}
	if done.ProtocolVersion != version {
		t.Errorf("exported protocol_version %d, want %d", done.ProtocolVersion, version)
	}
	for _, c := range completedCases {
		t.Run("completed/"+c.name, func(t *testing.T) {
			r := check(t, c.change, done)
			expect(t, r, c.want)
			if c.want.outcome == replay.Completed && string(r.Output) != string(out.Body) {
				t.Errorf("output %q, want the invocation's %q", r.Output, out.Body)
			}
		})
	}
	if *update && version == 7 {
		if err := done.WriteFile(filepath.Join("testdata", "checkout.json")); err != nil {
			t.Fatal(err)
		}
	}

	// In flight: suspended in its one-hour sleep, its journal ends with the SleepCommand.
	slow := send(t, srv, "bob", "slow")
	var mid *replay.Journal
	testenv.WaitReady(t, "the slow checkout's sleep in its journal", time.Minute, func() error {
		j, err := exportErr(bin, srv, slow)
		if err == nil && j.Entries[len(j.Entries)-1].What() != "Sleep" {
			err = errString("journal so far: " + strings.Join(entryNames(j), ", "))
		}
		mid = j
		return err
	})
	for _, c := range []struct {
		name   string
		change change
		want   want
	}{
		{"unchanged", change{}, want{outcome: replay.Suspended, command: -1, entry: -1}},
		{"Run renamed", change{runName: "bill"}, want{replay.Mismatch, 4, 8, `Run "charge"`, `Run "bill"`}},
		{"step left out", change{skipSleep: true}, want{replay.Mismatch, 5, 10, "Sleep", `SetState "count"`}},
	} {
		t.Run("in-flight/"+c.name, func(t *testing.T) {
			r := check(t, c.change, mid)
			expect(t, r, c.want)
			if got := strings.Join(r.Awaiting, ", "); c.want.outcome == replay.Suspended && got != "Sleep (command 5)" {
				t.Errorf("awaiting %q, want the sleep's result", got)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func send(t *testing.T, srv *testenv.Server, key, item string) string {
	t.Helper()
	r := testenv.MustPost(t, srv.Ingress+"/Shop/"+key+"/checkout/send", `"`+item+`"`, 202)
	var sent struct {
		InvocationID string `json:"invocationId"`
	}
	testenv.DecodeReply(t, r, &sent)
	return sent.InvocationID
}

// export runs `resolute journal export` for id and reads the file it wrote.
func export(t *testing.T, bin string, srv *testenv.Server, id string) *replay.Journal {
	t.Helper()
	j, err := exportErr(bin, srv, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func exportErr(bin string, srv *testenv.Server, id string) (*replay.Journal, error) {
	file := filepath.Join(os.TempDir(), "journal-"+id+".json")
	defer os.Remove(file)
	cmd := exec.Command(bin, "journal", "export", "--admin", srv.Admin, "--id", id, "-o", file)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, errString("resolute journal export: " + err.Error() + ": " + string(b))
	}
	return replay.ReadFile(file)
}

func entryNames(j *replay.Journal) []string {
	var out []string
	for _, e := range j.Entries {
		out = append(out, e.Type.String())
	}
	return out
}

// TestExportWithToken: against an admin API that requires a bearer token, the export takes it
// from $RESTATE_AUTH_TOKEN (or --token) and fails with the server's 401 without it.
func TestExportWithToken(t *testing.T) {
	bin := testenv.ResoluteBinary(t)
	tokens := filepath.Join(t.TempDir(), "admin.tokens")
	if err := os.WriteFile(tokens, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bin, Args: []string{"--admin-tokens-file", tokens}})
	url := testenv.ServeH2C(t, shopEndpoint(change{}).Handler())
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	if r, err := testenv.Post(testenv.HTTPClient, srv.Admin+"/deployments", `{"uri": "`+url+`"}`, auth); err != nil || r.Status != http.StatusCreated {
		t.Fatalf("register: %v %v", r, err)
	}
	id := send(t, srv, "carol", "book")
	testenv.AttachInvocation(t, srv, id, 200)

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string // in the error; "" for success
	}{
		{"no token", nil, nil, "401 Unauthorized"},
		{"token from the environment", []string{"RESTATE_AUTH_TOKEN=s3cret"}, nil, ""},
		{"token flag", nil, []string{"--token", "s3cret"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "j.json")
			cmd := exec.Command(bin, append([]string{"journal", "export", "--admin", srv.Admin, "--id", id, "-o", file}, c.args...)...)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "RESTATE_AUTH_TOKEN=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, c.env...)
			out, err := cmd.CombinedOutput()
			if c.want != "" {
				if err == nil || !strings.Contains(string(out), c.want) {
					t.Fatalf("export: %v, %s; want a failure saying %q", err, out, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("export: %v: %s", err, out)
			}
			j, err := replay.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			expect(t, check(t, change{}, j), want{outcome: replay.Completed, command: -1, entry: -1})
		})
	}
}
