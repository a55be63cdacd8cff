package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// queryScenario measures introspection SQL (POST /query, as the CLI sends it) over many completed
// invocations: it sends sz.QueryInvocations one-way calls of Bench/noop, waits until every one
// is completed in sys_invocation, then times three queries, each run queryRuns times (median):
// a count by status (the whole table), the ten most recently modified (a sort of it) and one
// invocation by id (the docs' "status of an invocation"). The server's RSS is read before and
// after the queries.
func queryScenario(ctx context.Context, e *env) []result {
	r := e.result("query", fmt.Sprintf("%d invocations", e.sz.QueryInvocations))
	fail := func(format string, args ...any) []result {
		r.Err = fmt.Sprintf(format, args...)
		return []result{r}
	}
	const countNoop = `SELECT COUNT(*) AS n FROM sys_invocation WHERE target = 'Bench/noop' AND status = 'completed'`
	before, err := e.queryCount(ctx, countNoop)
	if err != nil {
		return fail("count before: %v", err)
	}
	n := e.sz.QueryInvocations
	start := time.Now()
	if err := sendAll(ctx, e.srv.ingresses, n, e.sz.SendConcurrency, func(int) call { return call{"/Bench/noop/send", "1"} }); err != nil {
		return fail("send: %v", err)
	}
	// Completed when counted: poll the count (itself a query over the table) until it is there.
	deadline := time.Now().Add(e.sz.WaitTimeout + time.Duration(n)*time.Millisecond)
	total := before
	for total < before+n {
		if time.Now().After(deadline) {
			return fail("%d of %d invocations completed after %v", total-before, n, time.Since(start).Round(time.Second))
		}
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return fail("%v", ctx.Err())
		}
		if total, err = e.queryCount(ctx, countNoop); err != nil {
			return fail("count: %v", err)
		}
	}
	filled := time.Since(start)
	rssBefore, err := e.srv.rssKiB()
	if err != nil {
		return fail("read RSS: %v", err)
	}
	var latest []map[string]any
	if err := postJSONWith(ctx, queryClient, e.srv.admin+"/query", queryBody(`SELECT id FROM sys_invocation WHERE status = 'completed' ORDER BY modified_at DESC LIMIT 10`), &struct {
		Rows *[]map[string]any `json:"rows"`
	}{&latest}); err != nil || len(latest) == 0 {
		return fail("latest: %d rows, %v", len(latest), err)
	}
	one, _ := latest[0]["id"].(string)
	r.Figures = []figure{{"invocations", float64(total), ""}, {"filled /s", float64(n) / filled.Seconds(), "higher"}}
	for _, q := range []struct{ name, sql string }{
		{"count by status s", `SELECT status, COUNT(*) AS n FROM sys_invocation GROUP BY status`},
		{"latest 10 s", `SELECT id, target, modified_at FROM sys_invocation WHERE status = 'completed' ORDER BY modified_at DESC LIMIT 10`},
		{"one by id s", `SELECT * FROM sys_invocation WHERE id = '` + one + `'`},
	} {
		var took []time.Duration
		for range queryRuns {
			t0 := time.Now()
			var rows []map[string]any
			if err := postJSONWith(ctx, queryClient, e.srv.admin+"/query", queryBody(q.sql), &struct {
				Rows *[]map[string]any `json:"rows"`
			}{&rows}); err != nil {
				return fail("%s: %v", q.sql, err)
			}
			if len(rows) == 0 {
				return fail("%s: no rows", q.sql)
			}
			took = append(took, time.Since(t0))
		}
		slices.Sort(took)
		r.Figures = append(r.Figures, figure{q.name, took[len(took)/2].Seconds(), "lower"})
	}
	rssAfter, err := e.srv.rssKiB()
	if err != nil {
		return fail("read RSS: %v", err)
	}
	r.Figures = append(r.Figures, figure{"RSS before MiB", float64(rssBefore) / 1024, "lower"}, figure{"RSS after MiB", float64(rssAfter) / 1024, "lower"})
	r.Note = fmt.Sprintf("%d completed Bench/noop invocations (%d before), sent in %v; medians of %d runs", total, before, filled.Round(time.Second), queryRuns)
	return []result{r}
}

// queryRuns is how often each query of the query scenario runs.
const queryRuns = 3

// queryClient runs the query scenario's queries: one over a million rows on a loaded machine
// takes longer than controlClient waits.
var queryClient = &http.Client{Timeout: 5 * time.Minute}

func queryBody(sql string) string {
	b, _ := json.Marshal(map[string]string{"query": sql})
	return string(b)
}

// queryCount runs a query answering one row with a count n.
func (e *env) queryCount(ctx context.Context, sql string) (int, error) {
	var rows []map[string]any
	if err := postJSONWith(ctx, queryClient, e.srv.admin+"/query", queryBody(sql), &struct {
		Rows *[]map[string]any `json:"rows"`
	}{&rows}); err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("%s: %d rows", sql, len(rows))
	}
	n, err := strconv.Atoi(fmt.Sprint(rows[0]["n"]))
	if err != nil {
		return 0, fmt.Errorf("%s: n = %v: %w", sql, rows[0]["n"], err)
	}
	return n, nil
}
