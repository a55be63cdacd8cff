package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// versioned is one deployment (version) of the service Versioned: run journals a step saying
// which version ran it, publishes an awakeable and returns "<step's version> then <the version
// that finished>: <awakeable value>"; fragile journals a step, then fails while broken; slow
// always fails and retries after an hour.
func versioned(version string, broken *atomic.Bool, awakeables chan<- string) *sdk.Endpoint {
	svc := sdk.NewService("Versioned").
		Handler("run", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			step, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return version, nil }, sdk.WithName("step"))
			if err != nil {
				return "", err
			}
			a := sdk.Awakeable[string](ctx)
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { awakeables <- a.ID(); return "", nil }, sdk.WithName("publish")); err != nil {
				return "", err
			}
			v, err := a.Result()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s then %s: %s", step, version, v), nil
		})).
		Handler("fragile", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return version, nil }, sdk.WithName("before")); err != nil {
				return "", err
			}
			if broken.Load() {
				return "", fmt.Errorf("%s is broken", version)
			}
			return "fixed by " + version, nil
		}, sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(3), sdk.WithInitialRetryInterval(5*time.Millisecond), sdk.PauseOnMaxAttempts()))).
		Handler("slow", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", fmt.Errorf("%s fails slowly", version)
		}, sdk.WithInvocationRetryPolicy(sdk.WithInitialRetryInterval(time.Hour), sdk.WithMaxRetryInterval(2*time.Hour))))
	return sdk.NewEndpoint().Bind(svc)
}

// invocationView is the part of GET /invocations/{id} the tests read.
type invocationView struct {
	Status                       string  `json:"status"`
	RetryCount                   int     `json:"retry_count"`
	NextRetryAt                  *string `json:"next_retry_at"`
	LastFailure                  *string `json:"last_failure"`
	LastAttemptDeploymentID      *string `json:"last_attempt_deployment_id"`
	PinnedDeploymentID           *string `json:"pinned_deployment_id"`
	PinnedServiceProtocolVersion *int    `json:"pinned_service_protocol_version"`
	CompletionResult             *string `json:"completion_result"`
}

func getInvocation(t *testing.T, admin, id string) invocationView {
	t.Helper()
	r := lcDo(t, "GET", admin+"/invocations/"+id, "")
	if r.status != 200 {
		t.Fatalf("GET /invocations/%s: %d %s", id, r.status, r.body)
	}
	var v invocationView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("GET /invocations/%s: %v: %s", id, err, r.body)
	}
	return v
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// TestDeploymentPinning: an invocation stays on the deployment its first attempt journaled with
// when a new deployment of its service is registered (as restate-server: a journal is never
// replayed by other code unless an operator says so); an operator moves a suspended or paused
// one to another deployment with resume ?deployment=; GET /invocations/{id} shows the pin and
// the invoker's attempts (count, next retry time, last failure).
func TestDeploymentPinning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{InactivityTimeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, admin := s.IngressURL(), s.AdminURL()
	var brokenV1, brokenV2 atomic.Bool
	awakeV1, awakeV2 := make(chan string, 4), make(chan string, 4)
	awakeable := func(ch <-chan string) string {
		t.Helper()
		select {
		case id := <-ch:
			return id
		case <-ctx.Done():
			t.Fatal("no awakeable published")
			return ""
		}
	}
	suspended := func(id string) {
		t.Helper()
		lcWait(t, ctx, id+" suspended", func() string {
			if v := getInvocation(t, admin, id); v.Status != "suspended" {
				return v.Status
			}
			return ""
		})
	}

	if err := s.RegisterInProcess(ctx, "v1", versioned("v1", &brokenV1, awakeV1)); err != nil {
		t.Fatal(err)
	}
	v1 := deploymentOf(t, admin, "Versioned")
	first := lcSend(t, in, "/Versioned/run/send")
	a1 := awakeable(awakeV1)
	suspended(first)
	if v := getInvocation(t, admin, first); deref(v.PinnedDeploymentID) != v1 || deref(v.PinnedServiceProtocolVersion) < 5 {
		t.Fatalf("first: pinned to %q V%d, want %s", deref(v.PinnedDeploymentID), deref(v.PinnedServiceProtocolVersion), v1)
	}

	// v2 registered: the suspended invocation wakes on v1, new ones start on v2.
	if err := s.RegisterInProcess(ctx, "v2", versioned("v2", &brokenV2, awakeV2)); err != nil {
		t.Fatal(err)
	}
	v2 := deploymentOf(t, admin, "Versioned")
	if v2 == v1 {
		t.Fatalf("the second registration kept deployment %s", v1)
	}
	lcExpect(t, "resolve first", lcDo(t, "POST", in+"/restate/awakeables/"+a1+"/resolve", `"one"`), 202, "")
	lcExpect(t, "first finishes on its pinned deployment", lcDo(t, "GET", in+"/restate/invocation/"+first+"/attach", ""), 200, `"v1 then v1: one"`)

	second := lcSend(t, in, "/Versioned/run/send")
	a2 := awakeable(awakeV2)
	suspended(second)
	if v := getInvocation(t, admin, second); deref(v.PinnedDeploymentID) != v2 {
		t.Fatalf("second: pinned to %q, want the latest deployment %s", deref(v.PinnedDeploymentID), v2)
	}
	// An operator moves it back to v1: v1 replays v2's journal and finishes it.
	lcExpect(t, "resume on v1", lcDo(t, "PATCH", admin+"/invocations/"+second+"/resume?deployment="+v1, ""), 200, "")
	lcWait(t, ctx, "second repinned", func() string {
		if v := getInvocation(t, admin, second); deref(v.PinnedDeploymentID) != v1 {
			return deref(v.PinnedDeploymentID)
		}
		return ""
	})
	lcExpect(t, "resolve second", lcDo(t, "POST", in+"/restate/awakeables/"+a2+"/resolve", `"two"`), 202, "")
	lcExpect(t, "second finishes on v1", lcDo(t, "GET", in+"/restate/invocation/"+second+"/attach", ""), 200, `"v2 then v1: two"`)

	// Paused after its attempts on a broken v2, then resumed on v1, which works.
	brokenV2.Store(true)
	fragile := lcSend(t, in, "/Versioned/fragile/send")
	lcWait(t, ctx, "fragile paused", func() string {
		if v := getInvocation(t, admin, fragile); v.Status != "paused" {
			return v.Status
		}
		return ""
	})
	v := getInvocation(t, admin, fragile)
	if v.RetryCount != 3 || !strings.Contains(deref(v.LastFailure), "v2 is broken") || deref(v.PinnedDeploymentID) != v2 {
		t.Fatalf("fragile paused with %d attempts, last failure %q, pinned to %q; want 3, v2's error, %s", v.RetryCount, deref(v.LastFailure), deref(v.PinnedDeploymentID), v2)
	}
	lcExpect(t, "resume on the latest (v2, still broken)", lcDo(t, "PATCH", admin+"/invocations/"+fragile+"/resume?deployment=latest", ""), 200, "")
	lcWait(t, ctx, "fragile paused again", func() string {
		if v := getInvocation(t, admin, fragile); v.Status != "paused" {
			return v.Status
		}
		return ""
	})
	lcExpect(t, "resume on v1", lcDo(t, "PATCH", admin+"/invocations/"+fragile+"/resume?deployment="+v1, ""), 200, "")
	lcExpect(t, "fragile fixed by v1", lcDo(t, "GET", in+"/restate/invocation/"+fragile+"/attach", ""), 200, `"fixed by v1"`)
	if v := getInvocation(t, admin, fragile); deref(v.CompletionResult) != "success" || deref(v.PinnedDeploymentID) != v1 {
		t.Fatalf("fragile ended %q pinned to %q, want success on %s", deref(v.CompletionResult), deref(v.PinnedDeploymentID), v1)
	}

	// Backing off: the attempt count, the next retry time and the last failure.
	before := time.Now()
	slow := lcSend(t, in, "/Versioned/slow/send")
	lcWait(t, ctx, "slow backing off", func() string {
		if v := getInvocation(t, admin, slow); v.Status != "backing-off" {
			return v.Status
		}
		return ""
	})
	v = getInvocation(t, admin, slow)
	next, err := time.Parse(time.RFC3339Nano, deref(v.NextRetryAt))
	if err != nil || v.RetryCount != 1 || !strings.Contains(deref(v.LastFailure), "v2 fails slowly") || deref(v.LastAttemptDeploymentID) != v2 ||
		next.Before(before.Add(59*time.Minute)) {
		t.Fatalf("slow: %s after %d attempts, last failure %q on %q, next retry %v; want 1 attempt, v2's error, on %s, the next in an hour", v.Status, v.RetryCount, deref(v.LastFailure), deref(v.LastAttemptDeploymentID), next, v2)
	}
	// Nothing pinned (it never journaled anything): its deployment cannot be chosen; a running
	// (backing-off) one's neither.
	lcExpect(t, "resume the unpinned on v1", lcDo(t, "PATCH", admin+"/invocations/"+slow+"/resume?deployment="+v1, ""), 409, "deployment id cannot be changed")
	lcExpect(t, "resume an unknown deployment", lcDo(t, "PATCH", admin+"/invocations/"+slow+"/resume?deployment=dp_11111111111111111111111", ""), 400, "deployment was not found")
	lcExpect(t, "kill slow", lcDo(t, "PATCH", admin+"/invocations/"+slow+"/kill", ""), 200, "")
}

// deploymentOf is the id of the deployment serving service, from GET /services/{name}.
func deploymentOf(t *testing.T, admin, service string) string {
	t.Helper()
	r := lcDo(t, "GET", admin+"/services/"+service, "")
	var svc struct {
		DeploymentID string `json:"deployment_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &svc); err != nil || svc.DeploymentID == "" {
		t.Fatalf("GET /services/%s: %d %s: %v", service, r.status, r.body, err)
	}
	return svc.DeploymentID
}
