package deployment

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestReadExecLogFrom: the checker tails the execution log while the
// deployments append to it; a record being written (no newline yet) is left
// for the next read, and the offset moves past what was read only.
func TestReadExecLogFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exec.log")
	appendStr := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	var off int64
	steps := []struct {
		write string
		want  []Exec
	}{
		{"", nil}, // the file does not exist yet
		{"a s0 t1 2026-01-01T00:00:00Z\nb aw sign_1x", []Exec{{"a", "s0", "t1", "2026-01-01T00:00:00Z"}}},
		{"yz\n", []Exec{{"b", "aw", "sign_1xyz", ""}}},
		{"", nil},
		{"c w1 t2\nd a t3\n", []Exec{{"c", "w1", "t2", ""}, {"d", "a", "t3", ""}}},
	}
	for i, st := range steps {
		if st.write != "" {
			appendStr(st.write)
		}
		got, next, err := ReadExecLogFrom(path, off)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !slices.Equal(got, st.want) {
			t.Fatalf("step %d: read %v, want %v", i, got, st.want)
		}
		off = next
	}
	all, err := ReadExecLog(path)
	if err != nil || len(all) != 4 {
		t.Fatalf("ReadExecLog: %v, %v; want the 4 records", all, err)
	}
}

func TestNote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exec.log")
	l, err := OpenExecLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, bad := range []string{"", "a b", "a\nb"} {
		if err := l.Note("op", NoteAwakeable, bad); err == nil {
			t.Errorf("Note(%q) = nil, want an error: the record would not parse", bad)
		}
	}
	if err := l.Note("op", NoteAwakeable, "sign_1abc"); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExecLog(path)
	if want := []Exec{{"op", NoteAwakeable, "sign_1abc", ""}}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("read %v, %v; want %v", got, err, want)
	}
}

// TestExecuteRecordsTime: an execution's record carries its token and when it ran, which
// lines it up with the server logs.
func TestExecuteRecordsTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exec.log")
	l, err := OpenExecLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := time.Now()
	tok, err := l.Execute("op", "s0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadExecLog(path)
	if err != nil || len(got) != 1 || got[0].Token != tok {
		t.Fatalf("read %v, %v; want one record with token %s", got, err, tok)
	}
	at, err := time.Parse(time.RFC3339Nano, got[0].At)
	if err != nil || at.Before(before.Truncate(time.Microsecond)) || at.After(time.Now()) {
		t.Fatalf("recorded at %q (%v), want a time between %v and now", got[0].At, err, before)
	}
}
