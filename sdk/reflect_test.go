package sdk_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// Counter is a Virtual Object defined by reflection.
type Counter struct{}

func (Counter) Add(ctx sdk.ObjectContext, n int) (int, error) {
	count, err := sdk.Get[int](ctx, "count")
	if err != nil {
		return 0, err
	}
	return count + n, sdk.Set(ctx, "count", count+n)
}

func (Counter) Get(ctx sdk.ObjectSharedContext) (int, error) { return sdk.Get[int](ctx, "count") }

func (Counter) Reset(ctx sdk.ObjectContext) error { return sdk.Set(ctx, "count", 0) }

func (Counter) Fail(ctx sdk.ObjectContext, why string) (sdk.Void, error) {
	return sdk.Void{}, sdk.TerminalError(errors.New(why), 422)
}

func (Counter) Helper(n int) int             { return n } // no context: not a handler
func (Counter) unexported(sdk.ObjectContext) {}           // not exported: not a handler

func (Counter) HandlerOptions() map[string][]sdk.HandlerOption {
	return map[string][]sdk.HandlerOption{"Get": {sdk.WithDocumentation("the count")}}
}

// Greeter is a Service named by its ServiceName method.
type Greeter struct{ greeting string }

func (Greeter) ServiceName() string { return "Greet" }

func (g *Greeter) Hello(ctx sdk.Context, name string) (string, error) {
	return g.greeting + " " + name, nil
}

// Signup is a Workflow: one run handler and a shared one.
type Signup struct{}

func (Signup) Run(ctx sdk.WorkflowContext, email string) (string, error) {
	if err := sdk.Set(ctx, "email", email); err != nil {
		return "", err
	}
	return sdk.Promise[string](ctx, "confirm").Result()
}

func (Signup) Confirm(ctx sdk.WorkflowSharedContext, code string) error {
	return sdk.Promise[string](ctx, "confirm").Resolve("confirmed " + code)
}

// TestReflectManifest: names, kinds, handler types and options come out as the builder's.
func TestReflectManifest(t *testing.T) {
	base := serve(t, sdk.NewEndpoint().Bind(sdk.Reflect(Counter{}, sdk.WithEnableLazyState(true)), sdk.Reflect(&Greeter{}), sdk.Reflect(Signup{})))
	req, _ := http.NewRequest(http.MethodGet, base+"/discover", nil)
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m struct {
		Services []struct {
			Name            string
			Ty              string
			EnableLazyState bool
			Handlers        []struct {
				Name, Ty, Documentation string
			}
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range m.Services {
		line := s.Name + ":" + s.Ty
		if s.EnableLazyState {
			line += "(lazy)"
		}
		for _, h := range s.Handlers {
			line += " " + h.Name + "/" + h.Ty
			if h.Documentation != "" {
				line += "(" + h.Documentation + ")"
			}
		}
		got = append(got, line)
	}
	want := []string{
		"Counter:VIRTUAL_OBJECT(lazy) Add/EXCLUSIVE Fail/EXCLUSIVE Get/SHARED(the count) Reset/EXCLUSIVE",
		"Greet:SERVICE Hello/",
		"Signup:WORKFLOW Confirm/SHARED Run/WORKFLOW",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("manifest:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReflectThroughServer runs the reflected definitions in the embedded server.
func TestReflectThroughServer(t *testing.T) {
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(sdk.Reflect(Counter{}), sdk.Reflect(&Greeter{greeting: "hi"}), sdk.Reflect(Signup{})))
	for _, n := range []int{2, 3} {
		if _, err := sdktest.Call[int](env, sdk.ToObject("Counter", "a", "Add"), n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := sdktest.Call[int](env, sdk.ToObject("Counter", "a", "Get"), nil); n != 5 || err != nil {
		t.Fatalf("Get: %d %v, want 5", n, err)
	}
	if _, err := sdktest.Call[sdk.Void](env, sdk.ToObject("Counter", "a", "Reset"), nil); err != nil {
		t.Fatal(err)
	}
	if n, err := sdktest.Call[int](env, sdk.ToObject("Counter", "a", "Get"), nil); n != 0 || err != nil {
		t.Fatalf("Get after Reset: %d %v", n, err)
	}
	if _, err := sdktest.Call[sdk.Void](env, sdk.ToObject("Counter", "a", "Fail"), "nope"); sdk.ErrorCode(err) != 422 || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Fail: %v, want 422 nope", err)
	}
	if s, err := sdktest.Call[string](env, sdk.ToService("Greet", "Hello"), "bob"); s != "hi bob" || err != nil {
		t.Fatalf("Hello: %q %v", s, err)
	}
	if _, err := sdktest.Send(env, sdk.ToWorkflow("Signup", "u1", "Run"), "a@b.c"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := sdktest.Call[sdk.Void](env, sdk.ToWorkflow("Signup", "u1", "Confirm"), "42")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Confirm: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := get(t, env.IngressURL()+"/restate/workflow/Signup/u1/attach"); r.body != `"confirmed 42"` {
		t.Fatalf("Run's result: %d %s", r.status, r.body)
	}
}

type mixed struct{}

func (mixed) A(sdk.Context) error       { return nil }
func (mixed) B(sdk.ObjectContext) error { return nil }

type twoRuns struct{}

func (twoRuns) A(sdk.WorkflowContext) error { return nil }
func (twoRuns) B(sdk.WorkflowContext) error { return nil }

type badReturn struct{}

func (badReturn) A(sdk.Context) (int, string) { return 0, "" }

type twoInputs struct{}

func (twoInputs) A(sdk.Context, int, int) error { return nil }

type noHandlers struct{}

func (noHandlers) A(int) {}

// TestReflectRefuses: definitions Reflect cannot make panic with the reason.
func TestReflectRefuses(t *testing.T) {
	for _, tc := range []struct {
		rcvr any
		want string
	}{
		{mixed{}, "its context makes a Virtual Object, the other methods a Service"},
		{twoRuns{}, "a workflow has one run handler"},
		{badReturn{}, "returns nothing, O, error or (O, error)"},
		{twoInputs{}, "at most one input"},
		{noHandlers{}, "no exported method takes a handler context"},
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(p.(string), tc.want) {
					t.Errorf("Reflect(%T): panic %v, want %q", tc.rcvr, p, tc.want)
				}
			}()
			sdk.Reflect(tc.rcvr)
		}()
	}
}
