package replay_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/sdk/replay"
)

const recorded = "testdata/checkout.json" // TestRecordedJournals -update writes it

// TestJournalFile reads the recorded journal, writes it back byte for byte, and replays the
// changed handlers against it: the same findings as on the server's journal, with no server.
func TestJournalFile(t *testing.T) {
	j, err := replay.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := j.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("written back differs from %s:\n%s", recorded, buf.Bytes())
	}
	again, err := replay.Read(&buf)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	for _, c := range completedCases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, check(t, c.change, again), c.want)
		})
	}
}

// TestTruncatedJournal replays the recorded journal cut short, as the journal of an invocation
// still in flight: the unchanged handler matches it to its end, where the tester stops it
// before it acts.
func TestTruncatedJournal(t *testing.T) {
	j, err := replay.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	cut := func(n int) *replay.Journal {
		c := *j
		c.Entries = j.Entries[:n]
		return &c
	}
	for _, c := range []struct {
		name    string
		entries int
		want    want
	}{
		// After the sleep's completion: the next command, SetState, is not in the journal.
		{"after the sleep", 12, want{replay.Continues, 6, -1, "", `SetState "count"`}},
		// The Run's command without its result: the tester does not run the closure.
		{"inside the Run", 9, want{replay.Stopped, 4, 8, `Run "charge"`, ""}},
		// Everything but the Output: the handler would output next.
		{"before the output", 13, want{replay.Continues, 7, -1, "", "Output"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := check(t, change{}, cut(c.entries))
			expect(t, r, c.want)
			if !r.Deterministic() {
				t.Errorf("not deterministic: %v", r)
			}
		})
	}
}

// TestRequireDeterministic: the test helper passes the unchanged handler and fails a changed one.
func TestRequireDeterministic(t *testing.T) {
	glob := filepath.Join("testdata", "*.json")
	if rs := replay.RequireDeterministic(t, shopEndpoint(change{}), glob); len(rs) != 1 || rs[0].Outcome != replay.Completed {
		t.Errorf("reports %v, want one completed", rs)
	}
	rec := &recorder{TB: t}
	replay.RequireDeterministic(rec, shopEndpoint(change{swapCalls: true}), glob, "testdata/none-*.json")
	if len(rec.errors) != 2 || !strings.Contains(rec.errors[0], "NOT deterministic at entry 2") || !strings.Contains(rec.errors[1], "none-*") {
		t.Errorf("errors %q, want the mismatch at entry 2 and the pattern matching nothing", rec.errors)
	}
}

// recorder is a testing.TB whose errors are collected instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, sprintf(format, args...))
}
func (r *recorder) Logf(string, ...any) {}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
