package officialserver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// order is a workflow whose run waits for the durable promise "approval", completed by its
// shared handlers.
var order = sdk.NewWorkflow("Order").
	Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, item string) (string, error) {
		if err := sdk.Set(ctx, "status", "waiting"); err != nil {
			return "", err
		}
		by, err := sdk.Promise[string](ctx, "approval").Result()
		if err != nil {
			return "", err
		}
		return item + " approved by " + by, sdk.Set(ctx, "status", "approved")
	})).
	Handler("approve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, by string) (sdk.Void, error) {
		return sdk.Void{}, sdk.Promise[string](ctx, "approval").Resolve(by)
	})).
	Handler("reject", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, reason string) (sdk.Void, error) {
		return sdk.Void{}, sdk.Promise[string](ctx, "approval").Reject(sdk.TerminalErrorf(403, "%s", reason))
	})).
	Handler("peek", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (string, error) {
		by, ok, err := sdk.Promise[string](ctx, "approval").Peek()
		return fmt.Sprintf("%v %s", ok, by), err
	})).
	Handler("status", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (string, error) {
		return sdk.Get[string](ctx, "status")
	}))

// orderClient submits an Order workflow and waits for its run through AttachWorkflow.
var orderClient = sdk.NewService("OrderClient").
	Handler("submit", sdk.ServiceHandler(func(ctx sdk.Context, key string) (string, error) {
		sdk.Send(ctx, sdk.ToWorkflow("Order", key, "run"), "soup")
		return sdk.AttachWorkflow[string](ctx, "Order", key).Result()
	}))

// checkWorkflows runs our SDK's workflow, durable promise and shared handlers on the official
// server: a promise resolved while the run handler is suspended on it, one completed before the
// run starts, a rejection, peeks, and a second completion refused.
func checkWorkflows(t *testing.T, env officialEnv) {
	shortInactivity(t, env, "Order")
	expect := func(path, body string, status int, want string) {
		t.Helper()
		r, err := testenv.Invoke(env.ingress, path, body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Status != status || !strings.Contains(string(r.Body), want) {
			t.Fatalf("%s: %s, want %d containing %s", path, r, status, want)
		}
	}
	startRun := func(key, item string) <-chan testenv.Reply {
		done := make(chan testenv.Reply, 1)
		go func() {
			r, err := testenv.Invoke(env.ingress, "/Order/"+key+"/run", item)
			if err != nil {
				r.Body = []byte(err.Error())
			}
			done <- r
		}()
		testenv.WaitReady(t, "Order/"+key+"/run suspended", 30*time.Second, func() error {
			for _, attempts := range env.tap.Invocations("Order", "run", key) {
				for _, s := range attempts {
					if s.Has(testenv.FrameSuspension) {
						return nil
					}
				}
			}
			return fmt.Errorf("not suspended")
		})
		return done
	}
	expectRun := func(done <-chan testenv.Reply, status int, want string) {
		t.Helper()
		if r := <-done; r.Status != status || !strings.Contains(string(r.Body), want) {
			t.Fatalf("Order/run: %s, want %d containing %s", r, status, want)
		}
	}

	t.Run("resolved while the run waits", func(t *testing.T) {
		done := startRun("o1", `"pizza"`)
		expect("/Order/o1/peek", "", 200, `"false "`)
		expect("/Order/o1/status", "", 200, `"waiting"`)
		expect("/Order/o1/approve", `"alice"`, 200, "")
		expectRun(done, 200, `"pizza approved by alice"`)
		expect("/Order/o1/peek", "", 200, `"true alice"`)
		expect("/Order/o1/status", "", 200, `"approved"`)
		expect("/Order/o1/approve", `"bob"`, 409, "promise was already completed") // as the official server says
	})
	t.Run("completed before the run", func(t *testing.T) {
		expect("/Order/o2/approve", `"carol"`, 200, "")
		expect("/Order/o2/run", `"tea"`, 200, `"tea approved by carol"`)
	})
	t.Run("attached from another handler", func(t *testing.T) {
		done := make(chan testenv.Reply, 1)
		go func() {
			r, err := testenv.Invoke(env.ingress, "/OrderClient/submit", `"o4"`)
			if err != nil {
				r.Body = []byte(err.Error())
			}
			done <- r
		}()
		testenv.WaitReady(t, "Order/o4 waiting", 30*time.Second, func() error {
			r, err := testenv.Invoke(env.ingress, "/Order/o4/status", "")
			if err != nil || string(r.Body) != `"waiting"` {
				return fmt.Errorf("status %s %v", r, err)
			}
			return nil
		})
		expect("/Order/o4/approve", `"dave"`, 200, "")
		expectRun(done, 200, `"soup approved by dave"`)
	})
	t.Run("rejected", func(t *testing.T) {
		done := startRun("o3", `"cake"`)
		expect("/Order/o3/reject", `"out of stock"`, 200, "")
		expectRun(done, 403, "out of stock")
	})
}
