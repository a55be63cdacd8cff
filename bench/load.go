package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// call is one ingress request: path (with leading slash) and JSON body.
type call struct {
	path string
	body string
}

// loadResult is what one closed-loop run measured inside its window.
type loadResult struct {
	calls     int             // measured calls that succeeded
	window    time.Duration   // from the end of the warm-up to the last measured answer
	latencies []time.Duration // of the calls counted
	errors    int64           // failed calls (any time, warm-up included)
	firstErr  string
}

func (r loadResult) throughput() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.calls) / r.window.Seconds()
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// newLoadClient is an HTTP/1.1 client with one kept-alive connection per
// worker.
func newLoadClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency * 2,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// closedLoop runs concurrency workers that each send next(worker, seq) to
// one of the ingresses (worker w to ingresses[w mod len]: a cluster's load is
// spread over its nodes), wait for the answer and send again. Calls started during the
// warm-up are not measured; calls started in the following duration are, and
// each worker makes at least one measured call, so a case whose calls are
// slower than its window still reports them. Throughput is measured calls
// over the time from the end of the warm-up to the last measured answer.
func closedLoop(ctx context.Context, ingresses []string, concurrency int, warmup, duration time.Duration, next func(worker, seq int) call) loadResult {
	client := newLoadClient(concurrency)
	defer client.CloseIdleConnections()
	start := time.Now()
	measureFrom, deadline := start.Add(warmup), start.Add(warmup+duration)
	var (
		mu       sync.Mutex
		res      loadResult
		lastEnd  = measureFrom
		errs     atomic.Int64
		firstErr atomic.Value
	)
	var wg sync.WaitGroup
	for w := range concurrency {
		ingress := ingresses[w%len(ingresses)]
		wg.Go(func() {
			var lats []time.Duration
			var end time.Time
			for seq := 0; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if !t0.Before(deadline) && (len(lats) > 0 || errs.Load() > 0) {
					break
				}
				err := invoke(ctx, client, ingress, next(w, seq))
				t1 := time.Now()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if !t0.Before(measureFrom) {
					lats = append(lats, t1.Sub(t0))
					end = t1
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lats...)
			if end.After(lastEnd) {
				lastEnd = end
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.window = lastEnd.Sub(measureFrom)
	res.calls = len(res.latencies)
	res.errors = errs.Load()
	if v := firstErr.Load(); v != nil {
		res.firstErr = v.(string)
	}
	slices.Sort(res.latencies)
	return res
}

// sendAll sends n one-way invocations (ingress /send) with concurrency
// workers, the i-th to ingresses[i mod len], and returns the first error. A send refused with 429
// (nothing accepted: the partition's queue is full) is sent again after its Retry-After, as a
// client would, up to maxRefusals times.
func sendAll(ctx context.Context, ingresses []string, n, concurrency int, next func(i int) call) error {
	client := newLoadClient(concurrency)
	defer client.CloseIdleConnections()
	var i atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				k := int(i.Add(1)) - 1
				if k >= n || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				if err := invokeRetryingRefusals(ctx, client, ingresses[k%len(ingresses)], next(k)); err != nil {
					firstErr.CompareAndSwap(nil, err)
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

// maxRefusals bounds how often sendAll sends one invocation again after a 429.
const maxRefusals = 30

// refusedError is a 429: the server accepted nothing and says when to try again.
type refusedError struct {
	path  string
	after time.Duration
	body  string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("POST %s: status 429 (retry after %v): %.200s", e.path, e.after, e.body)
}

// invokeRetryingRefusals is invoke, sent again after a 429's Retry-After (maxRefusals times).
func invokeRetryingRefusals(ctx context.Context, client *http.Client, ingress string, c call) error {
	for range maxRefusals {
		err := invoke(ctx, client, ingress, c)
		var refused *refusedError
		if !errors.As(err, &refused) {
			return err
		}
		select {
		case <-time.After(refused.after):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return invoke(ctx, client, ingress, c)
}

// invoke POSTs c to the ingress and accepts 200 (call) or 202 (send).
func invoke(ctx context.Context, client *http.Client, ingress string, c call) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingress+c.path, strings.NewReader(c.body))
	if err != nil {
		return err
	}
	if c.body != "" {
		req.Header.Set("content-type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: read: %w", c.path, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		after := time.Second
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			after = time.Duration(secs) * time.Second
		}
		return &refusedError{path: c.path, after: after, body: string(body)}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: status %d: %.200s", c.path, resp.StatusCode, body)
	}
	return nil
}
