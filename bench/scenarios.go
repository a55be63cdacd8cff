package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// figure is one measured number. Better says which direction is good, so
// the report can judge a ratio: "higher", "lower" or "" (informational).
type figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Better string  `json:"better,omitempty"`
}

// result is one scenario case on one server with one deployment.
type result struct {
	Scenario   string   `json:"scenario"`
	Case       string   `json:"case"`
	Server     string   `json:"server"`
	Deployment string   `json:"deployment"`
	Figures    []figure `json:"figures,omitempty"`
	Err        string   `json:"error,omitempty"`
	Note       string   `json:"note,omitempty"`
}

func (r result) figure(name string) (float64, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f.Value, true
		}
	}
	return 0, false
}

// sizes are the scenario parameters of one --size.
type sizes struct {
	NoopConcurrency     []int         `json:"noopConcurrency"`
	Keys                int           `json:"keys"`
	CounterConcurrency  int           `json:"counterConcurrency"`
	Steps               int           `json:"steps"`
	WorkflowConcurrency []int         `json:"workflowConcurrency"`
	Fanout              int           `json:"fanout"`
	FanoutConcurrency   []int         `json:"fanoutConcurrency"`
	Sleepers            int           `json:"sleepers"`
	SleepMargin         time.Duration `json:"sleepMargin"`
	Recovery            int           `json:"recovery"`
	// Awakeables: invocations suspended on an awakeable per awakeable case, resolved by
	// AwakeableConcurrency workers; WaitingWorkflows: workflows suspended on a promise.
	Awakeables           int           `json:"awakeables"`
	AwakeableConcurrency []int         `json:"awakeableConcurrency"`
	WaitingWorkflows     int           `json:"waitingWorkflows"`
	SendConcurrency      int           `json:"sendConcurrency"`
	WaitTimeout          time.Duration `json:"waitTimeout"`
	// OverloadConcurrency measures the sustainable rate of the overload scenario;
	// OverloadMaxInFlight caps its open-loop calls in flight.
	OverloadConcurrency int `json:"overloadConcurrency"`
	OverloadMaxInFlight int `json:"overloadMaxInFlight"`
	// Kafka: the kafka scenario's topics (records of the backlog and of the throughput case)
	// and record keys; --kafka-records and --kafka-throughput-records override the first two.
	Kafka kafkaSettings `json:"kafka"`
	// QueryInvocations: completed invocations the query scenario queries over
	// (--query-invocations overrides).
	QueryInvocations int `json:"queryInvocations"`
}

var sizePresets = map[string]sizes{
	"default": {
		NoopConcurrency: []int{1, 16, 128}, Keys: 10_000, CounterConcurrency: 16,
		Steps: 10, WorkflowConcurrency: []int{1, 16}, Fanout: 50, FanoutConcurrency: []int{1, 16},
		Sleepers: 10_000, SleepMargin: 40 * time.Second, Recovery: 10_000, SendConcurrency: 64,
		Awakeables: 1000, AwakeableConcurrency: []int{1, 16}, WaitingWorkflows: 10_000,
		WaitTimeout: 3 * time.Minute, OverloadConcurrency: 64, OverloadMaxInFlight: 16384,
		Kafka:            kafkaSettings{Records: 1_000_000, ThroughputRecords: 50_000, Keys: 10_000},
		QueryInvocations: 1_000_000,
	},
	"tiny": {
		NoopConcurrency: []int{1, 16, 128}, Keys: 100, CounterConcurrency: 4,
		Steps: 10, WorkflowConcurrency: []int{1, 4}, Fanout: 50, FanoutConcurrency: []int{1, 4},
		Sleepers: 50, SleepMargin: 4 * time.Second, Recovery: 50, SendConcurrency: 16,
		Awakeables: 100, AwakeableConcurrency: []int{1, 4}, WaitingWorkflows: 200,
		WaitTimeout: time.Minute, OverloadConcurrency: 16, OverloadMaxInFlight: 2048,
		Kafka:            kafkaSettings{Records: 2_000, ThroughputRecords: 500, Keys: 100},
		QueryInvocations: 2_000,
	},
}

// scenarioOrder is the order scenarios run in; recovery restarts the server,
// so it runs last. The scenarios that leave thousands of completed workflows
// behind run after sleepers, so that its idle RSS stays comparable with
// earlier runs.
var scenarioOrder = []string{"fsync", "noop", "counter", "workflow10", "fanout", "sleepers", "awakeable", "workflows-waiting", "overload", "recovery"}

// optionalScenarios run only when --scenarios names them: retention lasts an hour by default.
// failover kills cluster nodes one after another (--nodes 3 or more). kafka fills a
// million-record topic in the bench process first. query fills a million invocations.
var optionalScenarios = []string{"retention", "failover", "kafka", "query"}

// allScenarios is the order of every scenario, the optional ones last.
func allScenarios() []string { return append(slices.Clone(scenarioOrder), optionalScenarios...) }

// env is what a scenario runs against.
type env struct {
	cfg *config
	sz  sizes
	srv *server
	dep *deployment
}

// scenario runs the cases of one scenario and returns one result per case.
type scenario func(ctx context.Context, e *env) []result

var scenarios = map[string]scenario{
	"noop":              noopScenario,
	"counter":           counterScenario,
	"workflow10":        workflowScenario,
	"fanout":            fanoutScenario,
	"sleepers":          sleepersScenario,
	"awakeable":         awakeableScenario,
	"workflows-waiting": waitingScenario,
	"overload":          overloadScenario,
	"recovery":          recoveryScenario,
	"retention":         retentionScenario,
	"failover":          failoverScenario,
	"kafka":             kafkaScenario,
	"query":             queryScenario,
}

func (e *env) result(scenario, cas string) result {
	return result{Scenario: scenario, Case: cas, Server: e.srv.kind, Deployment: e.dep.kind}
}

// loadCase runs one closed-loop case and turns it into a result.
func (e *env) loadCase(ctx context.Context, scenario string, concurrency int, cas string, next func(w, s int) call) result {
	r := e.result(scenario, cas)
	termsBefore, termsErr := e.srv.raftTerms(ctx)
	lr := closedLoop(ctx, e.srv.ingresses, concurrency, e.cfg.warmup, e.cfg.duration, next)
	var notes []string
	if termsAfter, err := e.srv.raftTerms(ctx); termsErr == nil && err == nil && termsAfter > termsBefore {
		notes = append(notes, fmt.Sprintf("Raft terms rose by %d during the case (leader elections)", termsAfter-termsBefore))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Figures = []figure{
		{"calls/s", lr.throughput(), "higher"},
		{"p50 ms", ms(percentile(lr.latencies, 50)), "lower"},
		{"p90 ms", ms(percentile(lr.latencies, 90)), "lower"},
		{"p99 ms", ms(percentile(lr.latencies, 99)), "lower"},
	}
	if n := len(lr.latencies); n > 0 && lr.latencies[n-1] > 5*percentile(lr.latencies, 99) {
		// One slow call stretches the window and lowers calls/s more than the percentiles show.
		notes = append(notes, fmt.Sprintf("slowest call %.0f ms (p99 %.1f ms), window %.1f s", ms(lr.latencies[n-1]), ms(percentile(lr.latencies, 99)), lr.window.Seconds()))
	}
	r.Note = strings.Join(notes, "; ")
	switch {
	case lr.errors > 0:
		r.Err = fmt.Sprintf("%d failed calls; first: %s", lr.errors, lr.firstErr)
	case lr.calls == 0:
		r.Err = "no call succeeded after the warm-up"
	}
	return r
}

func noopScenario(ctx context.Context, e *env) []result {
	var out []result
	for _, c := range e.sz.NoopConcurrency {
		out = append(out, e.loadCase(ctx, "noop", c, fmt.Sprintf("c=%d", c), func(int, int) call {
			return call{"/Bench/noop", "1"}
		}))
	}
	return out
}

func counterScenario(ctx context.Context, e *env) []result {
	c := e.sz.CounterConcurrency
	keys := e.sz.Keys
	spread := e.loadCase(ctx, "counter", c, fmt.Sprintf("%d keys, c=%d", keys, c), func(int, int) call {
		return call{"/Counter/k" + strconv.Itoa(rand.IntN(keys)) + "/add", "1"}
	})
	hot := e.loadCase(ctx, "counter", c, fmt.Sprintf("1 hot key, c=%d", c), func(int, int) call {
		return call{"/Counter/hot/add", "1"}
	})
	return []result{spread, hot}
}

func workflowScenario(ctx context.Context, e *env) []result {
	var out []result
	body := strconv.Itoa(e.sz.Steps)
	for _, c := range e.sz.WorkflowConcurrency {
		r := e.loadCase(ctx, "workflow10", c, fmt.Sprintf("%d steps, c=%d", e.sz.Steps, c), func(int, int) call {
			return call{"/Bench/steps", body}
		})
		if p50, ok := r.figure("p50 ms"); ok && c == 1 {
			r.Figures = append(r.Figures, figure{"p50 ms/step", p50 / float64(e.sz.Steps), "lower"})
		}
		out = append(out, r)
	}
	return out
}

func fanoutScenario(ctx context.Context, e *env) []result {
	var out []result
	body := strconv.Itoa(e.sz.Fanout)
	for _, c := range e.sz.FanoutConcurrency {
		out = append(out, e.loadCase(ctx, "fanout", c, fmt.Sprintf("%d calls, c=%d", e.sz.Fanout, c), func(int, int) call {
			return call{"/Bench/fanout", body}
		}))
	}
	return out
}

// sleepersScenario sends n invocations that sleep until one wall-clock
// instant, reads the server's RSS while all of them sleep, and measures how
// long after that instant the last one has resumed. It checks that every
// sleeper woke exactly once and none before the instant.
//
// Nothing here depends on how fast the machine starts the sleepers: one that
// starts after the instant sleeps for no time, and is still checked. Only the
// figures need everything asleep at the instant: if the last sleeper started
// later, the RSS while sleeping is not measured and the resume time counts
// from that start.
func sleepersScenario(ctx context.Context, e *env) []result {
	n := e.sz.Sleepers
	r := e.result("sleepers", fmt.Sprintf("%d sleeping", n))
	fail := func(format string, args ...any) []result {
		r.Err = fmt.Sprintf(format, args...)
		return []result{r}
	}
	if err := e.dep.post("reset"); err != nil {
		return fail("%v", err)
	}
	idle, err := e.srv.rssKiB()
	if err != nil {
		return fail("read RSS: %v", err)
	}
	sendStart := time.Now()
	wakeAt := sendStart.Add(e.sz.SleepMargin)
	body := strconv.FormatInt(wakeAt.UnixMilli(), 10)
	if err := sendAll(ctx, e.srv.ingresses, n, e.sz.SendConcurrency, func(int) call {
		return call{"/Bench/sleep/send", body}
	}); err != nil {
		return fail("send: %v", err)
	}
	sent := time.Since(sendStart)
	allIn, err := e.dep.waitStat(n, e.sz.WaitTimeout, func(s stats) int { return s.SleepEntered })
	if err != nil {
		return fail("start: %v", err)
	}
	r.Figures = []figure{{"RSS idle MiB", float64(idle) / 1024, "lower"}}
	inTime := allIn.Before(wakeAt.Add(-100 * time.Millisecond))
	if inTime {
		// RSS just before the timers fire: everything is asleep.
		time.Sleep(time.Until(wakeAt.Add(-100 * time.Millisecond)))
		sleeping, err := e.srv.rssKiB()
		if err != nil {
			return fail("read RSS: %v", err)
		}
		r.Figures = append(r.Figures, figure{"RSS sleeping MiB", float64(sleeping) / 1024, "lower"})
	}
	woke, err := e.dep.waitStat(n, time.Until(wakeAt)+e.sz.WaitTimeout, func(s stats) int { return s.SleepWoke })
	if err != nil {
		return fail("resume: %v", err)
	}
	st, err := e.dep.stats()
	if err != nil {
		return fail("stats: %v", err)
	}
	if st.SleepEarly != 0 {
		return fail("%d of %d sleepers woke before their timer was due", st.SleepEarly, n)
	}
	if st.SleepWokeRuns != n {
		return fail("%d wake-ups of %d sleepers, want exactly one each", st.SleepWokeRuns, n)
	}
	from := wakeAt
	if allIn.After(from) {
		from = allIn
	}
	resume := woke.Sub(from)
	r.Figures = append(r.Figures,
		figure{"all resumed s", resume.Seconds(), "lower"},
		figure{"resumes/s", float64(n) / resume.Seconds(), "higher"})
	r.Note = fmt.Sprintf("sent in %.1fs, all started %.1fs after the first send, timers due %.0fs after it",
		sent.Seconds(), allIn.Sub(sendStart).Seconds(), e.sz.SleepMargin.Seconds())
	if !inTime {
		r.Note += "; the last started after the timers were due, so RSS while sleeping is not measured and the resume time counts from that start"
	}
	return []result{r}
}

// recoveryScenario holds n invocations inside a Run body, kills the server
// with SIGKILL, restarts it, and measures until the deployment has seen all n
// enter the body again.
func recoveryScenario(ctx context.Context, e *env) []result {
	n := e.sz.Recovery
	r := e.result("recovery", fmt.Sprintf("%d in flight", n))
	fail := func(format string, args ...any) []result {
		r.Err = fmt.Sprintf(format, args...)
		_ = e.dep.post("release")
		return []result{r}
	}
	if err := e.dep.post("reset"); err != nil {
		return fail("%v", err)
	}
	sendStart := time.Now()
	if err := sendAll(ctx, e.srv.ingresses, n, e.sz.SendConcurrency, func(int) call {
		return call{"/Bench/block/send", ""}
	}); err != nil {
		return fail("send: %v", err)
	}
	allIn, err := e.dep.waitStat(n, e.sz.WaitTimeout, func(s stats) int { return s.BlockEntered })
	if err != nil {
		return fail("before the crash: %v", err)
	}
	rss, _ := e.srv.rssKiB()
	e.srv.kill()
	if err := e.dep.post("reset"); err != nil {
		return fail("%v", err)
	}
	t0 := time.Now()
	if err := e.srv.start(); err != nil {
		return fail("restart: %v", err)
	}
	ready := time.Since(t0)
	back, err := e.dep.waitStat(n, e.sz.WaitTimeout, func(s stats) int { return s.BlockEntered })
	if err != nil {
		return fail("after the restart: %v", err)
	}
	if err := e.dep.post("release"); err != nil {
		return fail("%v", err)
	}
	r.Figures = []figure{
		{"restart→ready s", ready.Seconds(), "lower"},
		{"restart→all running s", back.Sub(t0).Seconds(), "lower"},
		{"RSS in flight MiB", float64(rss) / 1024, "lower"},
	}
	r.Note = fmt.Sprintf("%d running %.1fs after the first send", n, allIn.Sub(sendStart).Seconds())
	return []result{r}
}
