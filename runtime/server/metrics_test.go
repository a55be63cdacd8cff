package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// meter is the workload of TestMetrics: echo journals a Run step and returns; flaky fails its
// first attempt (retryably) and then returns; nap sleeps for an hour; hang says it entered and
// waits for release.
func meter(failed *atomic.Bool, entered chan<- struct{}, release <-chan struct{}) *sdk.Endpoint {
	svc := sdk.NewService("Meter").
		Handler("echo", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (string, error) { return in, nil })
		})).
		Handler("flaky", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			if failed.CompareAndSwap(false, true) {
				return "", errors.New("the first attempt fails")
			}
			return "ok", nil
		})).
		Handler("nap", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.Sleep(ctx, time.Hour)
		})).
		Handler("hang", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			entered <- struct{}{}
			<-release
			return sdk.Void{}, nil
		}))
	return sdk.NewEndpoint().Bind(svc)
}

// TestMetrics scrapes GET /metrics after a known workload (5 calls of echo, a flaky call whose
// first attempt fails, a sleep sent and pending, a request for an unknown service), parses it
// with Prometheus' text parser and checks each metric against the workload.
func TestMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const partitions = 4
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: partitions,
		Invoker: invoker.Config{InactivityTimeout: 200 * time.Millisecond, Retry: invoker.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var failed atomic.Bool
	entered, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	if err := s.RegisterInProcess(ctx, "meter", meter(&failed, entered, release)); err != nil {
		t.Fatal(err)
	}
	deployment := onlyDeployment(t, s.AdminURL())
	in := s.IngressURL()
	for i := range 5 {
		lcExpect(t, "echo", lcDo(t, "POST", in+"/Meter/echo", fmt.Sprintf(`"%d"`, i)), 200, fmt.Sprintf(`"%d"`, i))
	}
	lcExpect(t, "flaky", lcDo(t, "POST", in+"/Meter/flaky", ""), 200, `"ok"`)
	lcSend(t, in, "/Meter/nap/send")
	hang := lcSend(t, in, "/Meter/hang/send")
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("hang was not attempted")
	}
	lcExpect(t, "kill hang", lcDo(t, "PATCH", s.AdminURL()+"/invocations/"+hang+"/kill", ""), 200, "")
	lcExpect(t, "unknown service", lcDo(t, "POST", in+"/Nowhere/x", ""), 404, "")

	// Each echo journals Run, its result and Output; flaky its Output; nap its Sleep. Attempts:
	// 5 echo, 2 flaky, 1 nap (suspended once the inactivity timeout closes its stream), 1 hang
	// (aborted by the kill: an attempt, not a failure). The nap's attempt and status settle after its send was
	// answered, so the scrape is repeated until they are there.
	want := map[string]float64{
		`restate_ingress_request_duration_seconds_count{rpc_type="call",status_class="2xx"}`:  6,
		`restate_ingress_request_duration_seconds_count{rpc_type="send",status_class="2xx"}`:  2,
		`restate_ingress_request_duration_seconds_count{rpc_type="other",status_class="4xx"}`: 1,
		`resolute_journal_entries_appended_total`:                                             5*3 + 1 + 1,
		`resolute_invoker_attempts_total{deployment="` + deployment + `"}`:                    9,
		`resolute_invoker_attempt_failures_total{deployment="` + deployment + `"}`:            1,
		`resolute_invocations{status="completed"}`:                                            7,
		`resolute_invocations{status="suspended"}`:                                            1,
		`resolute_invocations{status="running"}`:                                              0,
		`resolute_timers_pending`:                                                             1,
		`restate_num_active_partition_leaders`:                                                partitions,
	}
	for p := range partitions {
		want[fmt.Sprintf(`resolute_partition_leader{partition="%d"}`, p)] = 1
		want[fmt.Sprintf(`resolute_partition_proposals_queued{partition="%d"}`, p)] = 0
	}
	var got map[string]float64
	var diff []string
	for {
		got = scrape(t, s.AdminURL()+"/metrics")
		if diff = compare(got, want); len(diff) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics after the workload differ:\n%s", strings.Join(diff, "\n"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Each of the 9 requests (5 echo, flaky, the two sends, the kill) was answered after its first
	// entry was applied, and the next request came after the answer: at least 9 distinct entries,
	// each observed once applied.
	if n, sum := got["resolute_raft_commit_latency_seconds_count"], got["resolute_raft_commit_latency_seconds_sum"]; n < 9 || sum <= 0 {
		t.Errorf("commit latency histogram: %v entries (sum %vs), want at least 9 with a positive sum", n, sum)
	}
}

func compare(got, want map[string]float64) []string {
	var diff []string
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			diff = append(diff, fmt.Sprintf("%s missing, want %v", k, w))
		} else if g != w {
			diff = append(diff, fmt.Sprintf("%s = %v, want %v", k, g, w))
		}
	}
	return diff
}

// scrape reads url with Prometheus' text parser into name{labels} → value (a histogram gives
// _count and _sum).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.Metric {
			key := name + labelString(m.Label)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+labelString(m.Label)] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"+labelString(m.Label)] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// onlyDeployment is the id of the one registered deployment.
func onlyDeployment(t *testing.T, admin string) string {
	t.Helper()
	r := lcDo(t, "GET", admin+"/deployments", "")
	var out struct {
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Deployments) != 1 {
		t.Fatalf("deployments: %d %s", r.status, r.body)
	}
	return out.Deployments[0].ID
}
