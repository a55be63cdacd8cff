package sdk_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// officialManifest is what github.com/restatedev/sdk-go v1.2.0 answered (GET /discover, accept
// v4) for the definitions of optionsEndpoint written with its restate.With… options, minus the
// payload schemas and its empty "documentation" fields (we omit an unset documentation).
const officialManifest = `{"maxProtocolVersion":7,"minProtocolVersion":5,"protocolMode":"BIDI_STREAM","services":[
 {"name":"Opts","ty":"SERVICE","documentation":"service doc","metadata":{"team":"payments"},
  "abortTimeout":30000,"inactivityTimeout":90000,"idempotencyRetention":7200000,"journalRetention":3600000,
  "ingressPrivate":true,"retryPolicyInitialInterval":100,"retryPolicyMaxInterval":5000,"retryPolicyMaxAttempts":7,
  "retryPolicyExponentiationFactor":1.5,"retryPolicyOnMaxAttempts":"KILL",
  "handlers":[{"name":"h","documentation":"handler doc","metadata":{"k":"v"},"journalRetention":60000,
   "retryPolicyMaxAttempts":2,"retryPolicyOnMaxAttempts":"PAUSE"}]},
 {"name":"Lazy","ty":"VIRTUAL_OBJECT","enableLazyState":true,
  "handlers":[{"name":"get","ty":"SHARED","enableLazyState":false}]},
 {"name":"Wf","ty":"WORKFLOW","idempotencyRetention":60000,
  "handlers":[{"name":"run","ty":"WORKFLOW","workflowCompletionRetention":10800000}]}]}`

func optionsEndpoint() *sdk.Endpoint {
	echo := func(_ sdk.Context, in string) (string, error) { return in, nil }
	svc := sdk.NewService("Opts",
		sdk.WithDocumentation("service doc"),
		sdk.WithMetadata("team", "payments"),
		sdk.WithInactivityTimeout(90*time.Second),
		sdk.WithAbortTimeout(30*time.Second),
		sdk.WithJournalRetention(time.Hour),
		sdk.WithIdempotencyRetention(2*time.Hour),
		sdk.WithIngressPrivate(true),
		sdk.WithInvocationRetryPolicy(sdk.WithInitialRetryInterval(100*time.Millisecond), sdk.WithRetryIntervalFactor(1.5),
			sdk.WithMaxRetryInterval(5*time.Second), sdk.WithMaxRetryAttempts(7), sdk.KillOnMaxAttempts()),
	).Handler("h", sdk.ServiceHandler(echo,
		sdk.WithDocumentation("handler doc"), sdk.WithMetadata("k", "v"), sdk.WithJournalRetention(time.Minute),
		sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(2), sdk.PauseOnMaxAttempts())))
	obj := sdk.NewObject("Lazy", sdk.WithEnableLazyState(true)).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, in string) (string, error) { return in, nil }, sdk.WithEnableLazyState(false)))
	wf := sdk.NewWorkflow("Wf", sdk.WithIdempotencyRetention(time.Minute)).
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, in string) (string, error) { return in, nil }, sdk.WithWorkflowRetention(3*time.Hour)))
	return sdk.NewEndpoint().Bind(svc, obj, wf)
}

// withoutPayloads drops what officialManifest leaves out: input, output, empty documentation.
func withoutPayloads(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k == "input" || k == "output" || (k == "documentation" && e == "") {
				continue
			}
			out[k] = withoutPayloads(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutPayloads(e)
		}
		return out
	}
	return v
}

// servicesByName makes the comparison independent of the order services are listed in.
func servicesByName(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest %s: %v", raw, err)
	}
	m = withoutPayloads(m).(map[string]any)
	byName := map[string]any{}
	for _, s := range m["services"].([]any) {
		byName[s.(map[string]any)["name"].(string)] = s
	}
	m["services"] = byName
	return m
}

// TestOptionsManifestMatchesOfficialGoSDK: every service and handler option is emitted under the
// field name, unit and place the official Go SDK uses.
func TestOptionsManifestMatchesOfficialGoSDK(t *testing.T) {
	base := serve(t, optionsEndpoint())
	req, _ := http.NewRequest(http.MethodGet, base+"/discover", nil)
	req.Header.Set("accept", "application/vnd.restate.endpointmanifest.v4+json")
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if g, w := servicesByName(t, got), servicesByName(t, []byte(officialManifest)); !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("manifest differs from sdk-go's:\n got %s\nwant %s", gj, wj)
	}
}

// TestOptionsRefusedAtDefinition: combinations the runtime's discovery refuses panic when defined.
func TestOptionsRefusedAtDefinition(t *testing.T) {
	svcHandler := func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) { return sdk.Void{}, nil }
	run := func(ctx sdk.WorkflowContext, _ sdk.Void) (sdk.Void, error) { return sdk.Void{}, nil }
	for _, tc := range []struct {
		name   string
		define func()
		want   string
	}{
		{"workflow retention on a service handler", func() {
			sdk.NewService("S").Handler("h", sdk.ServiceHandler(svcHandler, sdk.WithWorkflowRetention(time.Hour)))
		}, "WithWorkflowRetention is only for a workflow's run handler"},
		{"idempotency retention on a run handler", func() {
			sdk.NewWorkflow("W").Handler("run", sdk.WorkflowHandler(run, sdk.WithIdempotencyRetention(time.Hour)))
		}, "takes WithWorkflowRetention, not WithIdempotencyRetention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(p.(string), tc.want) {
					t.Errorf("panic %v, want %q", p, tc.want)
				}
			}()
			tc.define()
		})
	}
}
