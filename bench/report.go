package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// report is everything one run produced.
type report struct {
	Date        time.Time `json:"date"`
	Machine     machine   `json:"machine"`
	Settings    settings  `json:"settings"`
	Results     []result  `json:"results"`
	servers     []string
	deployments []string
}

// settings are the knobs of the run, printed with the results.
type settings struct {
	Scenarios   []string `json:"scenarios"`
	Servers     []string `json:"servers"`
	Deployments []string `json:"deployments"`
	Size        string   `json:"size"`
	Duration    string   `json:"duration"`
	Warmup      string   `json:"warmup"`
	Sizes       sizes    `json:"sizes"`
	// Nodes is the processes per server (more than 1: a cluster); Partitions overrides the
	// servers' partition counts when not 0.
	Nodes      int `json:"nodes"`
	Partitions int `json:"partitions,omitempty"`
	// Retention is set when the retention scenario ran.
	Retention *retentionSettings `json:"retention,omitempty"`
}

// addBatching derives, for workflow10, durable steps per disk fsync: the
// steps the server completed per second over the fsyncs per second the disk
// can do alone. Above 1 the server must be batching fsyncs.
func (rep *report) addBatching() {
	var fsyncs float64
	for _, r := range rep.Results {
		if r.Scenario == "fsync" && r.Err == "" {
			fsyncs, _ = r.figure("fsyncs/s")
		}
	}
	if fsyncs == 0 {
		return
	}
	for i, r := range rep.Results {
		if r.Scenario != "workflow10" || r.Err != "" {
			continue
		}
		if cps, ok := r.figure("calls/s"); ok {
			steps := cps * float64(rep.Settings.Sizes.Steps)
			rep.Results[i].Figures = append(rep.Results[i].Figures, figure{"steps per disk fsync", steps / fsyncs, ""})
		}
	}
}

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *report) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# Resolute vs Restate: benchmark results\n\n")
	m := rep.Machine
	fmt.Fprintf(w, "Run %s at commit %s.\n\n", rep.Date.Format("2006-01-02 15:04 MST"), m.Commit)
	fmt.Fprintf(w, "| Machine | |\n|---|---|\n")
	for _, kv := range [][2]string{
		{"CPU", fmt.Sprintf("%s, %d cores", m.CPU, m.Cores)}, {"Memory", m.MemoryGB}, {"Data dir disk", m.Disk},
		{"Load average (1/5/15 min) at start, end", m.LoadStart + "; " + m.LoadEnd},
		{"Kernel", m.Kernel}, {"Go", m.Go}, {"Node", m.Node}, {"restate-server", m.Restate},
	} {
		fmt.Fprintf(w, "| %s | %s |\n", kv[0], kv[1])
	}
	s := rep.Settings
	fmt.Fprintf(w, "\nSettings: size `%s`, %s measured per case after %s of warm-up; servers %s; deployments %s. "+
		"Load: closed-loop Go HTTP/1.1 client on the same machine, one kept-alive connection per worker, "+
		"`c` = concurrent workers; latency is per call, client side. Every server and deployment process is fresh "+
		"for each (server, deployment) pair, with default settings. Sizes: %s.\n\n",
		s.Size, s.Duration, s.Warmup, strings.Join(s.Servers, ", "), strings.Join(s.Deployments, ", "), sizesText(s.Sizes))
	if s.Nodes > 1 {
		fmt.Fprintf(w, "Each server is a cluster of %d nodes on this machine (resolute: --peers; restate-server: replicated "+
			"metadata server and loglet, default-replication %d); worker `w` and one-way send `i` go to node `w` (`i`) mod %d.", s.Nodes, restateReplication, s.Nodes)
		if s.Partitions > 0 {
			fmt.Fprintf(w, " Both with %d partitions.", s.Partitions)
		}
		fmt.Fprintf(w, "\n\n")
	}
	both := slices.Contains(rep.servers, "resolute") && slices.Contains(rep.servers, "restate")
	if both {
		fmt.Fprintf(w, "Cells read `Resolute / Restate = ratio×` (ratio Resolute/Restate). Target: throughput ratio ≥ 1.5 and p99 ratio ≤ 1.\n\n")
	}
	var errs []string
	for _, sc := range allScenarios() {
		rs := rep.of(sc)
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(w, "### %s\n\n", sc)
		errs = append(errs, rep.writeTable(w, sc, rs, both)...)
		for _, r := range rs {
			if r.Note != "" && r.Err == "" {
				fmt.Fprintf(w, "- %s, %s, %s: %s\n", r.Case, r.Deployment, r.Server, r.Note)
			}
		}
		fmt.Fprintln(w)
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "### Errors\n\n")
		for _, e := range errs {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
}

func sizesText(z sizes) string {
	return fmt.Sprintf("noop c=%v; counter %d keys at c=%d; workflow10 %d steps at c=%v; fanout %d calls at c=%v; "+
		"sleepers %d (timers due %v after the first send); awakeable %d suspended per case, resolved at c=%v; "+
		"workflows-waiting %d; recovery %d in flight",
		z.NoopConcurrency, z.Keys, z.CounterConcurrency, z.Steps, z.WorkflowConcurrency, z.Fanout, z.FanoutConcurrency,
		z.Sleepers, z.SleepMargin, z.Awakeables, z.AwakeableConcurrency, z.WaitingWorkflows, z.Recovery)
}

func (rep *report) of(scenario string) []result {
	var rs []result
	for _, r := range rep.Results {
		if r.Scenario == scenario {
			rs = append(rs, r)
		}
	}
	return rs
}

// rowKey identifies one table row: a case with one deployment.
type rowKey struct{ cas, dep string }

// writeTable writes one scenario's table and returns its error lines.
func (rep *report) writeTable(w io.Writer, sc string, rs []result, both bool) []string {
	var names []string
	var rows []rowKey
	cells := map[rowKey]map[string]result{}
	for _, r := range rs {
		for _, f := range r.Figures {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
		k := rowKey{r.Case, r.Deployment}
		if cells[k] == nil {
			cells[k] = map[string]result{}
			rows = append(rows, k)
		}
		cells[k][r.Server] = r
	}
	targets := both && slices.Contains(names, "calls/s")
	fmt.Fprintf(w, "| case | deployment | %s |", strings.Join(names, " | "))
	if targets {
		fmt.Fprintf(w, " target |")
	}
	fmt.Fprintf(w, "\n|---|---|%s", strings.Repeat("---|", len(names)))
	if targets {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	var errs []string
	for _, k := range rows {
		byServer := cells[k]
		fmt.Fprintf(w, "| %s | %s |", k.cas, k.dep)
		for _, n := range names {
			fmt.Fprintf(w, " %s |", rep.cell(byServer, n, both))
		}
		if targets {
			fmt.Fprintf(w, " %s |", targetVerdict(byServer))
		}
		fmt.Fprintln(w)
		for _, srv := range rep.servers {
			if r, ok := byServer[srv]; ok && r.Err != "" {
				errs = append(errs, fmt.Sprintf("%s %s, %s deployment, %s: %s", sc, k.cas, k.dep, srv, r.Err))
			}
		}
	}
	fmt.Fprintln(w)
	return errs
}

func (rep *report) cell(byServer map[string]result, name string, both bool) string {
	var parts []string
	var vals []float64
	for _, srv := range rep.servers {
		r, ok := byServer[srv]
		if !ok {
			continue
		}
		if r.Err != "" {
			parts = append(parts, "error")
			continue
		}
		v, ok := r.figure(name)
		if !ok {
			parts = append(parts, "–")
			continue
		}
		parts = append(parts, formatValue(v))
		vals = append(vals, v)
	}
	if _, machineOnly := byServer["machine"]; machineOnly {
		return formatValue(must(byServer["machine"].figure(name)))
	}
	s := strings.Join(parts, " / ")
	if both && len(vals) == 2 && vals[1] != 0 {
		s += fmt.Sprintf(" = %s×", formatRatio(vals[0]/vals[1]))
	}
	return s
}

func must(v float64, _ bool) float64 { return v }

// targetVerdict judges a load row: Resolute needs at least 1.5× Restate's
// throughput and at most its p99.
func targetVerdict(byServer map[string]result) string {
	ours, okA := byServer["resolute"]
	theirs, okB := byServer["restate"]
	if !okA || !okB || ours.Err != "" || theirs.Err != "" {
		return "–"
	}
	t1, _ := ours.figure("calls/s")
	t2, _ := theirs.figure("calls/s")
	p1, _ := ours.figure("p99 ms")
	p2, _ := theirs.figure("p99 ms")
	var miss []string
	if t2 > 0 && t1/t2 < 1.5 {
		miss = append(miss, fmt.Sprintf("throughput %s×", formatRatio(t1/t2)))
	}
	if p2 > 0 && p1 > p2 {
		miss = append(miss, fmt.Sprintf("p99 %s×", formatRatio(p1/p2)))
	}
	if len(miss) == 0 {
		return "met"
	}
	return "missed: " + strings.Join(miss, ", ")
}

func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func formatRatio(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.2f", r)
}
