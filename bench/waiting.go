package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// awakeableScenario measures resolutions of awakeables over HTTP: per case, n invocations of
// Awakeable/wait each create an awakeable and wait on it until all are suspended; then c workers
// each resolve one (POST /restate/awakeables/{id}/resolve) and wait for that invocation to
// complete before resolving the next.
func awakeableScenario(ctx context.Context, e *env) []result {
	var out []result
	for _, c := range e.sz.AwakeableConcurrency {
		out = append(out, e.awakeableCase(ctx, e.sz.Awakeables, c))
	}
	return out
}

// answer is what a call that waits for its invocation's result got, and when.
type answer struct {
	at   time.Time
	body []byte
	err  error
}

// awakeableCase runs one case. Each invocation is a call (POST /Awakeable/wait) that the harness
// holds open: its answer is the invocation's completion as the caller sees it, the one point
// both servers show without the attach API. The handler publishes its awakeable's id to the
// deployment process, which the harness reads through the control API: nothing but the
// awakeable itself is journaled, so the measured path is the resolution alone (resolve →
// log → resume → replay → result), not the way the id reached the harness.
//
// Latency is per resolution, from sending the resolve to the answer of its call; resolutions/s
// is n over the time from the first resolve to the last answer.
func (e *env) awakeableCase(ctx context.Context, n, c int) result {
	r := e.result("awakeable", fmt.Sprintf("%d suspended, c=%d", n, c))
	callCtx, cancel := context.WithCancel(ctx)
	var calls sync.WaitGroup
	defer calls.Wait()
	defer cancel() // runs first: ends the calls still waiting when the case fails
	fail := func(format string, args ...any) result {
		r.Err = fmt.Sprintf(format, args...)
		return r
	}
	if err := e.dep.post("reset"); err != nil {
		return fail("%v", err)
	}
	tag := func(i int) string { return fmt.Sprintf("c%d-%d", c, i) }
	value := func(t string) string { return strconv.Quote("value of " + t) }

	client := newWaitClient(n)
	defer client.CloseIdleConnections()
	answers := make([]chan answer, n)
	var early atomic.Value // error of a call answered before its awakeable was resolved
	var resolving atomic.Bool
	start := time.Now()
	for i := range n {
		answers[i] = make(chan answer, 1)
		calls.Go(func() {
			status, body, err := request(callCtx, client, http.MethodPost, e.srv.ingress+"/Awakeable/wait", strconv.Quote(tag(i)))
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("POST /Awakeable/wait %s: status %d: %.200s", tag(i), status, body)
			}
			a := answer{at: time.Now(), body: body, err: err}
			switch {
			case resolving.Load():
			case a.err == nil:
				early.CompareAndSwap(nil, fmt.Errorf("%s answered %s before its awakeable was resolved", tag(i), body))
			case callCtx.Err() == nil:
				early.CompareAndSwap(nil, a.err)
			}
			answers[i] <- a
		})
	}
	abort := func() error {
		if err, ok := early.Load().(error); ok {
			return err
		}
		return nil
	}
	// Suspended: the handler published its awakeable and its attempt's stream has ended
	// without the handler returning.
	suspended, err := e.dep.waitStatOr(n, e.sz.WaitTimeout, func(s stats) int {
		return min(s.AwakePublished, s.Ended["Awakeable/wait"])
	}, abort)
	if err != nil {
		return fail("waiting for %d suspended invocations: %v", n, err)
	}
	ids, err := e.dep.strings("awakeables")
	if err != nil {
		return fail("%v", err)
	}
	if err := abort(); err != nil {
		return fail("%v", err)
	}
	st, err := e.dep.stats()
	if err != nil {
		return fail("stats: %v", err)
	}
	if st.AwakeDoneRuns != 0 {
		return fail("%d handlers returned before any awakeable was resolved", st.AwakeDoneRuns)
	}
	for i := range n {
		if ids[tag(i)] == "" {
			return fail("no awakeable id published for %s", tag(i))
		}
	}

	resolving.Store(true)
	if err := abort(); err != nil {
		return fail("%v", err)
	}
	resolver := newLoadClient(c)
	defer resolver.CloseIdleConnections()
	lats := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var workers sync.WaitGroup
	resolveStart := time.Now()
	for range c {
		workers.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				t, want := tag(i), value(tag(i))
				t0 := time.Now()
				status, body, err := request(ctx, resolver, http.MethodPost, e.srv.ingress+"/restate/awakeables/"+ids[t]+"/resolve", want)
				if err == nil && status != http.StatusAccepted && status != http.StatusOK {
					err = fmt.Errorf("resolve %s: status %d: %.200s", t, status, body)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				var a answer
				select {
				case a = <-answers[i]:
				case <-time.After(e.sz.WaitTimeout):
					a.err = fmt.Errorf("no answer %v after resolving its awakeable", e.sz.WaitTimeout)
				}
				if a.err == nil && !jsonEqual(a.body, want) {
					a.err = fmt.Errorf("answered %s, want %s", a.body, want)
				}
				if a.err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s: %w", t, a.err))
					return
				}
				lats[i] = a.at.Sub(t0)
			}
		})
	}
	workers.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return fail("%v", err)
	}
	if err := ctx.Err(); err != nil {
		return fail("%v", err)
	}
	window := time.Since(resolveStart)
	if st, err = e.dep.stats(); err != nil {
		return fail("stats: %v", err)
	}
	if st.AwakeDone != n {
		return fail("%d handlers of %d returned (%d times in all); want every one", st.AwakeDone, n, st.AwakeDoneRuns)
	}
	slices.Sort(lats)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Figures = []figure{
		{"resolutions/s", float64(n) / window.Seconds(), "higher"},
		{"p50 ms", ms(percentile(lats, 50)), "lower"},
		{"p90 ms", ms(percentile(lats, 90)), "lower"},
		{"p99 ms", ms(percentile(lats, 99)), "lower"},
	}
	r.Note = fmt.Sprintf("%d suspended %.1fs after the first call", n, suspended.Sub(start).Seconds())
	r.Figures = append(r.Figures, reran(st.AwakeDoneRuns, n))
	return r
}

// reran is the figure of the handlers whose code after their wait ran again: an attempt whose
// end did not reach the log (its leader changed, or an overloaded proposal timed out) is retried,
// and the retry replays the journal and runs the code between journaled steps again, as durable
// execution allows (only journaled steps happen once). A figure to watch, not a failure: each
// handler's result is checked, once, as the server recorded it.
func reran(runs, n int) figure {
	return figure{"handlers run again", float64(runs - n), "lower"}
}

// waitingScenario holds n workflows (WaitingWorkflow/run, one key each) waiting on a durable
// promise, reads the server's RSS once all are suspended, then resolves every promise through
// the workflow's shared handler and checks that each run returned once, with its own value, as
// the deployment saw it and as the server's output for the workflow says.
func waitingScenario(ctx context.Context, e *env) []result {
	n := e.sz.WaitingWorkflows
	r := e.result("workflows-waiting", fmt.Sprintf("%d waiting", n))
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
	key := func(i int) string { return "wf-" + strconv.Itoa(i) }
	plain := func(k string) string { return "value of " + k }
	value := func(k string) string { return strconv.Quote(plain(k)) }
	start := time.Now()
	if err := sendAll(ctx, e.srv.ingresses, n, e.sz.SendConcurrency, func(i int) call {
		return call{"/WaitingWorkflow/" + key(i) + "/run/send", ""}
	}); err != nil {
		return fail("submit: %v", err)
	}
	suspended, err := e.dep.waitStat(n, e.sz.WaitTimeout, func(s stats) int {
		return min(s.WaitingEntered, s.Ended["WaitingWorkflow/run"])
	})
	if err != nil {
		return fail("waiting for %d suspended runs: %v", n, err)
	}
	waiting, err := e.srv.rssKiB()
	if err != nil {
		return fail("read RSS: %v", err)
	}
	// Figures as they are measured: a later check that fails still shows them in the log.
	r.Figures = []figure{
		{"RSS idle MiB", float64(idle) / 1024, "lower"},
		{"RSS waiting MiB", float64(waiting) / 1024, "lower"},
		{"KiB per waiting workflow", float64(waiting-idle) / float64(n), "lower"},
	}
	r.Note = fmt.Sprintf("%d suspended %.1fs after the first submission", n, suspended.Sub(start).Seconds())
	st, err := e.dep.stats()
	if err != nil {
		return fail("stats: %v", err)
	}
	if st.WaitingDoneRuns != 0 {
		return fail("%d runs returned before any promise was resolved", st.WaitingDoneRuns)
	}

	resolveStart := time.Now()
	if err := sendAll(ctx, e.srv.ingresses, n, e.sz.SendConcurrency, func(i int) call {
		return call{"/WaitingWorkflow/" + key(i) + "/resolve", value(key(i))}
	}); err != nil {
		return fail("resolve: %v", err)
	}
	done, err := e.dep.waitStat(n, e.sz.WaitTimeout, func(s stats) int { return s.WaitingDone })
	if err != nil {
		return fail("after resolving: %v", err)
	}
	all := done.Sub(resolveStart)
	r.Figures = append(r.Figures, figure{"all done s", all.Seconds(), "lower"}, figure{"completions/s", float64(n) / all.Seconds(), "higher"})
	if st, err = e.dep.stats(); err != nil {
		return fail("stats: %v", err)
	}
	r.Figures = append(r.Figures, reran(st.WaitingDoneRuns, n))
	if st.WaitingDone != n {
		return fail("%d runs of %d returned (%d times in all); want every one", st.WaitingDone, n, st.WaitingDoneRuns)
	}
	got, err := e.dep.strings("waiting")
	if err != nil {
		return fail("%v", err)
	}
	for i := range n {
		if k := key(i); got[k] != plain(k) {
			return fail("run %s returned %q, want %q", k, got[k], plain(k))
		}
	}
	if err := checkOutputs(ctx, e, n, key, value); err != nil {
		return fail("%v", err)
	}
	return []result{r}
}

// checkOutputs asks the server for every workflow's output (GET
// /restate/workflow/WaitingWorkflow/{key}/output, 470 while not ready) and checks it is the
// value its promise was resolved with.
func checkOutputs(ctx context.Context, e *env, n int, key func(int) string, value func(string) string) error {
	client := newLoadClient(e.sz.SendConcurrency)
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(e.sz.WaitTimeout)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range e.sz.SendConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				k := key(i)
				for {
					status, body, err := request(ctx, client, http.MethodGet, e.srv.ingress+"/restate/workflow/WaitingWorkflow/"+k+"/output", "")
					switch {
					case err != nil:
					case status == http.StatusOK && jsonEqual(body, value(k)):
					case status == http.StatusOK:
						err = fmt.Errorf("output of %s: %s, want %s", k, body, value(k))
					case status == 470 && time.Now().Before(deadline):
						time.Sleep(10 * time.Millisecond)
						continue
					default:
						err = fmt.Errorf("output of %s: status %d: %.200s", k, status, body)
					}
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
					break
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

// newWaitClient is an HTTP/1.1 client for n calls held open at once, each on its own
// connection, with no timeout of its own: the caller's context ends them.
func newWaitClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: n, MaxIdleConnsPerHost: n, DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
}

// request sends body (JSON, if not empty) with method to url and returns the status and body.
func request(ctx context.Context, client *http.Client, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read: %w", method, url, err)
	}
	return resp.StatusCode, b, nil
}

// jsonEqual reports whether got is the JSON value want, whatever its spacing.
func jsonEqual(got []byte, want string) bool {
	var a, b any
	dec := json.NewDecoder(bytes.NewReader(got))
	if err := dec.Decode(&a); err != nil {
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
