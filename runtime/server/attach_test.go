package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// textCodec writes strings as they are, announced as text/plain.
type textCodec struct{}

func (textCodec) ContentType() string { return "text/plain" }

func (textCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, errors.New("textCodec: not a string")
	}
	return []byte(s), nil
}

func (textCodec) Unmarshal(b []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return errors.New("textCodec: not a *string")
	}
	*p = string(b)
	return nil
}

// parked is a service whose wait handler ends with the value its first awakeable is resolved
// with: the test holds an invocation open for as long as it likes and chooses its result.
func parked() *sdk.Endpoint {
	svc := sdk.NewService("Parked").
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) {
			v, err := sdk.Awakeable[string](ctx).Result()
			return "got " + v, err
		})).
		Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) {
			return "", sdk.TerminalErrorf(418, "short and stout")
		})).
		Handler("text", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
			return "text " + in, nil
		}, sdk.WithCodec(textCodec{})))
	order := sdk.NewWorkflow("Order").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, item string) (string, error) {
			by, err := sdk.Promise[string](ctx, "approval").Result()
			return item + " approved by " + by, err
		})).
		Handler("approve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, by string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, "approval").Resolve(by)
		}))
	return sdk.NewEndpoint().Bind(svc, order)
}

// reply is one HTTP answer.
type reply struct {
	code int
	hdr  http.Header
	body string
}

// attachAsync starts GET path and returns where its answer will come.
func attachAsync(t *testing.T, base, path string) <-chan reply {
	t.Helper()
	out := make(chan reply, 1)
	go func() {
		resp, err := http.Get(base + path)
		if err != nil {
			out <- reply{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- reply{body: err.Error()}
			return
		}
		out <- reply{resp.StatusCode, resp.Header, string(b)}
	}()
	return out
}

// awaitWaiters returns once n callers wait for the invocation id in its partition, so that what
// the test does next happens while the attaches wait (rather than before they read the status).
func awaitWaiters(t *testing.T, s *server.Server, id string, n int) {
	t.Helper()
	inv, err := ids.ParseInvocationID(id)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Node().Router().For(inv.PartitionKey)
	for deadline := time.Now().Add(30 * time.Second); p.Waiting(inv) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for %s, want %d", p.Waiting(inv), id, n)
		}
	}
}

// sendID sends body to path (with an idempotency key unless empty) and returns the invocation id.
func sendID(t *testing.T, base, path, key, body string) string {
	t.Helper()
	code, _, out := idemPost(t, base, path, key, body)
	var a sendAnswer
	if err := json.Unmarshal([]byte(out), &a); code != 202 || err != nil || a.InvocationID == "" {
		t.Fatalf("send %s: %d %s %v", path, code, out, err)
	}
	return a.InvocationID
}

// resolveFirstAwakeable resolves the first awakeable of the invocation id with value (JSON).
func resolveFirstAwakeable(t *testing.T, base, id, value string) {
	t.Helper()
	inv, err := ids.ParseInvocationID(id)
	if err != nil {
		t.Fatal(err)
	}
	// Awakeable signal indexes start at 17, as the SDKs number them.
	path := "/restate/awakeables/" + promises.Encode(inv, 17) + "/resolve"
	if code, _, body := do(t, base, exchange{"POST", path, "application/json", value}); code != 202 {
		t.Fatalf("resolve %s: %d %s", path, code, body)
	}
}

func get(t *testing.T, base, path string) reply {
	t.Helper()
	code, hdr, body := do(t, base, exchange{"GET", path, "", ""})
	return reply{code, hdr, body}
}

// expectReply checks an answer's status, exact body and headers ("" = must be absent).
func expectReply(t *testing.T, what string, r reply, code int, body string, hdr map[string]string) {
	t.Helper()
	if r.code != code || r.body != body {
		t.Fatalf("%s: %d %s, want %d %s", what, r.code, r.body, code, body)
	}
	for k, v := range hdr {
		if got := r.hdr.Get(k); got != v {
			t.Fatalf("%s: header %s %q, want %q", what, k, got, v)
		}
	}
}

// TestAttachAndOutputThroughServer: through the real ingress, partitions and storage, attach
// waits for an invocation sent with /send and answers its result once it ends, output answers
// 470 before and the result after, by invocation id and by idempotency key; a failure is
// answered like the original call's; unknown and malformed ids get restate-server's answers.
func TestAttachAndOutputThroughServer(t *testing.T) {
	s := startWith(t, t.TempDir(), parked())
	base := s.IngressURL()
	const notReady = `{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`

	t.Run("by id", func(t *testing.T) {
		id := sendID(t, base, "/Parked/wait/send", "", `"x"`)
		expectReply(t, "output before", get(t, base, "/restate/invocation/"+id+"/output"), 470, notReady, map[string]string{"x-restate-id": ""})
		attached := attachAsync(t, base, "/restate/invocation/"+id+"/attach")
		awaitWaiters(t, s, id, 1)
		// The result is chosen only now: an attach that answers it has waited for the end.
		resolveFirstAwakeable(t, base, id, `"v1"`)
		expectReply(t, "attach", <-attached, 200, `"got v1"`, map[string]string{"x-restate-id": id, "content-type": "application/json"})
		after := get(t, base, "/restate/invocation/"+id+"/output")
		expectReply(t, "output after", after, 200, `"got v1"`, map[string]string{"x-restate-id": id, "content-type": "application/json"})
		if after.hdr.Get("idempotency-expires") == "" {
			t.Fatalf("output of an ended invocation: no idempotency-expires (restate-server sends it)")
		}
		expectReply(t, "attach after", get(t, base, "/restate/invocation/"+id+"/attach"), 200, `"got v1"`, map[string]string{"x-restate-id": id})
	})

	t.Run("by idempotency key", func(t *testing.T) {
		id := sendID(t, base, "/Parked/wait/send", "k1", `"x"`)
		expectReply(t, "output before", get(t, base, "/restate/invocation/Parked/wait/k1/output"), 470, notReady, nil)
		attached := attachAsync(t, base, "/restate/invocation/Parked/wait/k1/attach")
		byID := attachAsync(t, base, "/restate/invocation/"+id+"/attach")
		awaitWaiters(t, s, id, 2)
		resolveFirstAwakeable(t, base, id, `"v2"`)
		expectReply(t, "attach by key", <-attached, 200, `"got v2"`, map[string]string{"x-restate-id": id})
		expectReply(t, "attach by id", <-byID, 200, `"got v2"`, map[string]string{"x-restate-id": id})
		expectReply(t, "output after", get(t, base, "/restate/invocation/Parked/wait/k1/output"), 200, `"got v2"`, map[string]string{"x-restate-id": id})
		// Another key, or the same key with another handler, names no invocation.
		expectReply(t, "other key", get(t, base, "/restate/invocation/Parked/wait/k2/output"), 404, `{"code":404,"message":"invocation not found","source":"ingress"}`, nil)
		expectReply(t, "other handler", get(t, base, "/restate/invocation/Parked/fail/k1/attach"), 404, `{"code":404,"message":"not found","source":"invocation"}`, nil)
	})

	t.Run("output content type", func(t *testing.T) {
		code, _, out := do(t, base, exchange{"POST", "/Parked/text/send", "text/plain", "hi"})
		var a sendAnswer
		if err := json.Unmarshal([]byte(out), &a); code != 202 || err != nil {
			t.Fatalf("send: %d %s %v", code, out, err)
		}
		r := get(t, base, "/restate/invocation/"+a.InvocationID+"/attach")
		expectReply(t, "attach text", r, 200, "text hi", map[string]string{"x-restate-id": a.InvocationID, "content-type": "text/plain"})
	})

	t.Run("failed", func(t *testing.T) {
		id := sendID(t, base, "/Parked/fail/send", "f1", `"x"`)
		const teapot = `{"code":418,"message":"short and stout","source":"invocation"}`
		expectReply(t, "attach by key", get(t, base, "/restate/invocation/Parked/fail/f1/attach"), 418, teapot,
			map[string]string{"x-restate-id": id, "x-restate-error-source": "invocation"})
		expectReply(t, "output by id", get(t, base, "/restate/invocation/"+id+"/output"), 418, teapot, map[string]string{"x-restate-id": id})
	})

	t.Run("unknown and malformed", func(t *testing.T) {
		unknown := ids.NewInvocationID(7, [16]byte{1, 2, 3}).String()
		expectReply(t, "output unknown", get(t, base, "/restate/invocation/"+unknown+"/output"), 404,
			`{"code":404,"message":"invocation not found","source":"ingress"}`, map[string]string{"x-restate-id": ""})
		expectReply(t, "attach unknown", get(t, base, "/restate/invocation/"+unknown+"/attach"), 404,
			`{"code":404,"message":"not found","source":"invocation"}`, map[string]string{"x-restate-id": unknown})
		expectReply(t, "malformed", get(t, base, "/restate/invocation/garbage/attach"), 400,
			`{"code":400,"message":"bad invocation id 'garbage': bad format","source":"ingress"}`, nil)
		expectReply(t, "short", get(t, base, "/restate/invocation/inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUE/output"), 400,
			`{"code":400,"message":"bad invocation id 'inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUE': bad length","source":"ingress"}`, nil)
		expectReply(t, "unknown service", get(t, base, "/restate/invocation/Nope/wait/k1/output"), 404,
			`{"code":404,"message":"service 'Nope' not found, make sure to register the service before calling it.","source":"ingress"}`, nil)
		r := reply{}
		r.code, r.hdr, r.body = do(t, base, exchange{"POST", "/restate/invocation/" + unknown + "/attach", "", ""})
		expectReply(t, "post", r, 405, `{"code":405,"message":"method not allowed","source":"ingress"}`, nil)
	})
}

// TestWorkflowAttachThroughServer: /restate/workflow/{name}/{key}/attach|output reach the
// workflow's run: unknown before it is submitted, 470 while it waits for its promise, and its
// result once a shared handler completes the promise.
func TestWorkflowAttachThroughServer(t *testing.T) {
	s := startWith(t, t.TempDir(), parked())
	base := s.IngressURL()
	expectReply(t, "output before submission", get(t, base, "/restate/workflow/Order/w1/output"), 404,
		`{"code":404,"message":"invocation not found","source":"ingress"}`, nil)
	expectReply(t, "attach before submission", get(t, base, "/restate/workflow/Order/w1/attach"), 404,
		`{"code":404,"message":"not found","source":"invocation"}`, map[string]string{"x-restate-id": ids.Workflow("Order", "w1").String()})
	id := sendID(t, base, "/Order/w1/run/send", "", `"pizza"`)
	if id != ids.Workflow("Order", "w1").String() {
		t.Fatalf("run got id %s, want the workflow's %s", id, ids.Workflow("Order", "w1"))
	}
	expectReply(t, "output while waiting", get(t, base, "/restate/workflow/Order/w1/output"), 470,
		`{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`, nil)
	attached := attachAsync(t, base, "/restate/workflow/Order/w1/attach")
	awaitWaiters(t, s, id, 1)
	if code, _, body := idemPost(t, base, "/Order/w1/approve", "", `"alice"`); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	expectReply(t, "attach", <-attached, 200, `"pizza approved by alice"`, map[string]string{"x-restate-id": id, "content-type": "application/json"})
	expectReply(t, "output after", get(t, base, "/restate/workflow/Order/w1/output"), 200, `"pizza approved by alice"`, map[string]string{"x-restate-id": id})
	expectReply(t, "by id", get(t, base, "/restate/invocation/"+id+"/attach"), 200, `"pizza approved by alice"`, nil)
}
