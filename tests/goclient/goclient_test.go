//go:build linux

package goclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
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
	// stepTimeout bounds one step (a request or two; milliseconds when all is well).
	stepTimeout = time.Minute
	// token is the bearer token our server is started with and the client sends to both.
	token = "goclient-test-token"
	// delay is the delay of the delayed send: long enough to see the execution time in the
	// future of the send, and short enough to wait for it.
	delay = 300 * time.Millisecond
)

// TestGoClient runs the steps against a fresh `resolute server` (with an ingress token) and a
// fresh restate-server at once, each with its own deployment of the services below, and checks
// every step of both runs against want.
func TestGoClient(t *testing.T) {
	officialBin := testenv.OfficialServerPath(t)
	ourBin := testenv.ResoluteBinary(t)
	var mu sync.Mutex
	got := map[string][]step{}
	t.Run("servers", func(t *testing.T) {
		for _, kind := range []string{ours, official} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				ingress, awakeables := startServer(t, kind, ourBin, officialBin)
				steps := runSteps(t, ingress, awakeables)
				mu.Lock()
				got[kind] = steps
				mu.Unlock()
			})
		}
	})
	for _, kind := range []string{ours, official} {
		checkSteps(t, kind, got[kind])
	}
}

// startServer starts a server of kind with a deployment of services, and returns its ingress
// URL once the deployment is routable, and the channel of the holder's awakeable ids. Ours
// requires the bearer token, and refuses a client without it.
func startServer(t *testing.T, kind, ourBin, officialBin string) (string, chan string) {
	var ingress, admin string
	switch kind {
	case ours:
		tokens := filepath.Join(t.TempDir(), "ingress.tokens")
		if err := os.WriteFile(tokens, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := testenv.StartServer(t, testenv.ServerConfig{Bin: ourBin, Args: []string{"--ingress-tokens-file", tokens}})
		ingress, admin = srv.Ingress, srv.Admin
	case official:
		ingress, admin = testenv.StartOfficialServer(t, officialBin, nil)
	}
	awakeables := make(chan string, 16)
	dep := testenv.ServeH2C(t, services(awakeables).Handler())
	if _, err := testenv.Register(admin, dep); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ingress, nil, client.WithBearerToken(token))
	testenv.WaitReady(t, "services routable", readyTimeout, func() error {
		_, err := client.Call[string](t.Context(), c, sdk.ToService("Greeter", "greet"), "probe")
		return err
	})
	if kind == ours {
		checkTokenRefused(t, ingress)
	}
	return ingress, awakeables
}

// checkTokenRefused checks that our server refuses a client without the token, with the
// ingress's 401.
func checkTokenRefused(t *testing.T, ingress string) {
	c := newClient(t, ingress, nil)
	_, err := client.Call[string](t.Context(), c, sdk.ToService("Greeter", "greet"), "nobody")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != http.StatusUnauthorized || e.Source != client.SourceIngress {
		t.Fatalf("call without the token: %v, want a 401 from the ingress", err)
	}
}

// --- the deployment ------------------------------------------------------------------------

// services is the deployment: Greeter (a Service), Counter (a Virtual Object), Signup (a
// Workflow) and Holder (waits on an awakeable whose id it writes to awakeables).
func services(awakeables chan<- string) *sdk.Endpoint {
	greeter := sdk.NewService("Greeter").
		Handler("greet", sdk.ServiceHandler(func(ctx sdk.Context, name string) (string, error) {
			return "hello " + name, nil
		})).
		Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, msg string) (sdk.Void, error) {
			return sdk.Void{}, sdk.TerminalError(errors.New(msg), 418)
		})).
		Handler("nothing", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			return sdk.Void{}, nil
		})).
		Handler("headers", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (map[string]string, error) {
			h := ctx.Headers()
			return map[string]string{"x-tenant": h["x-tenant"], "x-request": h["x-request"]}, nil
		})).
		Handler("shout", sdk.ServiceHandler(func(ctx sdk.Context, s string) (string, error) {
			return strings.ToUpper(s) + "!", nil
		}, sdk.WithCodec(textCodec{}))).
		Handler("ranAt", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (int64, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (int64, error) { return time.Now().UnixMilli(), nil })
		}))
	counter := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			count, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return count + n, sdk.Set(ctx, "count", count+n)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
			return sdk.Get[int](ctx, "count")
		}))
	signup := sdk.NewWorkflow("Signup").
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, email string) (string, error) {
			approver, err := sdk.Promise[string](ctx, "approval").Result()
			if err != nil {
				return "", err
			}
			return email + " approved by " + approver, nil
		})).
		Handler("approve", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, name string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, "approval").Resolve(name)
		}))
	holder := sdk.NewService("Holder").
		Handler("hold", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
				awakeables <- a.ID()
				return sdk.Void{}, nil
			})
			if err != nil {
				return "", err
			}
			return a.Result()
		}))
	return sdk.NewEndpoint().Bind(greeter, counter, signup, holder)
}

// textCodec is a codec of strings as plain text, the handler "shout"'s and the client's.
type textCodec struct{}

func (textCodec) ContentType() string { return "text/plain" }

func (textCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("textCodec: %T is not a string", v)
	}
	return []byte(s), nil
}

func (textCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("textCodec: %T is not a *string", v)
	}
	*p = string(data)
	return nil
}

// --- the steps -----------------------------------------------------------------------------

// step is what one step did: its name, the value or error the client returned, and the
// requests it made ("METHOD /path?query content-type").
type step struct {
	Name     string
	Result   map[string]any
	Requests []string
}

// recorder is an http.RoundTripper that notes each request before sending it.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	line := req.Method + " " + req.URL.RequestURI()
	if ct := req.Header.Get("Content-Type"); ct != "" {
		line += " " + ct
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, line)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := r.reqs
	r.reqs = nil
	return reqs
}

func newClient(t *testing.T, ingress string, rt http.RoundTripper, opts ...client.ClientOption) *client.Client {
	if rt != nil {
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: rt}))
	}
	c, err := client.New(ingress, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run is the state one server's steps share.
type run struct {
	c          *client.Client
	awakeables chan string
	ingress    string
	// ids the steps pass on.
	sendID, delayedID, holderID, submitID, lastAwakeable string
	delayedAt                                            time.Time
	seenAwakeables                                       map[string]bool
}

// runSteps runs every step against ingress and returns what each did.
func runSteps(t *testing.T, ingress string, awakeables chan string) []step {
	rec := &recorder{}
	r := &run{ingress: ingress, awakeables: awakeables, seenAwakeables: map[string]bool{},
		c: newClient(t, ingress, rec, client.WithBearerToken(token), client.WithHeaders(map[string]string{"x-tenant": "acme", "x-request": "client"})),
	}
	var steps []step
	for _, s := range r.steps() {
		ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
		v, err := s.do(ctx)
		cancel()
		steps = append(steps, step{Name: s.name, Result: outcome(v, err), Requests: rec.take()})
	}
	return steps
}

type stepFunc struct {
	name string
	do   func(ctx context.Context) (any, error)
}

func (r *run) steps() []stepFunc {
	c := r.c
	greet := sdk.ToService("Greeter", "greet")
	add := func(key string) sdk.Target { return sdk.ToObject("Counter", key, "add") }
	get := func(key string) sdk.Target { return sdk.ToObject("Counter", key, "get") }
	hold := sdk.ToService("Holder", "hold")
	return []stepFunc{
		// Calls.
		{"service call", func(ctx context.Context) (any, error) { return client.Call[string](ctx, c, greet, "bob") }},
		{"object call", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, add("a"), 2) }},
		{"object call again", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, add("a"), 3) }},
		{"shared handler call", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, get("a"), sdk.Void{}) }},
		{"key escaped in the path", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, add("x y/z"), 7) }},
		{"escaped key read back", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, get("x y/z"), sdk.Void{}) }},
		{"void in, void out", func(ctx context.Context) (any, error) {
			return client.Call[sdk.Void](ctx, c, sdk.ToService("Greeter", "nothing"), sdk.Void{})
		}},
		{"headers, client and request", func(ctx context.Context) (any, error) {
			return client.Call[map[string]string](ctx, c, sdk.ToService("Greeter", "headers"), sdk.Void{},
				client.WithHeaders(map[string]string{"x-request": "call"}))
		}},
		{"custom codec", func(ctx context.Context) (any, error) {
			return client.Call[string](ctx, c, sdk.ToService("Greeter", "shout"), "hey", client.WithCodec(textCodec{}))
		}},
		{"custom codec's handler called with JSON", func(ctx context.Context) (any, error) {
			return client.Call[string](ctx, c, sdk.ToService("Greeter", "shout"), "hey")
		}},
		{"idempotent call", func(ctx context.Context) (any, error) {
			return client.Call[int](ctx, c, add("b"), 10, client.WithIdempotencyKey("k1"))
		}},
		{"idempotent call repeated", func(ctx context.Context) (any, error) {
			return client.Call[int](ctx, c, add("b"), 10, client.WithIdempotencyKey("k1"))
		}},
		{"count after idempotent calls", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, get("b"), sdk.Void{}) }},

		// Errors of calls.
		{"terminal failure", func(ctx context.Context) (any, error) {
			return client.Call[sdk.Void](ctx, c, sdk.ToService("Greeter", "fail"), "teapot")
		}},
		{"unknown service", func(ctx context.Context) (any, error) {
			return client.Call[string](ctx, c, sdk.ToService("Nowhere", "greet"), "x")
		}},
		{"unknown handler", func(ctx context.Context) (any, error) {
			return client.Call[string](ctx, c, sdk.ToService("Greeter", "nope"), "x")
		}},
		{"delay on a call", func(ctx context.Context) (any, error) {
			return client.Call[string](ctx, c, greet, "x", client.WithDelay(time.Second))
		}},
		{"output decoded as the wrong type", func(ctx context.Context) (any, error) { return client.Call[int](ctx, c, greet, "x") }},

		// Sends, attach and output.
		{"send with idempotency key", func(ctx context.Context) (any, error) {
			s, err := client.Send(ctx, c, add("c"), 4, client.WithIdempotencyKey("s1"))
			r.sendID = s.InvocationID
			return sendOutcome(s), err
		}},
		{"send repeated", func(ctx context.Context) (any, error) {
			s, err := client.Send(ctx, c, add("c"), 4, client.WithIdempotencyKey("s1"))
			return sendOutcome(s), err
		}},
		{"attach by invocation id", func(ctx context.Context) (any, error) { return client.Attach[int](ctx, c, r.sendID) }},
		{"attach by idempotency key (object)", func(ctx context.Context) (any, error) {
			return client.AttachIdempotent[int](ctx, c, add("c"), "s1")
		}},
		{"output by idempotency key (object)", func(ctx context.Context) (any, error) {
			return ready(client.OutputIdempotent[int](ctx, c, add("c"), "s1"))
		}},
		{"output by invocation id", func(ctx context.Context) (any, error) { return ready(client.Output[int](ctx, c, r.sendID)) }},
		{"service send with idempotency key", func(ctx context.Context) (any, error) {
			s, err := client.Send(ctx, c, greet, "dan", client.WithIdempotencyKey("g1"))
			return sendOutcome(s), err
		}},
		{"attach by idempotency key (service)", func(ctx context.Context) (any, error) {
			return client.AttachIdempotent[string](ctx, c, greet, "g1")
		}},
		{"output by idempotency key (service)", func(ctx context.Context) (any, error) {
			return ready(client.OutputIdempotent[string](ctx, c, greet, "g1"))
		}},
		{"output of an unknown idempotency key", func(ctx context.Context) (any, error) {
			return ready(client.OutputIdempotent[string](ctx, c, greet, "never"))
		}},
		{"attach to an unknown invocation", func(ctx context.Context) (any, error) { return client.Attach[string](ctx, c, unknownID()) }},
		{"output of an unknown invocation", func(ctx context.Context) (any, error) {
			return ready(client.Output[string](ctx, c, unknownID()))
		}},
		{"malformed invocation id", func(ctx context.Context) (any, error) { return client.Attach[string](ctx, c, "inv_nope") }},
		{"idempotency key needing escapes, sent", func(ctx context.Context) (any, error) {
			s, err := client.Send(ctx, c, add("e"), 1, client.WithIdempotencyKey("a b"))
			return sendOutcome(s), err
		}},
		{"idempotency key needing escapes, in a path", func(ctx context.Context) (any, error) {
			return rawOutput(ctx, r.ingress, "/restate/invocation/Counter/e/add/a%20b/output")
		}},
		{"idempotency key needing escapes, refused by the client", func(ctx context.Context) (any, error) {
			return client.AttachIdempotent[int](ctx, c, add("e"), "a b")
		}},
		{"send with delay", func(ctx context.Context) (any, error) {
			before := time.Now()
			s, err := client.Send(ctx, c, sdk.ToService("Greeter", "ranAt"), sdk.Void{}, client.WithDelay(delay), client.WithIdempotencyKey("d1"))
			r.delayedID, r.delayedAt = s.InvocationID, s.ExecutionTime
			return map[string]any{"send": sendOutcome(s), "executionTimeAfterDelay": !s.ExecutionTime.Before(before.Add(delay).Truncate(time.Millisecond))}, err
		}},
		{"attach to the delayed send", func(ctx context.Context) (any, error) {
			ranAt, err := client.Attach[int64](ctx, c, r.delayedID)
			return map[string]bool{"ranAfterExecutionTime": ranAt >= r.delayedAt.UnixMilli()}, err
		}},

		// Awakeables.
		{"send to the holder", func(ctx context.Context) (any, error) {
			s, err := client.Send(ctx, c, hold, sdk.Void{}, client.WithIdempotencyKey("h1"))
			r.holderID = s.InvocationID
			return sendOutcome(s), err
		}},
		{"output while the holder waits", func(ctx context.Context) (any, error) {
			return ready(client.OutputIdempotent[string](ctx, c, hold, "h1"))
		}},
		{"resolve the awakeable", func(ctx context.Context) (any, error) {
			id, err := r.awakeable(ctx)
			if err != nil {
				return nil, err
			}
			return nil, client.ResolveAwakeable(ctx, c, id, "yes")
		}},
		{"attach to the holder", func(ctx context.Context) (any, error) { return client.Attach[string](ctx, c, r.holderID) }},
		{"resolve the awakeable again", func(ctx context.Context) (any, error) {
			return nil, client.ResolveAwakeable(ctx, c, r.lastAwakeable, "again")
		}},
		{"attach to the holder again", func(ctx context.Context) (any, error) { return client.Attach[string](ctx, c, r.holderID) }},
		{"reject an awakeable", func(ctx context.Context) (any, error) {
			if _, err := client.Send(ctx, c, hold, sdk.Void{}, client.WithIdempotencyKey("h2")); err != nil {
				return nil, err
			}
			id, err := r.awakeable(ctx)
			if err != nil {
				return nil, err
			}
			return nil, client.RejectAwakeable(ctx, c, id, "nope")
		}},
		{"attach to the rejected holder", func(ctx context.Context) (any, error) {
			return client.AttachIdempotent[string](ctx, c, hold, "h2")
		}},
		{"resolve a malformed awakeable id", func(ctx context.Context) (any, error) {
			return nil, client.ResolveAwakeable(ctx, c, "sign_1bad", "x")
		}},
		{"call cancelled by its context", func(ctx context.Context) (any, error) {
			return r.cancelledCall(ctx)
		}},

		// Workflows.
		{"workflow output before submit", func(ctx context.Context) (any, error) {
			return ready(client.OutputWorkflow[string](ctx, c, "Signup", "ann"))
		}},
		{"workflow submit", func(ctx context.Context) (any, error) {
			s, err := client.SubmitWorkflow(ctx, c, "Signup", "ann", "ann@example.com")
			r.submitID = s.InvocationID
			return sendOutcome(s), err
		}},
		{"workflow submit again", func(ctx context.Context) (any, error) {
			s, err := client.SubmitWorkflow(ctx, c, "Signup", "ann", "ann@example.com")
			return sendOutcome(s), err
		}},
		{"workflow output while running", func(ctx context.Context) (any, error) {
			return ready(client.OutputWorkflow[string](ctx, c, "Signup", "ann"))
		}},
		{"workflow shared handler", func(ctx context.Context) (any, error) {
			return client.Call[sdk.Void](ctx, c, sdk.ToWorkflow("Signup", "ann", "approve"), "carol")
		}},
		{"workflow attach", func(ctx context.Context) (any, error) { return client.AttachWorkflow[string](ctx, c, "Signup", "ann") }},
		{"workflow output", func(ctx context.Context) (any, error) {
			return ready(client.OutputWorkflow[string](ctx, c, "Signup", "ann"))
		}},
		{"workflow attach by invocation id", func(ctx context.Context) (any, error) { return client.Attach[string](ctx, c, r.submitID) }},
		{"workflow submit with idempotency key", func(ctx context.Context) (any, error) {
			s, err := client.SubmitWorkflow(ctx, c, "Signup", "bob", "bob@example.com", client.WithIdempotencyKey("w1"))
			return sendOutcome(s), err
		}},
	}
}

// awakeable waits for the next awakeable id the holder hands out. An id seen before is skipped:
// a holder's attempt retried before its Run was journaled hands out its id again.
func (r *run) awakeable(ctx context.Context) (string, error) {
	for {
		select {
		case id := <-r.awakeables:
			if r.seenAwakeables[id] {
				continue
			}
			r.seenAwakeables[id] = true
			r.lastAwakeable = id
			return id, nil
		case <-ctx.Done():
			return "", fmt.Errorf("no awakeable id from the holder: %w", ctx.Err())
		}
	}
}

// cancelledCall calls the holder with a context it cancels once the holder waits, then
// resolves the holder's awakeable so that its invocation ends.
func (r *run) cancelledCall(ctx context.Context) (any, error) {
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := client.Call[string](callCtx, r.c, sdk.ToService("Holder", "hold"), sdk.Void{})
		done <- err
	}()
	id, err := r.awakeable(ctx)
	if err != nil {
		return nil, err
	}
	cancel()
	callErr := <-done
	if err := client.ResolveAwakeable(ctx, r.c, id, "late"); err != nil {
		return nil, err
	}
	var e *client.Error
	return map[string]bool{"canceled": errors.Is(callErr, context.Canceled), "restateError": errors.As(callErr, &e)}, nil
}

// rawOutput GETs path from the ingress with the token and returns the status and Restate's
// error code (what the client cannot ask: a path the client refuses to build).
func rawOutput(ctx context.Context, ingress, path string) (any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ingress+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return map[string]any{"status": resp.StatusCode, "code": body.Code, "message": body.Message}, nil
}

// unknownID is a well-formed invocation id that no invocation has.
func unknownID() string {
	return ids.NewInvocationID(ids.PartitionKey(42), [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}).String()
}

// ready is an Output's answer as one value.
func ready[O any](v O, ok bool, err error) (any, error) {
	return map[string]any{"ready": ok, "value": v}, err
}

// sendOutcome is a send's answer without its execution time (checked by the step itself).
func sendOutcome(s client.SendResult) map[string]any {
	return map[string]any{"invocationId": s.InvocationID, "status": string(s.Status), "delayed": !s.ExecutionTime.IsZero()}
}

// outcome is what a step returned: {"value": v} or {"error": …}, an *client.Error told by its
// fields and by what the SDK's error functions say of it.
func outcome(v any, err error) map[string]any {
	if err == nil {
		return map[string]any{"value": v}
	}
	var e *client.Error
	if !errors.As(err, &e) {
		return map[string]any{"error": map[string]any{"other": err.Error()}}
	}
	return map[string]any{"error": map[string]any{
		"status": e.Status, "code": e.Code, "message": e.Message, "source": e.Source,
		"terminal": e.Terminal(), "sdkTerminal": sdk.IsTerminal(err), "sdkCode": sdk.ErrorCode(err),
	}}
}

// --- comparing -----------------------------------------------------------------------------

var (
	invocationIDs = regexp.MustCompile(`inv_1[0-9A-Za-z]+`)
	awakeableIDs  = regexp.MustCompile(`sign_1[0-9A-Za-z_-]+`)
)

// canonical is s as JSON with invocation ids numbered in order of first appearance ("inv#1"),
// shared across the steps of a run (so a step answering an earlier step's invocation says so),
// and awakeable ids replaced.
func canonical(s step, seen map[string]string) (string, string) {
	res, _ := json.Marshal(s.Result)
	reqs, _ := json.Marshal(s.Requests)
	return normalize(string(res), seen), normalize(string(reqs), seen)
}

func normalize(s string, seen map[string]string) string {
	s = invocationIDs.ReplaceAllStringFunc(s, func(id string) string {
		n, ok := seen[id]
		if !ok {
			n = fmt.Sprintf("inv#%d", len(seen)+1)
			seen[id] = n
		}
		return n
	})
	return awakeableIDs.ReplaceAllStringFunc(s, func(id string) string {
		if id == "sign_1bad" {
			return id
		}
		return "sign_1…"
	})
}

// checkSteps compares the steps run against kind with want, in order.
func checkSteps(t *testing.T, kind string, got []step) {
	t.Helper()
	if got == nil {
		return // the run failed already
	}
	seen := map[string]string{}
	for i, w := range want {
		if i >= len(got) {
			t.Errorf("%s: step %q missing", kind, w.name)
			continue
		}
		g := got[i]
		res, reqs := canonical(g, seen)
		if g.Name != w.name {
			t.Errorf("%s: step %d is %q, want %q", kind, i+1, g.Name, w.name)
			continue
		}
		if !sameJSON(res, w.result) {
			t.Errorf("%s: step %q:\n got %s\nwant %s", kind, w.name, res, w.result)
		}
		if !sameJSON(reqs, w.requests) {
			t.Errorf("%s: step %q requests:\n got %s\nwant %s", kind, w.name, reqs, w.requests)
		}
	}
	for _, g := range got[min(len(got), len(want)):] {
		res, reqs := canonical(g, seen)
		t.Errorf("%s: unexpected step %q: %s %s", kind, g.Name, res, reqs)
	}
}

func sameJSON(a, b string) bool {
	var av, bv any
	if json.Unmarshal([]byte(a), &av) != nil || json.Unmarshal([]byte(b), &bv) != nil {
		return false
	}
	return reflect.DeepEqual(av, bv)
}
