package sdktest_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// peeked is what Approval/{key}/peek answers.
type peeked struct {
	Value string `json:"value"`
	OK    bool   `json:"ok"`
}

// rejection asks Approval/{key}/reject to reject the promise with Code and Message.
type rejection struct {
	Code    uint16 `json:"code"`
	Message string `json:"message"`
}

// counter counts per key; handlers add from their goroutines.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// approval is a workflow whose run waits for the promise "approval", which its shared handlers
// resolve, reject or peek at. run counts its executions per key in runs.
func approval(runs *counter) *sdk.Workflow {
	promise := func(ctx sdk.WorkflowSharedContext) *sdk.DurablePromise[string] {
		return sdk.Promise[string](ctx, "approval")
	}
	return sdk.NewWorkflow("Approval").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, request string) (string, error) {
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
				runs.add(ctx.Key())
				return sdk.Void{}, nil
			}); err != nil {
				return "", err
			}
			if request == "impatient" {
				return sdk.OrTimeout(ctx, promise(ctx), time.Millisecond)
			}
			v, err := promise(ctx).Result()
			if err != nil {
				return "", err
			}
			return request + ": " + v, nil
		})).
		Handler("approve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, v string) (sdk.Void, error) {
			return sdk.Void{}, promise(ctx).Resolve(v)
		})).
		Handler("reject", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, r rejection) (sdk.Void, error) {
			return sdk.Void{}, promise(ctx).Reject(sdk.TerminalErrorf(r.Code, "%s", r.Message))
		})).
		Handler("peek", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (peeked, error) {
			v, ok, err := promise(ctx).Peek()
			return peeked{Value: v, OK: ok}, err
		}))
}

// watcher attaches to workflows and other invocations from a handler.
var watcher = sdk.NewService("Watcher").
	Handler("attachWorkflow", sdk.ServiceHandler(func(ctx sdk.Context, key string) (string, error) {
		return sdk.AttachWorkflow[string](ctx, "Approval", key).Result()
	})).
	Handler("attach", sdk.ServiceHandler(func(ctx sdk.Context, invocationID string) (string, error) {
		return sdk.Attach[string](ctx, invocationID).Result()
	})).
	Handler("output", sdk.ServiceHandler(func(ctx sdk.Context, invocationID string) (peeked, error) {
		v, ready, err := sdk.Output[string](ctx, invocationID)
		return peeked{Value: v, OK: ready}, err
	}))

// TestWorkflows: a workflow's run executes once per key and waits for its durable promise, which
// a shared handler resolves before or after the run waits, rejects with a code, or peeks at; a
// second completion fails with 409; a handler attaches to the run, by workflow key or by
// invocation id, and reads its output without waiting.
func TestWorkflows(t *testing.T) {
	runs := &counter{n: map[string]int{}}
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(approval(runs), watcher))
	wf := func(key, handler string) sdk.Target { return sdk.ToWorkflow("Approval", key, handler) }
	mustCall := func(t *testing.T, target sdk.Target, input any) {
		t.Helper()
		if _, err := sdktest.Call[sdk.Void](env, target, input); err != nil {
			t.Fatalf("%s/%s: %v", target.Key, target.Handler, err)
		}
	}

	t.Run("resolved while the run waits", func(t *testing.T) {
		id, err := sdktest.Send(env, wf("k1", "run"), "deploy")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := sdktest.Call[peeked](env, sdk.ToService("Watcher", "output"), id); err != nil || p.OK {
			t.Fatalf("output while the run waits: %+v, %v; want not ready", p, err)
		}
		if p, err := sdktest.Call[peeked](env, wf("k1", "peek"), nil); err != nil || p.OK {
			t.Fatalf("peek before the approval: %+v, %v; want not completed", p, err)
		}
		mustCall(t, wf("k1", "approve"), "yes")
		for _, h := range []struct {
			handler sdk.Target
			input   string
		}{{sdk.ToService("Watcher", "attachWorkflow"), "k1"}, {sdk.ToService("Watcher", "attach"), id}} {
			if got, err := sdktest.Call[string](env, h.handler, h.input); err != nil || got != "deploy: yes" {
				t.Errorf("%s: %q, %v; want \"deploy: yes\"", h.handler.Handler, got, err)
			}
		}
		if p, err := sdktest.Call[peeked](env, sdk.ToService("Watcher", "output"), id); err != nil || p != (peeked{"deploy: yes", true}) {
			t.Errorf("output after the run: %+v, %v", p, err)
		}
		if p, err := sdktest.Call[peeked](env, wf("k1", "peek"), nil); err != nil || p != (peeked{"yes", true}) {
			t.Errorf("peek after the approval: %+v, %v", p, err)
		}
		_, err = sdktest.Call[sdk.Void](env, wf("k1", "approve"), "no")
		if sdk.ErrorCode(err) != 409 {
			t.Errorf("second approval: %v, want 409", err)
		}
		// The run executes once per key: a second submission is the same invocation, and a
		// second call is refused.
		if again, err := sdktest.Send(env, wf("k1", "run"), "deploy again"); err != nil || again != id {
			t.Errorf("second submission: %q, %v; want the first invocation %s", again, err, id)
		}
		if got, err := sdktest.Call[string](env, wf("k1", "run"), "deploy again"); sdk.ErrorCode(err) != 409 {
			t.Errorf("second call of run: %q, %v; want 409", got, err)
		}
	})
	t.Run("resolved before the run starts", func(t *testing.T) {
		mustCall(t, wf("k2", "approve"), "early")
		if got, err := sdktest.Call[string](env, wf("k2", "run"), "deploy"); err != nil || got != "deploy: early" {
			t.Fatalf("run: %q, %v", got, err)
		}
	})
	t.Run("rejected with a code", func(t *testing.T) {
		mustCall(t, wf("k3", "reject"), rejection{Code: 403, Message: "not today"})
		_, err := sdktest.Call[string](env, wf("k3", "run"), "deploy")
		var term *sdk.Terminal
		if !errors.As(err, &term) || term.Code != 403 || !strings.Contains(err.Error(), "not today") {
			t.Fatalf("run: %v, want 403 not today", err)
		}
		if _, err := sdktest.Call[peeked](env, wf("k3", "peek"), nil); sdk.ErrorCode(err) != 403 {
			t.Fatalf("peek at the rejected promise: %v, want 403", err)
		}
	})
	t.Run("OrTimeout over a promise", func(t *testing.T) {
		if got, err := sdktest.Call[string](env, wf("k4", "run"), "impatient"); sdk.ErrorCode(err) != 408 {
			t.Fatalf("run: %q, %v; want the timeout", got, err)
		}
	})
	for _, key := range []string{"k1", "k2", "k3", "k4"} {
		if n := runs.get(key); n != 1 {
			t.Errorf("workflow %s ran %d times, want once", key, n)
		}
	}
}
