package officialserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// plainText writes strings as they are, announced as text/plain.
type plainText struct{}

func (plainText) ContentType() string { return "text/plain" }

func (plainText) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, errors.New("plainText: not a string")
	}
	return []byte(s), nil
}

func (plainText) Unmarshal(b []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return errors.New("plainText: not a *string")
	}
	*p = string(b)
	return nil
}

// attachServices: Att/wait ends with the value its first awakeable gets, Att/fail fails with 418,
// Att/void returns nothing, Att/text answers text/plain; AttObj/wait is wait on a Virtual
// Object; AttFlow is a workflow whose run waits for the promise its approve handler completes.
func attachServices() *sdk.Endpoint {
	wait := func(ctx sdk.Context) (string, error) {
		v, err := sdk.Awakeable[string](ctx).Result()
		return "got " + v, err
	}
	svc := sdk.NewService("Att").
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) { return wait(ctx) })).
		Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) {
			return "", sdk.TerminalErrorf(418, "short and stout")
		})).
		Handler("void", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) { return sdk.Void{}, nil })).
		Handler("text", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) { return "text " + in, nil }, sdk.WithCodec(plainText{})))
	obj := sdk.NewObject("AttObj").
		Handler("wait", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ string) (string, error) { return wait(ctx) }))
	flow := sdk.NewWorkflow("AttFlow").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, item string) (string, error) {
			by, err := sdk.Promise[string](ctx, "approval").Result()
			if err == nil && by == "nobody" {
				err = sdk.TerminalErrorf(403, "rejected")
			}
			return item + " approved by " + by, err
		})).
		Handler("approve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, by string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, "approval").Resolve(by)
		}))
	return sdk.NewEndpoint().Bind(svc, obj, flow)
}

// TestAttachOutputMatchesOfficial runs one script of attach and output requests (by id, by
// idempotency key, by workflow; running, ended, failed, unknown, malformed, bad paths and
// methods) against restate-server 1.7.12 and against our server, both serving the same SDK
// endpoint, and requires the same answers: status, body, content-type, x-restate-error-source,
// whether x-restate-id and idempotency-expires are present and which invocation the id names.
// Invocation ids differ between the servers (random, and the idempotent derivation is our own),
// so each is replaced by its order of appearance.
func TestAttachOutputMatchesOfficial(t *testing.T) {
	bin := testenv.OfficialServerPath(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go attachServices().Serve(ln)
	t.Cleanup(func() { ln.Close() })
	endpoint := "http://" + ln.Addr().String()

	official := startOfficialIngress(t, bin, endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := testenv.Register(s.AdminURL(), endpoint); err != nil {
		t.Fatal(err)
	}

	want := attachScript(t, official)
	got := attachScript(t, s.IngressURL())
	if len(got) != len(want) {
		t.Fatalf("%d answers from ours, %d from restate-server", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ours:\n%s\nrestate-server:\n%s", got[i], want[i])
		}
	}
	t.Logf("%d answers alike", len(want))
}

// startOfficialIngress starts restate-server, registers the endpoint and returns the ingress URL
// once its services are routable.
func startOfficialIngress(t *testing.T, bin, endpoint string) string {
	t.Helper()
	ingress, admin := testenv.StartOfficialServer(t, bin, nil)
	if _, err := testenv.Register(admin, endpoint); err != nil {
		t.Fatal(err)
	}
	testenv.WaitReady(t, "services routable", 30*time.Second, func() error {
		r, err := testenv.Invoke(ingress, "/Att/void", "")
		if err != nil || r.Status != 200 {
			return fmt.Errorf("probe: %v %v", r, err)
		}
		return nil
	})
	return ingress
}

// scriptRun performs requests against one ingress and keeps their normalized answers.
type scriptRun struct {
	t       *testing.T
	base    string
	ids     map[string]string // invocation id -> ID<n>, by first appearance
	answers []string
}

var invocationIDPattern = regexp.MustCompile(`inv_1[0-9A-Za-z]{33}`)

// request sends method path (body JSON when not empty, extra headers as name, value pairs) and
// returns the answer with ids replaced.
func (r *scriptRun) request(method, path, body string, hdr ...string) string {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	var h []string
	for _, k := range []string{"content-type", "x-restate-error-source", "x-restate-id"} {
		if v := resp.Header.Get(k); v != "" {
			h = append(h, k+": "+v)
		}
	}
	if resp.Header.Get("idempotency-expires") != "" {
		h = append(h, "idempotency-expires: (set)")
	}
	return r.normalize(fmt.Sprintf("%s %s\n  %d %s\n  %s", method, path, resp.StatusCode, strings.Join(h, ", "), b))
}

func (r *scriptRun) normalize(s string) string {
	return invocationIDPattern.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := r.ids[id]; !ok {
			r.ids[id] = fmt.Sprintf("ID%d", len(r.ids)+1)
		}
		return r.ids[id]
	})
}

// do records the answer.
func (r *scriptRun) do(method, path, body string, hdr ...string) {
	r.t.Helper()
	r.answers = append(r.answers, r.request(method, path, body, hdr...))
}

// send sends and returns the invocation id (raw), recording the answer.
func (r *scriptRun) send(path, body string, hdr ...string) string {
	r.t.Helper()
	a := r.request("POST", path, body, hdr...)
	r.answers = append(r.answers, a)
	for raw, name := range r.ids {
		if strings.Contains(a, `"invocationId":"`+name+`"`) {
			return raw
		}
	}
	r.t.Fatalf("no invocation id in %s", a)
	return ""
}

// until repeats GET path (an output) until its status is not 470 and records that answer. (An
// attach would wait, and whether it answers with idempotency-expires would depend on whether the
// invocation had ended when it arrived.)
func (r *scriptRun) until(path string) {
	r.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a := r.request("GET", path, "")
		if !strings.Contains(a, "\n  470 ") || time.Now().After(deadline) {
			r.answers = append(r.answers, a)
			return
		}
	}
}

// background sends GET path on its own goroutine; the answer is recorded by wait, without
// idempotency-expires: whether the attach waited for the end or came after it (the only case
// with the header) is a race neither server decides.
func (r *scriptRun) background(path string) (wait func()) {
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", r.base+path, nil)
		resp, err := testenv.HTTPClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- fmt.Sprintf("GET %s\n  %d content-type: %s, x-restate-id: %s\n  %s", path, resp.StatusCode, resp.Header.Get("content-type"), resp.Header.Get("x-restate-id"), b)
	}()
	return func() { r.answers = append(r.answers, r.normalize(<-done)) }
}

// resolve resolves the first awakeable of the invocation id with the JSON value v.
func (r *scriptRun) resolve(id, v string) {
	r.t.Helper()
	inv, err := ids.ParseInvocationID(id)
	if err != nil {
		r.t.Fatal(err)
	}
	awakeable := promises.Encode(inv, 17)
	a := r.request("POST", "/restate/awakeables/"+awakeable+"/resolve", v)
	r.answers = append(r.answers, strings.Replace(a, awakeable, "{awakeable of "+r.normalize(id)+"}", 1))
}

// attachScript is the script both servers run; it returns the answers in order.
func attachScript(t *testing.T, base string) []string {
	r := &scriptRun{t: t, base: base, ids: map[string]string{}}
	unknown := ids.NewInvocationID(ids.HashPartitionKey("nobody"), [16]byte{1, 2, 3}).String()

	// By id: running, then ended.
	id := r.send("/Att/wait/send", `"x"`)
	inv := "/restate/invocation/" + id
	r.do("GET", inv+"/output", "")
	r.do("GET", inv+"/output/", "")
	r.do("POST", inv+"/output", "")
	r.do("PUT", inv+"/attach", "")
	attached := r.background(inv + "/attach")
	// Lets the attach arrive before the end, most of the time; nothing is timed: the answer
	// compared is the same when it comes after.
	time.Sleep(100 * time.Millisecond)
	r.resolve(id, `"hi"`)
	attached()
	r.do("GET", inv+"/output", "")
	r.do("GET", inv+"/attach", "")
	r.do("GET", inv+"/attach/", "")

	// Unknown and malformed ids, bad paths.
	r.do("GET", "/restate/invocation/"+unknown+"/output", "")
	r.do("GET", "/restate/invocation/"+unknown+"/attach", "")
	for _, bad := range []string{"garbage", "inv_", "inv_1", "inv_2abc", "dp_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEz", "inc_1cIqL3zLDN0c5HnuF7X0EtQ2oQFXRuT9Nl",
		"inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUE", "inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BUEzz", "inv_1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "inv_1eKu7kwEBU306dAnFdwZhwAMHdshX8BU%21z", ""} {
		r.do("GET", "/restate/invocation/"+bad+"/attach", "")
	}
	r.do("PUT", "/restate/invocation/garbage/attach", "")
	for _, p := range []string{"/restate/invocation", "/restate/invocation/", "/restate/invocation/x", "/restate/invocation/x/foo", inv + "/output/extra"} {
		r.do("GET", p, "")
	}

	// By idempotency key: failed, void, text, an object, unknown parts.
	r.send("/Att/fail/send", `"x"`, "idempotency-key", "f1")
	r.until("/restate/invocation/Att/fail/f1/output")
	r.do("GET", "/restate/invocation/Att/fail/f1/attach", "")
	r.send("/Att/void/send", "", "idempotency-key", "v1")
	r.until("/restate/invocation/Att/void/v1/output")
	r.do("GET", "/restate/invocation/Att/void/v1/attach/extra", "")
	r.do("GET", "/restate/invocation/Att/void/v%31/output", "")
	r.send("/Att/text/send?x=1", "hi", "idempotency-key", "t1", "content-type", "text/plain")
	r.until("/restate/invocation/Att/text/t1/output")
	objID := r.send("/AttObj/o%2F1/wait/send", `"x"`, "idempotency-key", "o1")
	r.do("GET", "/restate/invocation/AttObj/o%2F1/wait/o1/output", "")
	r.resolve(objID, `"obj"`)
	r.until("/restate/invocation/AttObj/o%2F1/wait/o1/output")
	r.do("GET", "/restate/invocation/AttObj/o%2f1/wait/o1/attach", "")
	for _, p := range []string{"/Att/nope/f1/output", "/Att/nope/f1/attach", "/Nope/wait/f1/output", "/Att/wait/f1", "/Att/wait/f1/foo",
		"/AttObj/wait/o1/output", "/AttObj/o/1/wait/o1/output", "/Att/fail/f2/output", "/Att/fail/f2/attach"} {
		r.do("GET", "/restate/invocation"+p, "")
	}
	r.do("POST", "/restate/invocation/Att/fail/f1/output", "")

	// Workflows: before submission, while the run waits, after; a failed run.
	for _, p := range []string{"/AttFlow/w1/output", "/AttFlow/w1/attach", "/Nope/w1/output", "/Att/w1/attach", "/AttFlow/w1", "/AttFlow", "/AttFlow/w1/foo"} {
		r.do("GET", "/restate/workflow"+p, "")
	}
	r.do("POST", "/restate/workflow/AttFlow/w1/attach", "")
	r.send("/AttFlow/w1/run/send", `"pizza"`)
	r.do("GET", "/restate/workflow/AttFlow/w1/output", "")
	attached = r.background("/restate/workflow/AttFlow/w1/attach")
	time.Sleep(100 * time.Millisecond)
	r.do("POST", "/AttFlow/w1/approve", `"alice"`)
	attached()
	r.do("GET", "/restate/workflow/AttFlow/w1/output", "")
	r.do("GET", "/restate/workflow/AttFlow/w%31/attach/", "")
	r.send("/AttFlow/w2/run/send", `"tea"`)
	r.do("POST", "/AttFlow/w2/approve", `"nobody"`)
	r.until("/restate/workflow/AttFlow/w2/output")
	r.do("GET", "/restate/workflow/AttFlow/w2/attach", "")
	return slices.Clip(r.answers)
}
