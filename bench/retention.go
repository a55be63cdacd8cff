package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// retentionSettings are the knobs of the retention scenario (flags --retention-*).
type retentionSettings struct {
	Duration    time.Duration `json:"duration"`    // steady load
	Rate        float64       `json:"rate"`        // calls/s offered, open loop
	MaxInFlight int           `json:"maxInFlight"` // past that the generator waits
	Period      time.Duration `json:"period"`      // idempotency and journal retention set on the services
	Sample      time.Duration `json:"sample"`      // data directory sampled this often
}

// retentionWarmupPeriods is how many retention periods the warm-up lasts: in the first period
// nothing has expired yet, so the data grows; from the second on, entries expire as fast as new
// ones arrive; the third leaves the storage engine time to flush and compact once.
const retentionWarmupPeriods = 3

// Tolerances of the "flat" verdict, as fractions of the plateau (the largest size in the
// first third of the run after the warm-up). The size of an LSM store is a sawtooth: its
// write-ahead log grows until the memtable is flushed, and SSTs pile up in L0 until a
// compaction merges them with their tombstones; the teeth are what the plateau's maximum
// already contains. Linear growth over an hour at rate g from a plateau P reached after about
// 20 minutes ends the run at P + 40 min·g: unless g is tiny next to P it exceeds the 25 %
// bound, and the slope bound catches growth that is steady but still inside it.
const (
	retentionMaxGrowth  = 0.25 // last third's maximum ≤ (1 + this) × plateau
	retentionSlopeLimit = 0.25 // least-squares slope over the second half ≤ this × plateau per hour
)

// retentionNotFlat starts the error of a run whose disk use grew.
const retentionNotFlat = "disk use not flat: "

// dirSample is one measurement of the server's data directory.
type dirSample struct {
	At        time.Duration    // since the load started
	Calls     int64            // calls completed by then
	Apparent  int64            // sum of file sizes, bytes
	Allocated int64            // sum of allocated blocks, bytes (what df sees)
	Sub       map[string]int64 // allocated bytes per top-level entry of the data directory
}

// retentionScenario offers a steady open-loop load of Bench/noop calls, each with a fresh
// Idempotency-Key, to services whose idempotency and journal retention is Period, and samples
// the size of the server's data directory every Sample. Entries expire many times over during
// the run, so the size must level off after the first retention periods: the verdict says
// whether it did. Probes check expiry itself: every Period one Counter/{probe}/add with its own
// idempotency key, sent twice (the second must be answered from the idempotency entry: 1), and
// sent again after the run once its retention is over (it must run again: 2).
func retentionScenario(ctx context.Context, e *env) []result {
	rs := e.cfg.retention
	r := e.result("retention", fmt.Sprintf("%.0f calls/s for %v, retention %v", rs.Rate, rs.Duration, rs.Period))
	fail := func(format string, args ...any) []result {
		r.Err = fmt.Sprintf(format, args...)
		return []result{r}
	}
	for _, svc := range []string{"Bench", "Counter"} {
		if err := e.srv.setRetention(svc, rs.Period); err != nil {
			return fail("%v", err)
		}
	}
	// The services' settings reach the ingress through the log (Resolute) or the metadata
	// store (restate-server): a first probe that is still kept after its retention shows it.
	time.Sleep(time.Second)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: rs.MaxInFlight, MaxIdleConnsPerHost: rs.MaxInFlight, DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()

	var (
		ok, failed atomic.Int64
		firstErr   atomic.Value
		probes     []string
		probeErr   error
		samples    []dirSample
		sampleErr  error
		wg         sync.WaitGroup
	)
	loadCtx, stopLoad := context.WithTimeout(ctx, rs.Duration)
	defer stopLoad()
	start := time.Now()
	sample := func() {
		s, err := sizeDir(e.srv.dataDir)
		if err != nil {
			sampleErr = cmpErr(sampleErr, err)
			return
		}
		s.At, s.Calls = time.Since(start), ok.Load()
		samples = append(samples, s)
		e.cfg.logf("bench:   retention %v: %d calls, %s on disk (%s)", s.At.Round(time.Second), s.Calls, mib(s.Allocated), subText(s.Sub))
	}
	sample()
	wg.Go(func() { // sampler
		t := time.NewTicker(rs.Sample)
		defer t.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
				sample()
			}
		}
	})
	wg.Go(func() { // probes
		t := time.NewTicker(rs.Period)
		defer t.Stop()
		for i := 0; ; i++ {
			key := fmt.Sprintf("ret-%s-%d", run, i)
			for attempt := range 2 {
				got, err := idempotentAdd(loadCtx, client, e.srv.ingress, key)
				if loadCtx.Err() != nil {
					return // a call cut short is not judged (it may not have been sent)
				}
				if attempt == 0 {
					probes = append(probes, key)
				}
				if err == nil && got != 1 {
					err = fmt.Errorf("probe %s: call %d answered %d, want 1 (the second from the idempotency entry)", key, attempt+1, got)
				}
				if err != nil {
					probeErr = cmpErr(probeErr, err)
				}
			}
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
		}
	})
	// The load: one call per interval, whatever the answers take (at most MaxInFlight at once).
	slots := make(chan struct{}, rs.MaxInFlight)
	interval := time.Duration(float64(time.Second) / rs.Rate)
	var calls sync.WaitGroup
	for seq := 0; loadCtx.Err() == nil; seq++ {
		if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-loadCtx.Done():
			}
		}
		select {
		case slots <- struct{}{}:
		case <-loadCtx.Done():
		}
		if loadCtx.Err() != nil {
			break
		}
		key := "ret-" + run + "-c" + strconv.Itoa(seq)
		calls.Go(func() {
			defer func() { <-slots }()
			if err := idempotentNoop(ctx, client, e.srv.ingress, key); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			ok.Add(1)
		})
	}
	offered := time.Since(start)
	calls.Wait()
	wg.Wait()
	sample()
	if ctx.Err() != nil {
		return fail("interrupted after %v: %v", offered.Round(time.Second), ctx.Err())
	}
	// A last probe after every call has been answered: once it has expired, so has every
	// entry the load wrote (same retention, completed earlier).
	last := fmt.Sprintf("ret-%s-last", run)
	if got, err := idempotentAdd(ctx, client, e.srv.ingress, last); err != nil || got != 1 {
		probeErr = cmpErr(probeErr, fmt.Errorf("last probe %s: answered %d, %v; want 1", last, got, err))
	}
	probes = append(probes, last)
	kept, err := awaitExpiry(ctx, client, e.srv.ingress, probes, rs.Period+time.Minute)

	v := judgeRetention(samples, time.Duration(retentionWarmupPeriods)*rs.Period)
	path := filepath.Join(e.cfg.workDir, fmt.Sprintf("retention-%s-%s.csv", e.srv.kind, e.dep.kind))
	if werr := writeRetentionCSV(path, samples); werr != nil {
		sampleErr = cmpErr(sampleErr, werr)
	}
	e.cfg.logf("bench:   retention samples in %s\n%s", path, retentionTable(samples, 20))
	r.Figures = []figure{
		{"calls", float64(ok.Load()), ""},
		{"calls/s", float64(ok.Load()) / offered.Seconds(), ""},
		{"failed calls", float64(failed.Load()), "lower"},
		{"plateau MiB", float64(v.plateau) / (1 << 20), "lower"},
		{"max MiB", float64(v.max) / (1 << 20), "lower"},
		{"final MiB", float64(v.final) / (1 << 20), "lower"},
		{"slope %/h", v.slopePct, "lower"},
		{"last third max / plateau", v.growth, "lower"},
		{"apparent final MiB", float64(v.apparentFinal) / (1 << 20), "lower"},
		{"probes", float64(len(probes)), ""},
		{"probes kept past retention", float64(kept), "lower"},
		{"flat (1 = yes)", b2f(v.flat), ""},
	}
	r.Note = fmt.Sprintf("%s; %d probes; samples in %s", v.text, len(probes), path)
	var errs []string
	if n := failed.Load(); n > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d calls failed; first: %v", n, n+ok.Load(), firstErr.Load()))
	}
	for _, e := range []error{probeErr, err, sampleErr} {
		if e != nil {
			errs = append(errs, e.Error())
		}
	}
	if kept > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d probes still answered from their idempotency entry %v after their retention", kept, len(probes), rs.Period+time.Minute))
	}
	if !v.flat { // last: the smoke test reads the other errors before it
		errs = append(errs, retentionNotFlat+v.text)
	}
	if len(errs) > 0 {
		r.Err = strings.Join(errs, "; ")
		if v.flat {
			r.Err += " (" + v.text + ")"
		}
	}
	return []result{r}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

// setRetention sets the idempotency and journal retention of a service (PATCH /services/{name}).
func (s *server) setRetention(service string, d time.Duration) error {
	ms := fmt.Sprintf("%dms", d.Milliseconds())
	body, _ := json.Marshal(map[string]string{"idempotency_retention": ms, "journal_retention": ms})
	req, err := http.NewRequest(http.MethodPatch, s.admin+"/services/"+service, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("content-type", "application/json")
	resp, err := controlClient.Do(req)
	if err != nil {
		return fmt.Errorf("PATCH /services/%s: %w", service, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH /services/%s: status %d: %.300s", service, resp.StatusCode, answer)
	}
	return nil
}

// idempotentNoop calls Bench/noop with key as its idempotency key.
func idempotentNoop(ctx context.Context, client *http.Client, ingress, key string) error {
	_, err := idempotentPost(ctx, client, ingress+"/Bench/noop", key)
	return err
}

// idempotentAdd adds 1 to Counter/{key} with key as its idempotency key and returns the answer.
func idempotentAdd(ctx context.Context, client *http.Client, ingress, key string) (int, error) {
	body, err := idempotentPost(ctx, client, ingress+"/Counter/"+key+"/add", key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil {
		return 0, fmt.Errorf("Counter/%s/add answered %q: %w", key, body, err)
	}
	return n, nil
}

func idempotentPost(ctx context.Context, client *http.Client, url, key string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("1"))
	if err != nil {
		return nil, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("idempotency-key", key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: read: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: status %d: %.200s", url, resp.StatusCode, body)
	}
	return body, nil
}

// awaitExpiry sends every probe again until it runs anew (answers 2: its idempotency entry has
// expired, so the add ran a second time) or timeout passes, and returns how many never did.
// A probe that ran anew has a fresh entry, so asking again does not add again.
func awaitExpiry(ctx context.Context, client *http.Client, ingress string, probes []string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	pending := slices.Clone(probes)
	for {
		var still []string
		for _, key := range pending {
			got, err := idempotentAdd(ctx, client, ingress, key)
			if err != nil {
				return len(pending), fmt.Errorf("probe after the run: %w", err)
			}
			switch got {
			case 1:
				still = append(still, key)
			case 2:
			default:
				return len(pending), fmt.Errorf("probe %s answered %d after the run, want 2 (ran once more after its entry expired)", key, got)
			}
		}
		pending = still
		if len(pending) == 0 || time.Now().After(deadline) {
			return len(pending), nil
		}
		select {
		case <-ctx.Done():
			return len(pending), ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// sizeDir sums the sizes of the files under dir: apparent (file sizes) and allocated (blocks,
// which counts preallocated write-ahead logs), the latter also per top-level entry. Files that
// vanish while it walks (compactions delete them) are skipped.
func sizeDir(dir string) (dirSample, error) {
	s := dirSample{Sub: map[string]int64{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		alloc := info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			alloc = st.Blocks * 512
		}
		s.Apparent += info.Size()
		s.Allocated += alloc
		rel, _ := filepath.Rel(dir, path)
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		s.Sub[top] += alloc
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("size of %s: %w", dir, err)
	}
	return s, nil
}

// retentionVerdict is what judgeRetention found.
type retentionVerdict struct {
	flat                          bool
	plateau, max, final           int64 // allocated bytes
	apparentFinal                 int64
	slopePct                      float64 // least-squares slope over the second half, % of the plateau per hour
	growth                        float64 // last third's maximum over the plateau
	apparentGrowth, apparentSlope float64 // the same for the apparent size
	text                          string
}

// judgeRetention decides whether the data directory stayed flat after the warm-up: its
// allocated size (disk use) must keep the last third's maximum within retentionMaxGrowth of the
// plateau (the maximum of the first third after the warm-up) and the slope over the second half
// of the run within retentionSlopeLimit of the plateau per hour. The apparent size is reported
// but not judged: both stores preallocate their write-ahead logs (dragonboat's tan log files
// take 4.4 MiB of blocks when created) or recycle them (pebble reuses an old WAL file, which
// keeps its old length), so the sum of file sizes climbs towards the allocated size for a long
// time after the disk use has levelled off, and can never pass it.
func judgeRetention(samples []dirSample, warmup time.Duration) retentionVerdict {
	var v retentionVerdict
	if len(samples) < 6 {
		v.text = fmt.Sprintf("too few samples to judge (%d)", len(samples))
		return v
	}
	end := samples[len(samples)-1].At
	if warmup > end/2 {
		warmup = end / 2 // a short run: judge what is left
	}
	third := (end - warmup) / 3
	judge := func(size func(dirSample) int64) (plateau int64, growth, slopePct float64) {
		var lastMax int64
		var xs, ys []float64
		for _, s := range samples {
			switch {
			case s.At >= warmup && s.At <= warmup+third:
				plateau = max(plateau, size(s))
			case s.At >= end-third:
				lastMax = max(lastMax, size(s))
			}
			if s.At >= end/2 {
				xs, ys = append(xs, s.At.Hours()), append(ys, float64(size(s)))
			}
		}
		if plateau == 0 {
			return 0, math.Inf(1), math.Inf(1)
		}
		return plateau, float64(lastMax) / float64(plateau), 100 * slope(xs, ys) / float64(plateau)
	}
	alloc := func(s dirSample) int64 { return s.Allocated }
	apparent := func(s dirSample) int64 { return s.Apparent }
	var apparentPlateau int64
	v.plateau, v.growth, v.slopePct = judge(alloc)
	apparentPlateau, v.apparentGrowth, v.apparentSlope = judge(apparent)
	for _, s := range samples {
		v.max = max(v.max, s.Allocated)
	}
	last := samples[len(samples)-1]
	v.final, v.apparentFinal = last.Allocated, last.Apparent
	okAlloc := v.growth <= 1+retentionMaxGrowth && v.slopePct <= 100*retentionSlopeLimit
	v.flat = okAlloc
	word := "flat"
	if !v.flat {
		word = "GROWING"
	}
	v.text = fmt.Sprintf("%s: on disk plateau %s (max of %v–%v), max %s, final %s, last third max %.2f× plateau (limit %.2f), slope %+.1f %%/h of plateau over the second half (limit %.0f); apparent size (not judged) plateau %s, final %s, %.2f×, %+.1f %%/h",
		word, mib(v.plateau), warmup.Round(time.Second), (warmup + third).Round(time.Second), mib(v.max), mib(v.final), v.growth, 1+retentionMaxGrowth,
		v.slopePct, 100*retentionSlopeLimit, mib(apparentPlateau), mib(v.apparentFinal), v.apparentGrowth, v.apparentSlope)
	return v
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// subDirs are the top-level entries of the samples, sorted.
func subDirs(samples []dirSample) []string {
	var names []string
	for _, s := range samples {
		for k := range s.Sub {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return names
}

func subText(sub map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sub)) {
		parts = append(parts, k+" "+mib(sub[k]))
	}
	return strings.Join(parts, ", ")
}

// writeRetentionCSV writes one line per sample: seconds, calls, apparent and allocated bytes,
// then allocated bytes per top-level entry of the data directory.
func writeRetentionCSV(path string, samples []dirSample) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	subs := subDirs(samples)
	_ = w.Write(append([]string{"seconds", "calls", "apparent_bytes", "allocated_bytes"}, subs...))
	for _, s := range samples {
		row := []string{strconv.FormatFloat(s.At.Seconds(), 'f', 1, 64), strconv.FormatInt(s.Calls, 10),
			strconv.FormatInt(s.Apparent, 10), strconv.FormatInt(s.Allocated, 10)}
		for _, k := range subs {
			row = append(row, strconv.FormatInt(s.Sub[k], 10))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("retention samples: %w", err)
	}
	return nil
}

// readRetentionCSV reads what writeRetentionCSV wrote.
func readRetentionCSV(path string) ([]dirSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || len(rows[0]) < 4 {
		return nil, fmt.Errorf("%s: no header", path)
	}
	var out []dirSample
	for i, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			return nil, fmt.Errorf("%s: line %d has %d fields, want %d", path, i+2, len(row), len(rows[0]))
		}
		nums := make([]float64, len(row))
		for j, f := range row {
			if nums[j], err = strconv.ParseFloat(f, 64); err != nil {
				return nil, fmt.Errorf("%s: line %d: %w", path, i+2, err)
			}
		}
		s := dirSample{At: time.Duration(nums[0] * float64(time.Second)), Calls: int64(nums[1]),
			Apparent: int64(nums[2]), Allocated: int64(nums[3]), Sub: map[string]int64{}}
		for j, name := range rows[0][4:] {
			s.Sub[name] = int64(nums[4+j])
		}
		out = append(out, s)
	}
	return out, nil
}

// judgeRetentionCSV prints the verdict and the table of a saved run (--retention-judge).
func judgeRetentionCSV(w io.Writer, path string, period time.Duration) error {
	samples, err := readRetentionCSV(path)
	if err != nil {
		return err
	}
	v := judgeRetention(samples, retentionWarmupPeriods*period)
	fmt.Fprintf(w, "%s\n\n%s", v.text, retentionTable(samples, 20))
	return nil
}

// retentionTable is a compact markdown table of at most rows samples, evenly spaced.
func retentionTable(samples []dirSample, rows int) string {
	var b strings.Builder
	subs := subDirs(samples)
	fmt.Fprintf(&b, "| min | calls | apparent MiB | on disk MiB | %s |\n|---|---|---|---|%s\n",
		strings.Join(subs, " MiB | ")+" MiB", strings.Repeat("---|", len(subs)))
	step := max(1, (len(samples)+rows-1)/rows)
	for i, s := range samples {
		if i%step != 0 && i != len(samples)-1 {
			continue
		}
		fmt.Fprintf(&b, "| %.1f | %d | %.1f | %.1f |", s.At.Minutes(), s.Calls, float64(s.Apparent)/(1<<20), float64(s.Allocated)/(1<<20))
		for _, k := range subs {
			fmt.Fprintf(&b, " %.1f |", float64(s.Sub[k])/(1<<20))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
