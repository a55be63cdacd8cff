//go:build linux

package ingressapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// Server kinds.
const (
	ours     = "resolute"
	official = "restate"
)

const (
	// readyTimeout covers a new deployment becoming routable on a loaded machine.
	readyTimeout = 90 * time.Second
	// requestTimeout bounds one request (milliseconds when all is well; attach waits for a
	// handler that returns at once).
	requestTimeout = time.Minute
)

// TestIngressAPI sends the same requests, in order, to a fresh `resolute server` and a fresh
// restate-server 1.7.12, each with its own deployment of the services below, and compares what
// they answer: status, content type, error source, x-restate-id, whether idempotency-expires is
// sent, and body; invocation ids are replaced by the name of the request that made them (ours
// and restate-server's ids differ) and a send's executionTime by the delay it is after the
// request (checked against the request's own clock). Rows that name a known difference
// (differs) leave executionTime and idempotency-expires out. INGRESSAPI_DUMP=1 logs every
// pair of answers.
func TestIngressAPI(t *testing.T) {
	officialBin := testenv.OfficialServerPath(t)
	ourBin := testenv.ResoluteBinary(t)
	var mu sync.Mutex
	got := map[string][]answer{}
	t.Run("servers", func(t *testing.T) {
		for _, kind := range []string{ours, official} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				ingress := startServer(t, kind, ourBin, officialBin)
				answers := runRequests(t, ingress)
				mu.Lock()
				got[kind] = answers
				mu.Unlock()
			})
		}
	})
	if len(got[ours]) != len(got[official]) {
		return // a server did not start
	}
	dump := os.Getenv("INGRESSAPI_DUMP") != ""
	for i, rq := range requests() {
		o, r := got[ours][i], got[official][i]
		if rq.differs != "" {
			t.Logf("%s: not compared: %s", rq.name, rq.differs)
			o.Body = executionTimeNote.ReplaceAllString(o.Body, `"executionTime":"…"`)
			r.Body = executionTimeNote.ReplaceAllString(r.Body, `"executionTime":"…"`)
			o.Expires, r.Expires = false, false
		}
		if dump {
			t.Logf("%s %s %s\n  restate:  %s\n  resolute: %s", rq.name, rq.method, rq.path, r, o)
		}
		if rq.wantStatus != 0 && r.Status != rq.wantStatus {
			t.Errorf("%s: restate-server answered %s, the test wants status %d", rq.name, r, rq.wantStatus)
		}
		if o != r {
			t.Errorf("%s: %s %s\n  restate-server: %s\n  resolute:       %s", rq.name, rq.method, rq.path, r, o)
		}
	}
}

// startServer starts a server of kind with a deployment of services, and returns its ingress
// URL once the deployment is routable.
func startServer(t *testing.T, kind, ourBin, officialBin string) string {
	var ingress, admin string
	switch kind {
	case ours:
		srv := testenv.StartServer(t, testenv.ServerConfig{Bin: ourBin})
		ingress, admin = srv.Ingress, srv.Admin
	case official:
		ingress, admin = testenv.StartOfficialServer(t, officialBin, nil)
	}
	dep := testenv.ServeH2C(t, services().Handler())
	if _, err := testenv.Register(admin, dep); err != nil {
		t.Fatal(err)
	}
	testenv.WaitReady(t, "services routable", readyTimeout, func() error {
		r, err := testenv.Invoke(ingress, "/Greeter/greet", `"probe"`)
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("probe call: %v", r)
		}
		return nil
	})
	return ingress
}

// services is the deployment: Greeter (a Service), Counter (a Virtual Object) and Signup (a
// Workflow).
func services() *sdk.Endpoint {
	greeter := sdk.NewService("Greeter").
		Handler("greet", sdk.ServiceHandler(func(ctx sdk.Context, name string) (string, error) {
			return "hello " + name, nil
		})).
		Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, msg string) (sdk.Void, error) {
			return sdk.Void{}, sdk.TerminalError(errors.New(msg), 418)
		}))
	counter := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		}))
	signup := sdk.NewWorkflow("Signup").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, email string) (string, error) {
			return email + " signed up", nil
		}))
	return sdk.NewEndpoint().Bind(greeter, counter, signup)
}

// request is one request of the table. Its path, headers and body may name invocation ids
// saved by earlier requests as {name}.
type request struct {
	name   string
	method string
	path   string
	header map[string]string
	body   string // sent as application/json when not empty
	// save names the invocation id answered (x-restate-id, else the body's invocationId) for
	// later requests and for the comparison.
	save string
	// delay is what a send's executionTime must be after the request (0: no executionTime).
	delay time.Duration
	// wantStatus, if not 0, is the status restate-server must answer (a check of the table).
	wantStatus int
	// differs names a known difference: the answers' executionTime and idempotency-expires are
	// not compared.
	differs string
}

// answer is what the comparison looks at.
type answer struct {
	Status      int
	ContentType string
	ErrorSource string
	// ID is the x-restate-id header, as the body's ids are written ({name} or inv_?);
	// Expires says whether there is an idempotency-expires header.
	ID      string
	Expires bool
	Body    string
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s source=%q id=%q expires=%v %s", a.Status, a.ContentType, a.ErrorSource, a.ID, a.Expires, a.Body)
}

// runRequests sends every request in order to ingress and returns the normalized answers.
func runRequests(t *testing.T, ingress string) []answer {
	saved := map[string]string{} // name -> invocation id
	var out []answer
	for _, rq := range requests() {
		a, err := rq.do(t.Context(), ingress, saved)
		if err != nil {
			t.Errorf("%s: %v", rq.name, err)
			a.Body += " (error: " + err.Error() + ")"
		}
		out = append(out, a)
	}
	return out
}

var (
	invocationIDPattern  = regexp.MustCompile(`inv_[0-9A-Za-z]+`)
	executionTimePattern = regexp.MustCompile(`"executionTime":"([^"]*)"`)
	placeholderPattern   = regexp.MustCompile(`\{[a-z0-9-]+\}`)
	executionTimeNote    = regexp.MustCompile(`"executionTime":"<[^"]*>"`)
)

// expand replaces {name} with the saved id of that name.
func expand(s string, saved map[string]string) (string, error) {
	var missing error
	s = placeholderPattern.ReplaceAllStringFunc(s, func(p string) string {
		id, ok := saved[strings.Trim(p, "{}")]
		if !ok {
			missing = fmt.Errorf("no saved id %s", p)
		}
		return id
	})
	return s, missing
}

func (rq request) do(ctx context.Context, ingress string, saved map[string]string) (answer, error) {
	path, err := expand(rq.path, saved)
	if err != nil {
		return answer{}, err
	}
	body, err := expand(rq.body, saved)
	if err != nil {
		return answer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rq.method, ingress+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	before := time.Now()
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("read body: %w", err)
	}
	after := time.Now()
	if rq.save != "" {
		id := resp.Header.Get("x-restate-id")
		if id == "" {
			var v struct {
				InvocationID string `json:"invocationId"`
			}
			_ = json.Unmarshal(data, &v)
			id = v.InvocationID
		}
		if id != "" {
			saved[rq.save] = id
		} else {
			err = fmt.Errorf("no invocation id to save in %d %s", resp.StatusCode, data)
		}
	}
	text := string(data)
	if m := executionTimePattern.FindStringSubmatch(text); m != nil {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return answer{}, fmt.Errorf("executionTime: %w", err)
		}
		// restate-server writes it to the nanosecond, ours to the millisecond.
		lo, hi := before.Add(rq.delay).Truncate(time.Millisecond), after.Add(rq.delay)
		later := "<" + rq.delay.String() + " later>"
		if name, ok := saved["executionTime "+m[1]]; ok {
			later = "<as {" + name + "}>" // a repeated send answers the first one's
		} else if at.Before(lo) || at.After(hi) {
			later = fmt.Sprintf("<%v later, not %v>", at.Sub(before).Round(time.Millisecond), rq.delay)
		}
		if rq.save != "" {
			saved["executionTime "+m[1]] = rq.save
		}
		text = strings.Replace(text, m[0], `"executionTime":"`+later+`"`, 1)
	}
	return answer{
		Status:      resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
		ErrorSource: resp.Header.Get("x-restate-error-source"),
		ID:          normalizeIDs(resp.Header.Get("x-restate-id"), saved),
		Expires:     resp.Header.Get("idempotency-expires") != "",
		Body:        normalizeIDs(text, saved),
	}, err
}

// normalizeIDs replaces saved ids with {name} and any other invocation id with inv_?, and
// drops the backtrace restate-server appends to some messages.
func normalizeIDs(s string, saved map[string]string) string {
	if i := strings.Index(s, `\n\nStack backtrace:`); i >= 0 {
		if j := strings.Index(s[i:], `","source"`); j >= 0 {
			s = s[:i] + s[i+j:]
		}
	}
	names := make([]string, 0, len(saved))
	for n := range saved {
		if !strings.HasPrefix(n, "executionTime ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s = strings.ReplaceAll(s, saved[n], "{"+n+"}")
	}
	return invocationIDPattern.ReplaceAllString(s, "inv_?")
}

// firstCallExpires is a known difference: restate-server sends idempotency-expires with the
// answer to an idempotent call only when the invocation had ended before (a repeated call), ours
// with every idempotent call (the partition's answer does not say whether it had).
const firstCallExpires = "idempotency-expires on the first idempotent call: ours sends it, restate-server only to a repeated call"

// unknownID is a well-formed invocation id that no invocation has.
const unknownID = "inv_1aaaaaaaaaaa0000000000000000000000"

func requests() []request {
	post := func(name, path, body string, want int) request {
		return request{name: name, method: http.MethodPost, path: path, body: body, wantStatus: want}
	}
	get := func(name, path string, want int) request {
		return request{name: name, method: http.MethodGet, path: path, wantStatus: want}
	}
	with := func(r request, f func(*request)) request { f(&r); return r }
	idem := func(k string) map[string]string { return map[string]string{"idempotency-key": k} }
	rs := []request{
		// Calls.
		with(post("service call", "/restate/call/Greeter/greet", `"ann"`, 200), func(r *request) { r.save = "call" }),
		post("object call", "/restate/call/Counter/c1/add", `2`, 200),
		post("object call, escaped key", "/restate/call/Counter/a%20b%2Fc/add", `3`, 200),
		with(post("idempotent call", "/restate/call/Greeter/greet", `"idem"`, 200), func(r *request) {
			r.save, r.header, r.differs = "idem", idem("k1"), firstCallExpires
		}),
		with(post("idempotent call repeated", "/restate/call/Greeter/greet", `"idem"`, 200), func(r *request) { r.header = idem("k1") }),
		with(post("idempotent object call", "/restate/call/Counter/c2/add", `5`, 200), func(r *request) {
			r.save, r.header, r.differs = "objidem", idem("k2"), firstCallExpires
		}),
		with(post("workflow run", "/restate/call/Signup/w1/run", `"w1@x"`, 200), func(r *request) { r.save = "wf" }),
		with(post("workflow run with idempotency key", "/restate/call/Signup/w2/run", `"w2@x"`, 400), func(r *request) { r.header = idem("k3") }),
		post("terminal failure", "/restate/call/Greeter/fail", `"teapot"`, 418),
		post("call with delay", "/restate/call/Greeter/greet?delay=1s", `"x"`, 400),
		post("call to an unknown service", "/restate/call/Nowhere/greet", `"x"`, 404),
		post("call to an unknown handler", "/restate/call/Greeter/nope", `"x"`, 404),
		post("call without handler", "/restate/call/Greeter", `"x"`, 400),
		post("object call without handler", "/restate/call/Counter/c1", `2`, 400),
		post("call with a trailing segment", "/restate/call/Greeter/greet/extra", `"x"`, 400),
		post("call with a trailing /send", "/restate/call/Greeter/greet/send", `"x"`, 400),
		post("call without service", "/restate/call", `"x"`, 400),
		post("call with an empty service", "/restate/call/", `"x"`, 400),
		post("call with a trailing slash", "/restate/call/Greeter/greet/", `"x"`, 200),
		post("call, escaped service name", "/restate/call/Gr%65eter/greet", `"x"`, 404),
		{name: "call with PUT", method: http.MethodPut, path: "/restate/call/Greeter/greet", body: `"x"`, wantStatus: 405},
		{name: "call with GET", method: http.MethodGet, path: "/restate/call/Greeter/greet", wantStatus: 200},
		post("key not UTF-8", "/restate/call/Counter/%C3%28/add", `1`, 400),
		post("key not UTF-8, 3 bytes", "/restate/send/Counter/a%E2%82%28b/add", `1`, 400),
		post("key not UTF-8, cut short", "/restate/send/Counter/ab%F0%90%80/add", `1`, 400),
		post("key not UTF-8, bad first byte", "/restate/call/Counter/%FF%FE/add", `1`, 400),
		post("key not UTF-8, surrogate", "/restate/call/Counter/%ED%A0%80/add", `1`, 400),
		post("too many segments", "/restate/call/Counter/c1/add/a/b/c", `1`, 400),
		post("unknown verb", "/restate/frobnicate/Greeter/greet", `"x"`, 404),
		post("scoped call", "/restate/scope/t1/call/Greeter/greet", `"x"`, 400),
		post("scoped send, bad scope", "/restate/scope/a%20b/send/Counter/c1/add", `1`, 400),
		post("scoped call, trailing slash", "/restate/scope/t1/call/Greeter/greet/", `"x"`, 400),
		post("scoped object call without key", "/restate/scope/t1/call/Counter", `1`, 400),

		// Sends.
		with(post("send", "/restate/send/Greeter/greet", `"s"`, 202), func(r *request) { r.save = "send" }),
		with(post("object send", "/restate/send/Counter/c3/add", `1`, 202), func(r *request) { r.save = "objsend" }),
		with(post("delayed idempotent send", "/restate/send/Greeter/greet?delay=1h", `"later"`, 202), func(r *request) {
			r.save, r.delay, r.header = "delayed", time.Hour, idem("s1")
		}),
		// Repeated with another delay: the answer is the first send's execution time.
		with(post("delayed idempotent send repeated", "/restate/send/Greeter/greet?delay=2h", `"later"`, 202), func(r *request) {
			r.header = idem("s1")
		}),
		post("send to an unknown service", "/restate/send/Nowhere/greet", `"x"`, 404),
		post("send without handler", "/restate/send/Greeter", `"x"`, 400),
		post("send with a trailing segment", "/restate/send/Greeter/greet/send", `"x"`, 400),
		// The older paths read ?delay= the same way.
		with(post("older send, friendly delay", "/Greeter/greet/send?delay=1h+30m", `"x"`, 202), func(r *request) { r.delay = 90 * time.Minute }),
		with(post("older send, ISO 8601 delay", "/Counter/c4/add/send?delay=P1DT2H", `1`, 202), func(r *request) { r.delay = 26 * time.Hour }),
		post("older send, bad delay", "/Greeter/greet/send?delay=1H", `"x"`, 400),
		post("older call, delay", "/Greeter/greet?delay=PT1S", `"x"`, 400),
		post("send, two delays", "/restate/send/Greeter/greet?delay=abc&delay=10s", `"x"`, 400),
		with(post("send, DELAY", "/restate/send/Greeter/greet?DELAY=10s", `"x"`, 202), func(r *request) { r.delay = 10 * time.Second }),
		post("send, limit-key query parameter", "/restate/send/Greeter/greet?limit-key=a", `"x"`, 400),
		post("send, bad limit-key query parameter", "/restate/send/Greeter/greet?limit-key=a%20b", `"x"`, 400),

		// Attach and output by id.
		get("attach by id", "/restate/attach/{idem}", 200),
		get("output by id", "/restate/output/{idem}", 200),
		get("attach to a send by id", "/restate/attach/{send}", 200),
		get("output of a send by id", "/restate/output/{send}", 200),
		get("output of a call without idempotency key", "/restate/output/{call}", 200),
		get("output of a delayed send", "/restate/output/{delayed}", 470),
		get("attach to a workflow run by id", "/restate/attach/{wf}", 200),
		get("attach to an unknown id", "/restate/attach/"+unknownID, 404),
		get("output of an unknown id", "/restate/output/"+unknownID, 404),
		get("attach to a bad id", "/restate/attach/inv_bad", 400),
		get("output of a bad id", "/restate/output/nope", 400),
		{name: "attach by id with POST", method: http.MethodPost, path: "/restate/attach/{idem}", wantStatus: 405},
		{name: "output by id with DELETE", method: http.MethodDelete, path: "/restate/output/{idem}", wantStatus: 405},
		get("attach by id, trailing segment", "/restate/attach/{idem}/attach", 400),
		get("attach by id, trailing slash", "/restate/attach/{idem}/", 200),
		get("output, empty id", "/restate/output/", 405),
		post("attach, trailing slash", "/restate/attach/", `{"target":"invocation","invocationId":"{idem}"}`, 200),
		post("lookup, trailing slash", "/restate/lookup/", `{"target":"invocation","invocationId":"{idem}"}`, 200),

		// Attach, output and lookup by target.
		post("attach by idempotency key", "/restate/attach", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`, 200),
		post("output by idempotency key", "/restate/output", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`, 200),
		post("attach by object idempotency key", "/restate/attach", `{"target":"idempotentInvocation","service":"Counter","key":"c2","handler":"add","idempotencyKey":"k2"}`, 200),
		post("output by workflow key", "/restate/output", `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"}`, 200),
		post("attach by workflow key", "/restate/attach", `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"}`, 200),
		post("attach by invocation id in the body", "/restate/attach", `{"target":"invocation","invocationId":"{idem}"}`, 200),
		post("output of a delayed send by idempotency key", "/restate/output", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"s1"}`, 470),
		post("attach by an unknown idempotency key", "/restate/attach", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"nope"}`, 404),
		post("output by an unknown workflow key", "/restate/output", `{"target":"workflow","workflowName":"Signup","workflowKey":"nope"}`, 404),
		post("attach, bad id in the body", "/restate/attach", `{"target":"invocation","invocationId":"inv_bad"}`, 400),
		post("attach with a scope", "/restate/attach", `{"target":"workflow","scope":"s1","workflowName":"Signup","workflowKey":"w1"}`, 404),
		post("attach with a bad scope", "/restate/attach", `{"target":"workflow","scope":"a b","workflowName":"Signup","workflowKey":"w1"}`, 400),
		// restate-server answers a body it cannot read 500, in serde_json's words.
		post("attach, empty body", "/restate/attach", ``, 500),
		post("attach, unknown target", "/restate/attach", `{"target":"nope"}`, 500),
		post("attach, missing field", "/restate/attach", `{"target":"workflow","workflowName":"Signup"}`, 500),
		post("output, not JSON", "/restate/output", `nope`, 500),
		post("attach, a number", "/restate/attach", `1`, 500),
		post("attach, a string", "/restate/attach", `"x"`, 500),
		post("attach, null", "/restate/attach", `null`, 500),
		post("attach, a float", "/restate/attach", `1.5e3`, 500),
		post("attach, target not a string", "/restate/attach", `{"target":1}`, 500),
		post("attach, no target", "/restate/attach", `{"workflowName":"Signup","workflowKey":"w1"}`, 500),
		post("attach, target last", "/restate/attach", `{"workflowName":"Signup","workflowKey":"w1","target":"workflow"}`, 200),
		post("attach, field not a string", "/restate/attach", `{"target":"workflow","workflowName":1,"workflowKey":"w1"}`, 500),
		post("attach, field null", "/restate/attach", `{"target":"invocation","invocationId":null}`, 500),
		post("attach, field an object", "/restate/attach", `{"target":"workflow","workflowName":{"a":[1,true]},"workflowKey":"w1"}`, 500),
		post("attach, field given twice", "/restate/attach", `{"target":"workflow","workflowName":"Signup","workflowName":"Signup","workflowKey":"w1"}`, 500),
		post("attach, target given twice", "/restate/attach", `{"target":"workflow","target":"workflow","workflowName":"Signup","workflowKey":"w1"}`, 500),
		post("attach, null scope and key", "/restate/attach", `{"target":"idempotentInvocation","scope":null,"service":"Greeter","key":null,"handler":"greet","idempotencyKey":"k1"}`, 200),
		post("attach, unknown fields ignored", "/restate/attach", `{"target":"invocation","invocationId":"{idem}","x":[1,{"y":null}],"scope":"a b"}`, 200),
		post("attach, key for a service without keys", "/restate/attach", `{"target":"idempotentInvocation","service":"Greeter","key":"x","handler":"greet","idempotencyKey":"k1"}`, 404),
		post("attach, trailing characters", "/restate/attach", `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"} x`, 500),
		post("attach, trailing comma", "/restate/attach", `{"target":"workflow",}`, 500),
		post("attach, missing comma", "/restate/attach", `{"target":"workflow" "x":1}`, 500),
		post("attach, missing colon", "/restate/attach", `{"target" "workflow"}`, 500),
		post("attach, key not a string", "/restate/attach", `{target:"workflow"}`, 500),
		post("attach, unterminated", "/restate/attach", `{"target":"workf`, 500),
		post("attach, open object", "/restate/attach", `{"target":"workflow"`, 500),
		post("attach, bad escape", "/restate/attach", `{"target":"wo\qrkflow"}`, 500),
		post("attach, escaped tag", "/restate/attach", `{"target":"work\u0066low","workflowName":"Signup","workflowKey":"w1"}`, 200),
		post("attach, bad literal", "/restate/attach", `{"target":"workflow","scope":nul}`, 500),
		post("attach, bad number", "/restate/attach", `{"target":"workflow","x":-}`, 500),
		post("attach, string not UTF-8", "/restate/attach", "{\"target\":\"work\xff\"}", 500),
		post("attach, lone surrogate", "/restate/attach", `{"target":"\ud800"}`, 500),
		post("attach, surrogate pair", "/restate/attach", `{"target":"\ud83d\ude00"}`, 500),
		post("attach, low surrogate first", "/restate/attach", `{"target":"\udc00x"}`, 500),
		post("attach, control character", "/restate/attach", "{\"target\":\"a\tb\"}", 500),
		post("attach, big number", "/restate/attach", `{"target":"workflow","workflowName":18446744073709551616,"workflowKey":"k"}`, 500),
		post("attach, negative number", "/restate/attach", `{"target":"workflow","workflowName":-5,"workflowKey":"k"}`, 500),
		post("attach, exponent", "/restate/attach", `{"target":"workflow","workflowName":1E400,"workflowKey":"k"}`, 500),
		post("attach, leading zero", "/restate/attach", `{"target":"workflow","workflowName":01,"workflowKey":"k"}`, 500),
		post("attach, number 1e15", "/restate/attach", `{"target":"workflow","workflowName":1e15,"workflowKey":"k"}`, 500),
		post("attach, number 1e16", "/restate/attach", `{"target":"workflow","workflowName":1e16,"workflowKey":"k"}`, 500),
		post("attach, number 1.5e16", "/restate/attach", `{"target":"workflow","workflowName":1.5e16,"workflowKey":"k"}`, 500),
		post("attach, number 1e20", "/restate/attach", `{"target":"workflow","workflowName":1e20,"workflowKey":"k"}`, 500),
		post("attach, number 0.0001", "/restate/attach", `{"target":"workflow","workflowName":0.0001,"workflowKey":"k"}`, 500),
		post("attach, number 0.00001", "/restate/attach", `{"target":"workflow","workflowName":0.00001,"workflowKey":"k"}`, 500),
		post("attach, number 1e-7", "/restate/attach", `{"target":"workflow","workflowName":1e-7,"workflowKey":"k"}`, 500),
		post("attach, number -1.5e300", "/restate/attach", `{"target":"workflow","workflowName":-1.5e300,"workflowKey":"k"}`, 500),
		post("attach, number -0.0", "/restate/attach", `{"target":"workflow","workflowName":-0.0,"workflowKey":"k"}`, 500),
		post("attach, number 1e6", "/restate/attach", `{"target":"workflow","workflowName":1e6,"workflowKey":"k"}`, 500),
		post("attach, number 2.5", "/restate/attach", `{"target":"workflow","workflowName":2.5,"workflowKey":"k"}`, 500),
		post("attach, array", "/restate/attach", `["workflow","Signup","w1"]`, 500),
		post("attach, array of the fields", "/restate/attach", `["workflow",null,"Signup","w1"]`, 200),
		post("attach, array by idempotency key", "/restate/attach", `["idempotentInvocation","s1","Greeter",null,"greet","k1"]`, 404),
		post("lookup, array by idempotency key", "/restate/lookup", `["idempotentInvocation",null,"Greeter",null,"greet","k1"]`, 200),
		post("attach, array too long", "/restate/attach", `["invocation","{idem}","x"]`, 500),
		post("attach, array with a number", "/restate/attach", `["workflow",null,1]`, 500),
		post("attach, empty array", "/restate/attach", `[]`, 500),
		post("attach, array of a bad tag", "/restate/attach", `["nope"]`, 500),
		post("attach, array of a number", "/restate/attach", `[1]`, 500),
		post("attach, array not closed", "/restate/attach", `["workflow"`, 500),
		post("attach, array trailing comma", "/restate/attach", `["workflow",]`, 500),
		post("attach, high surrogate then text", "/restate/attach", `{"target":"\ud800x"}`, 500),
		post("attach, high surrogate then escape", "/restate/attach", `{"target":"\ud800\n"}`, 500),
		post("attach, two high surrogates", "/restate/attach", `{"target":"\ud800\ud800"}`, 500),
		post("attach, short escape", "/restate/attach", `{"target":"\u12`, 500),
		post("attach, bad hex", "/restate/attach", `{"target":"\u12x4"}`, 500),
		post("attach, number out of range", "/restate/attach", `{"target":"workflow","x":-1e999}`, 500),
		post("attach, deep nesting allowed", "/restate/attach", `{"target":"invocation","invocationId":"{idem}","x":`+strings.Repeat("[", 126)+strings.Repeat("]", 126)+`}`, 200),
		post("attach, deep nesting refused", "/restate/attach", `{"target":"invocation","invocationId":"{idem}","x":`+strings.Repeat("[", 127)+strings.Repeat("]", 127)+`}`, 500),
		post("attach, deep nesting", "/restate/attach", `{"target":"workflow","x":`+strings.Repeat("[", 200)+strings.Repeat("]", 200)+`}`, 500),
		post("attach, multi-line", "/restate/attach", "{\n  \"target\": \"nope\"\n}", 500),
		get("attach by target with GET", "/restate/attach", 405),
		{name: "output by target with PUT", method: http.MethodPut, path: "/restate/output", body: `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"}`, wantStatus: 405},
		post("lookup by idempotency key", "/restate/lookup", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`, 200),
		post("lookup by object idempotency key", "/restate/lookup", `{"target":"idempotentInvocation","service":"Counter","key":"c2","handler":"add","idempotencyKey":"k2"}`, 200),
		post("lookup by workflow key", "/restate/lookup", `{"target":"workflow","workflowName":"Signup","workflowKey":"w1"}`, 200),
		post("lookup by invocation id", "/restate/lookup", `{"target":"invocation","invocationId":"{send}"}`, 200),
		post("lookup of an unknown idempotency key", "/restate/lookup", `{"target":"idempotentInvocation","service":"Greeter","handler":"greet","idempotencyKey":"nope"}`, 200),
		post("lookup with a scope", "/restate/lookup", `{"target":"idempotentInvocation","scope":"s1","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`, 200),
		post("lookup with a bad scope", "/restate/lookup", `{"target":"idempotentInvocation","scope":"","service":"Greeter","handler":"greet","idempotencyKey":"k1"}`, 400),
		post("lookup, bad body", "/restate/lookup", `{"target":"invocation"}`, 500),
		post("lookup, bad id", "/restate/lookup", `{"target":"invocation","invocationId":"x"}`, 400),
		get("lookup with GET", "/restate/lookup", 405),
		post("lookup, trailing segment", "/restate/lookup/x", `{}`, 400),
	}
	// Delays: each is a send of its own.
	for _, d := range delays {
		r := post("send with delay="+d.value, "/restate/send/Greeter/greet?delay="+url.QueryEscape(d.value), `"d"`, 0)
		r.delay = d.want
		if d.bad {
			r.wantStatus = 400
		} else {
			r.wantStatus = 202
		}
		rs = append(rs, r)
	}
	return rs
}

// delays are the ?delay= values sent, and what they mean.
var delays = []struct {
	value string
	want  time.Duration
	bad   bool
}{
	{value: "10s", want: 10 * time.Second},
	{value: "1h 30m", want: 90 * time.Minute},
	{value: "1h30m", want: 90 * time.Minute},
	{value: "2days", want: 48 * time.Hour},
	{value: "2 days", want: 48 * time.Hour},
	{value: "2d", want: 48 * time.Hour},
	{value: "1d12h", want: 36 * time.Hour},
	{value: "PT10S", want: 10 * time.Second},
	{value: "pt10s", want: 10 * time.Second},
	{value: "P1D", want: 24 * time.Hour},
	{value: "P1DT2H", want: 26 * time.Hour},
	{value: "PT1.5S", want: 1500 * time.Millisecond},
	{value: "PT1,5S", want: 1500 * time.Millisecond},
	{value: "PT0.5H", want: 30 * time.Minute},
	{value: "P1W", want: 7 * 24 * time.Hour},
	{value: "1w", want: 7 * 24 * time.Hour},
	{value: "1.5s", want: 1500 * time.Millisecond},
	{value: "1.5h", want: 90 * time.Minute},
	{value: "500ms", want: 500 * time.Millisecond},
	{value: "500 milliseconds", want: 500 * time.Millisecond},
	{value: "10us", want: 10 * time.Microsecond},
	{value: "10ns", want: 10},
	{value: "1 hour", want: time.Hour},
	{value: "10 seconds", want: 10 * time.Second},
	{value: "10 mins", want: 10 * time.Minute},
	{value: "10S", bad: true},
	{value: "1H", bad: true},
	{value: "1 day 2 hours", want: 26 * time.Hour},
	{value: "1 day, 2 hours", want: 26 * time.Hour},
	{value: "+10s", want: 10 * time.Second},
	{value: "1h ago", bad: true},
	{value: "-1s", bad: true},
	{value: "-PT1S", bad: true},
	{value: "0", want: 0},
	{value: "0s", want: 0},
	{value: "", bad: true},
	{value: "10", bad: true},
	{value: "abc", bad: true},
	{value: "1y", bad: true},
	{value: "1mo", bad: true},
	{value: "P1M", bad: true},
	{value: "P1Y", bad: true},
	{value: "PT", bad: true},
	{value: "P", bad: true},
	{value: "1h30", bad: true},
	{value: "10 s", want: 10 * time.Second},
	{value: "10sec", want: 10 * time.Second},
	{value: "1h 30m 10s 5ms", want: 90*time.Minute + 10*time.Second + 5*time.Millisecond},
	{value: "99999999999d", bad: true},
	{value: "1 xyz", bad: true},
	{value: "10s ", want: 10 * time.Second},
	{value: " 10s", bad: true},
	{value: "-1y", bad: true},
	{value: "-2mo", bad: true},
	{value: "1.5d", bad: true},
	{value: "1s 1h", bad: true},
	{value: "01:02:03", want: time.Hour + 2*time.Minute + 3*time.Second},
	{value: "1d 01:02:03.5", want: 25*time.Hour + 2*time.Minute + 3500*time.Millisecond},
	{value: "1h 01:02:03", bad: true},
	{value: "1:2", bad: true},
	{value: "10s x", bad: true},
	{value: "1d x", bad: true},
	{value: "1h,", bad: true},
	{value: "1h,2m", bad: true},
	{value: "1h, 2m", want: time.Hour + 2*time.Minute},
	{value: "+", bad: true},
	{value: "-", bad: true},
	{value: "99999999999999999999999s", bad: true},
	{value: "P1D2H", bad: true},
	{value: "PT1.5", bad: true},
	{value: "P1.5D", bad: true},
	{value: "PT1.5H30M", bad: true},
	{value: "PT1.5H", want: 90 * time.Minute},
	{value: "1.5ns", bad: true},
	{value: "1.1234567891s", bad: true},
	{value: "1.s", bad: true},
	{value: "PT10S ", bad: true},
	{value: "20000y", bad: true},
	{value: "+1s ago", bad: true},
	{value: "10\u00b5s", want: 10 * time.Microsecond},
	{value: "1 hr", want: time.Hour},
	{value: "PT0S", want: 0},
	{value: "-0s", want: 0},
	{value: "1W", bad: true},
	{value: "p1w", want: 7 * 24 * time.Hour},
	{value: "1ms 500us 10ns", want: time.Millisecond + 500*time.Microsecond + 10},
}
