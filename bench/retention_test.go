package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TestJudgeRetention checks the verdict on made-up series: an hour sampled every 10 s after
// a warm-up of 3 minutes.
func TestJudgeRetention(t *testing.T) {
	const mb = 1 << 20
	series := func(size func(min float64) int64) []dirSample {
		var out []dirSample
		for at := time.Duration(0); at <= time.Hour; at += 10 * time.Second {
			n := size(at.Minutes())
			out = append(out, dirSample{At: at, Allocated: n, Apparent: n / 2})
		}
		return out
	}
	tests := []struct {
		name    string
		samples []dirSample
		flat    bool
	}{
		{"sawtooth around a plateau", series(func(m float64) int64 {
			if m < 3 {
				return int64(m * 30 * mb) // filling the first periods
			}
			return 90*mb + int64(int(m*10)%70)*mb/10 // teeth of 7 MiB every 7 minutes
		}), true},
		{"linear growth", series(func(m float64) int64 { return 40*mb + int64(m*mb) }), false},
		{"flat, then a step up in the last third", series(func(m float64) int64 {
			if m > 45 {
				return 150 * mb
			}
			return 100 * mb
		}), false},
		{"a jump in the final minute, too short for the slope", series(func(m float64) int64 {
			if m > 59.4 {
				return 150 * mb
			}
			return 100 * mb
		}), false},
		{"slow steady growth inside the max bound", series(func(m float64) int64 { return 100*mb + int64(m*0.6*mb) }), false},
		{"apparent size climbing towards a flat allocated size", func() []dirSample {
			out := series(func(float64) int64 { return 330 * mb })
			for i := range out {
				out[i].Apparent = 100*mb + int64(out[i].At.Minutes()*3*mb) // filling preallocated logs
			}
			return out
		}(), true},
		{"too few samples", series(func(float64) int64 { return mb })[:5], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judgeRetention(tt.samples, 3*time.Minute)
			if v.flat != tt.flat {
				t.Errorf("flat = %v, want %v: %s", v.flat, tt.flat, v.text)
			}
		})
	}
}

// TestRetentionExpires runs the retention scenario for a few seconds against our server with
// a retention of 2 s and then counts, in the partitions' stores of the stopped server, what the
// calls left behind. After the run every probe has expired (the scenario waits for it), the
// last one sent after every call was answered, so every entry the calls wrote has expired too:
// what may be left is one idempotency entry and status per probe (the probe ran again after its
// expiry) and the non-idempotent call that checked the services were routable. The disk
// verdict is not asserted: a run of seconds ends before the stores' write-ahead logs and
// memtables reach their steady size; the hour-long run in the README judges it.
func TestRetentionExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a deployment; skipped with -short")
	}
	workDir := t.TempDir()
	t.Cleanup(func() { dumpLogsIfFailed(t, workDir) })
	cfg, err := parseFlags([]string{"--scenarios", "retention", "--servers", "resolute", "--deployments", "go",
		"--retention-duration", "12s", "--retention-period", "2s", "--retention-sample", "1s", "--retention-rate", "100",
		"--work-dir", workDir, "--keep"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.logf = t.Logf
	rep, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rep.Results), rep.Results)
	}
	r := rep.Results[0]
	if r.Err != "" && !strings.HasPrefix(r.Err, retentionNotFlat) {
		t.Errorf("retention scenario: %s", r.Err)
	}
	t.Logf("verdict (not asserted): %s %s", r.Note, r.Err)
	calls, _ := r.figure("calls")
	probes, _ := r.figure("probes")
	kept, ok := r.figure("probes kept past retention")
	if !ok || kept != 0 {
		t.Errorf("%v probes answered from their idempotency entry after their retention", kept)
	}
	counts, err := countTables(filepath.Join(workDir, "resolute-go", "data", "partitions"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v calls, %v probes; left in storage: %v", calls, probes, counts)
	// The bounds mean something only if the calls would exceed them without expiry.
	if limit := probes + 2; calls < 10*limit {
		t.Fatalf("only %v calls for %v probes: too few to tell expiry from none", calls, probes)
	}
	for _, tc := range []struct {
		table string
		limit float64
	}{
		{"idempotency", probes},
		{"status", probes + 2},
	} {
		if n := float64(counts[tc.table]); n > tc.limit {
			t.Errorf("%v %s records left after %v idempotent calls whose retention is over, want at most %v (one per probe)", n, tc.table, calls, tc.limit)
		}
	}
}

// storageTables are the key prefixes of the partition tables the calls write (runtime/storage,
// keys.go: "values are part of the storage format: never renumber").
var storageTables = map[byte]string{0x02: "status", 0x03: "journal", 0x09: "idempotency", 0x0D: "expiry"}

// countTables counts the live keys of storageTables in every partition store under dir.
func countTables(dir string) (map[string]int, error) {
	parts, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, p := range parts {
		if !p.IsDir() {
			continue
		}
		if err := countStore(filepath.Join(dir, p.Name()), counts); err != nil {
			return nil, err
		}
	}
	if len(counts) == 0 && len(parts) == 0 {
		return nil, errors.New("no partition stores in " + dir)
	}
	return counts, nil
}

func countStore(dir string, counts map[string]int) (err error) {
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	it, err := db.NewIter(nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; ok = it.Next() {
		if k := it.Key(); len(k) > 0 {
			if name, ok := storageTables[k[0]]; ok {
				counts[name]++
			}
		}
	}
	return it.Error()
}

// quietLogger keeps pebble's WAL replay messages out of the test log.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(f string, args ...any) { fmt.Fprintf(os.Stderr, "pebble: "+f+"\n", args...) }
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf("pebble: "+f, args...)) }

// TestRetentionCSV reads back what a run wrote, so --retention-judge judges the same samples.
func TestRetentionCSV(t *testing.T) {
	want := []dirSample{
		{At: 0, Calls: 0, Apparent: 100, Allocated: 4096, Sub: map[string]int64{"partitions": 0, "raft": 4096}},
		{At: 10500 * time.Millisecond, Calls: 1050, Apparent: 2000, Allocated: 8192, Sub: map[string]int64{"partitions": 4096, "raft": 4096}},
	}
	path := filepath.Join(t.TempDir(), "samples.csv")
	if err := writeRetentionCSV(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readRetentionCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}
