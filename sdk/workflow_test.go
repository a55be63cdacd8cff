package sdk_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/sdk"
)

// TestWorkflowDiscovery: a workflow is announced as WORKFLOW, its run handler as WORKFLOW and its
// shared handlers as SHARED (the official manifest schema's types).
func TestWorkflowDiscovery(t *testing.T) {
	wf := sdk.NewWorkflow("Signup").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, email string) (bool, error) {
			return sdk.Promise[bool](ctx, "confirmed").Result()
		})).
		Handler("confirm", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[bool](ctx, "confirmed").Resolve(true)
		}))
	base := serve(t, sdk.NewEndpoint().Bind(wf))
	req, _ := http.NewRequest(http.MethodGet, base+"/discover", nil)
	req.Header.Set("accept", protocol.ManifestV4)
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`{"name":"Signup","ty":"WORKFLOW"`, `{"name":"run","ty":"WORKFLOW"`, `{"name":"confirm","ty":"SHARED"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("manifest lacks %s:\n%s", want, b)
		}
	}
}
