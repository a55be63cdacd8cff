package main

import (
	"context"
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

// overloadFactor is how far above the sustainable rate the overload scenario offers calls.
const overloadFactor = 4

// overloadScenario measures the sustainable rate of Counter/{key}/addAfterSteps (eight Run steps,
// then add: costly enough per call that the generator, sharing the machine's cores with the
// server, can offer four times what the server sustains; closed loop, fresh key
// per call), then offers overloadFactor times that rate open loop for the same duration, every
// call with its own key and idempotency key. It fails unless every answer is a success or a
// refusal (429 or 503 with Retry-After), and, read back through the ingress afterwards, every
// accepted key's counter is exactly 1 (applied once) and every refused key's is 0 (nothing
// half-accepted).
func overloadScenario(ctx context.Context, e *env) []result {
	c := e.sz.OverloadConcurrency
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	sustained := e.loadCase(ctx, "overload", c, fmt.Sprintf("sustainable, c=%d", c), func(w, s int) call {
		return call{fmt.Sprintf("/Counter/sus-%s-%d-%d/addAfterSteps", run, w, s), "1"}
	})
	rate, _ := sustained.figure("calls/s")
	r := e.result("overload", fmt.Sprintf("%d× sustainable, open loop", overloadFactor))
	if sustained.Err != "" || rate <= 0 {
		r.Err = "no sustainable rate: " + sustained.Err
		return []result{sustained, r}
	}
	offered := rate * overloadFactor
	n := max(1, int(offered*e.cfg.duration.Seconds()))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("ov-%s-%d", run, i)
	}
	ol := openLoop(ctx, e.srv.ingress, offered, e.sz.OverloadMaxInFlight, keys)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Figures = []figure{
		{"offered calls/s", ol.offeredRate(), ""},
		{"accepted calls/s", float64(ol.accepted) / ol.window.Seconds(), "higher"},
		{"refused %", 100 * float64(ol.refused) / float64(n), ""},
		{"accepted p50 ms", ms(percentile(ol.latencies, 50)), "lower"},
		{"accepted p99 ms", ms(percentile(ol.latencies, 99)), "lower"},
		{"refusal p99 ms", ms(percentile(ol.refusalLatencies, 99)), "lower"},
	}
	r.Note = fmt.Sprintf("%d calls offered at %.0f/s (sustainable %.0f/s): %d accepted, %d refused", n, ol.offeredRate(), rate, ol.accepted, ol.refused)
	if ol.other > 0 {
		r.Err = fmt.Sprintf("%d answers neither a success nor a refusal with Retry-After; first: %s", ol.other, ol.firstOther)
		return []result{sustained, r}
	}
	if err := verifyOverload(ctx, e.srv.ingress, keys, ol.outcome); err != nil {
		r.Err = err.Error()
	}
	return []result{sustained, r}
}

// Outcomes of one open-loop call.
const (
	outcomeOther    = iota // not answered, or answered otherwise
	outcomeAccepted        // 200
	outcomeRefused         // 429 or 503 with Retry-After
)

type openLoopResult struct {
	outcome                     []int // per key
	accepted, refused, other    int
	firstOther                  string
	window                      time.Duration // first send to last answer
	sendWindow                  time.Duration // first send to last send
	latencies, refusalLatencies []time.Duration
}

func (r openLoopResult) offeredRate() float64 {
	if r.sendWindow <= 0 {
		return 0
	}
	return float64(len(r.outcome)) / r.sendWindow.Seconds()
}

// openLoop sends one call per key at rate calls/s, whatever the answers take (at most
// maxInFlight at once: past that, sending waits and the offered rate drops, which the result
// shows).
func openLoop(ctx context.Context, ingress string, rate float64, maxInFlight int, keys []string) openLoopResult {
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: maxInFlight, MaxIdleConnsPerHost: maxInFlight, DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()
	res := openLoopResult{outcome: make([]int, len(keys))}
	lat := make([]time.Duration, len(keys))
	var (
		mu      sync.Mutex
		lastEnd time.Time
		wg      sync.WaitGroup
		slots   = make(chan struct{}, maxInFlight)
		other   atomic.Value
	)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i, key := range keys {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			t0 := time.Now()
			o, err := overloadCall(ctx, client, ingress, key)
			t1 := time.Now()
			res.outcome[i], lat[i] = o, t1.Sub(t0)
			if err != nil {
				other.CompareAndSwap(nil, err.Error())
			}
			mu.Lock()
			if t1.After(lastEnd) {
				lastEnd = t1
			}
			mu.Unlock()
		})
	}
	res.sendWindow = time.Since(start)
	wg.Wait()
	res.window = lastEnd.Sub(start)
	for i, o := range res.outcome {
		switch o {
		case outcomeAccepted:
			res.accepted++
			res.latencies = append(res.latencies, lat[i])
		case outcomeRefused:
			res.refused++
			res.refusalLatencies = append(res.refusalLatencies, lat[i])
		default:
			res.other++
		}
	}
	if v, ok := other.Load().(string); ok {
		res.firstOther = v
	}
	slices.Sort(res.latencies)
	slices.Sort(res.refusalLatencies)
	return res
}

// overloadCall adds 1 to key's counter with key as idempotency key.
func overloadCall(ctx context.Context, client *http.Client, ingress, key string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingress+"/Counter/"+key+"/addAfterSteps", strings.NewReader("1"))
	if err != nil {
		return outcomeOther, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("idempotency-key", key)
	resp, err := client.Do(req)
	if err != nil {
		return outcomeOther, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		if strings.TrimSpace(string(body)) != "1" {
			return outcomeOther, fmt.Errorf("%s: 200 with %q, want 1", key, body)
		}
		return outcomeAccepted, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
			return outcomeOther, fmt.Errorf("%s: %d without a Retry-After in seconds (%q): %.200s", key, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		return outcomeRefused, nil
	}
	return outcomeOther, fmt.Errorf("%s: status %d: %.200s", key, resp.StatusCode, body)
}

// verifyOverload reads every key's counter back (adding 0, no idempotency key): 1 for an
// accepted call, 0 for a refused one. A read refused in turn is retried after its Retry-After.
func verifyOverload(ctx context.Context, ingress string, keys []string, outcome []int) error {
	const workers = 16
	client := newLoadClient(workers)
	defer client.CloseIdleConnections()
	var (
		next  atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) || first.Load() != nil || ctx.Err() != nil {
					return
				}
				want := 0
				if outcome[i] == outcomeAccepted {
					want = 1
				}
				got, err := readCounter(ctx, client, ingress, keys[i])
				if err == nil && got != want {
					err = fmt.Errorf("counter %s is %d after the overload, want %d (the call was %s)", keys[i], got, want, map[int]string{outcomeAccepted: "accepted", outcomeRefused: "refused"}[outcome[i]])
				}
				if err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

func readCounter(ctx context.Context, client *http.Client, ingress, key string) (int, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingress+"/Counter/"+key+"/add", strings.NewReader("0"))
		if err != nil {
			return 0, err
		}
		req.Header.Set("content-type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 30 {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("read counter %s: status %d: %.200s", key, resp.StatusCode, body)
		}
		return strconv.Atoi(strings.TrimSpace(string(body)))
	}
}
