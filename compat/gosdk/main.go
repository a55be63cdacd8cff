// Command gosdk serves the official Restate Go SDK side of Resolute's
// compatibility test (tests/compat): a Virtual Object GoCounter that mirrors
// the TypeScript TsCounter in compat/ts and calls it across SDKs, and a
// service GoSteps that mirrors TsSteps (sleep, retries, journaled work).
//
// It lives in its own module so that the main module never requires
// github.com/restatedev/sdk-go.
//
//	go build -o gosdk . && ./gosdk -port 9081 [-effects FILE] [-identity-keys publickeyv1_…,…]
//
// Side effects append one line each ("go <tag> …") to the -effects file, so
// the test can count how often they ran without asking the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	restate "github.com/restatedev/sdk-go"
	"github.com/restatedev/sdk-go/server"
)

func main() {
	port := flag.Int("port", defaultPort(), "TCP port to serve on (loopback); default $PORT or 9081")
	effectsPath := flag.String("effects", os.Getenv("EFFECTS_FILE"), "file that side effects append a line to (empty: not recorded)")
	identityKeys := flag.String("identity-keys", "", "comma-separated request identity public keys (publickeyv1_…); when set, unsigned requests are refused")
	flag.Parse()
	effects.path = *effectsPath

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	srv := server.NewRestate()
	if *identityKeys != "" {
		srv = srv.WithIdentityV1(strings.Split(*identityKeys, ",")...)
	}
	err := srv.Bind(goCounter()).Bind(goSteps()).
		Bind(goOrder("GoOrder", false)).Bind(goOrder("GoBrief", true)).Bind(goLazy()).
		Bind(goLifeParent()).Bind(goLifeChild()).Bind(goFragile()).
		Bind(goStamper("GoRerun", restate.WithJournalRetention(time.Hour))).
		Bind(goStamper("GoFleeting", restate.WithIdempotencyRetention(time.Second), restate.WithJournalRetention(time.Second))).
		Bind(goStamper("GoKept")).
		Start(ctx, addr)
	if err != nil {
		log.Fatalf("gosdk: %v", err)
	}
}

func defaultPort() int {
	if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
		return p
	}
	return 9081
}

// goCounter is GoCounter: exclusive add(n) and callTs(n), shared get.
func goCounter() restate.ServiceDefinition {
	return restate.NewObject("GoCounter").
		Handler("add", restate.NewObjectHandler(add)).
		Handler("get", restate.NewObjectSharedHandler(get)).
		Handler("callTs", restate.NewObjectHandler(callTs)).
		Handler("sendTs", restate.NewObjectHandler(sendTs)).
		Handler("callTsTwice", restate.NewObjectHandler(callTsTwice))
}

// add reads "count", records n through a durable side effect, writes the sum
// and returns it.
func add(ctx restate.ObjectContext, n int) (int, error) {
	count, err := restate.Get[int](ctx, "count")
	if err != nil {
		return 0, err
	}
	delta, err := restate.Run(ctx, func(restate.RunContext) (int, error) {
		return n, nil
	}, restate.WithName("delta"))
	if err != nil {
		return 0, err
	}
	restate.Set(ctx, "count", count+delta)
	return count + delta, nil
}

func get(ctx restate.ObjectSharedContext, _ restate.Void) (int, error) {
	return restate.Get[int](ctx, "count")
}

// callTs calls TsCounter/{same key}/add(n) and returns its result.
func callTs(ctx restate.ObjectContext, n int) (int, error) {
	return restate.Object[int](ctx, "TsCounter", restate.Key(ctx), "add").Request(n)
}

// sendTs sends TsCounter/{same key}/add(n) one way and returns before it runs.
func sendTs(ctx restate.ObjectContext, n int) (string, error) {
	restate.ObjectSend(ctx, "TsCounter", restate.Key(ctx), "add").Send(n)
	return "sent", nil
}

// twice is the input of callTsTwice.
type twice struct {
	N    int    `json:"n"`
	Idem string `json:"idem"`
}

// callTsTwice calls TsCounter/{same key}/add(n) twice with one idempotency key
// and returns both answers (equal when the callee ran once).
func callTsTwice(ctx restate.ObjectContext, in twice) ([]int, error) {
	out := make([]int, 2)
	for i := range out {
		v, err := restate.Object[int](ctx, "TsCounter", restate.Key(ctx), "add").
			Request(in.N, restate.WithIdempotencyKey(in.Idem))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// goSteps is GoSteps: sleep, callSleep, flaky and work, as in TsSteps.
func goSteps() restate.ServiceDefinition {
	return restate.NewService("GoSteps").
		Handler("sleep", restate.NewServiceHandler(sleep)).
		Handler("callSleep", restate.NewServiceHandler(callSleep)).
		Handler("flaky", restate.NewServiceHandler(flaky)).
		Handler("work", restate.NewServiceHandler(work)).
		Handler("awake", restate.NewServiceHandler(awake)).
		Handler("resolve", restate.NewServiceHandler(resolveAwakeable)).
		Handler("reject", restate.NewServiceHandler(rejectAwakeable)).
		Handler("waitSignal", restate.NewServiceHandler(waitSignal)).
		Handler("signal", restate.NewServiceHandler(sendSignal)).
		Handler("attachOrder", restate.NewServiceHandler(attachOrder))
}

// goOrder is a workflow (GoOrder; GoBrief with a workflow retention of 1 s) like TsOrder: run
// records the effect "go order <key> run" once, sets "status" to "waiting", waits for the durable
// promise "approval" and returns "<item> approved by <who>"; shared handlers approve, reject
// (complete the promise), peek and status.
func goOrder(name string, brief bool) restate.ServiceDefinition {
	run := func(ctx restate.WorkflowContext, item string) (string, error) {
		key := restate.Key(ctx)
		if err := restate.RunVoid(ctx, func(restate.RunContext) error {
			return effects.record(fmt.Sprintf("%s %s run", strings.ToLower(name), key))
		}, restate.WithName("started")); err != nil {
			return "", err
		}
		restate.Set(ctx, "status", "waiting")
		by, err := restate.Promise[string](ctx, "approval").Result()
		if err != nil {
			return "", err
		}
		restate.Set(ctx, "status", "approved")
		return item + " approved by " + by, nil
	}
	runHandler := restate.NewWorkflowHandler(run)
	if brief {
		runHandler = restate.NewWorkflowHandler(run, restate.WithWorkflowRetention(time.Second))
	}
	return restate.NewWorkflow(name).
		Handler("run", runHandler).
		Handler("approve", restate.NewWorkflowSharedHandler(func(ctx restate.WorkflowSharedContext, by string) (string, error) {
			return "ok", restate.Promise[string](ctx, "approval").Resolve(by)
		})).
		Handler("reject", restate.NewWorkflowSharedHandler(func(ctx restate.WorkflowSharedContext, reason string) (string, error) {
			return "ok", restate.Promise[string](ctx, "approval").Reject(restate.TerminalErrorf("%s", reason))
		})).
		Handler("peek", restate.NewWorkflowSharedHandler(func(ctx restate.WorkflowSharedContext, _ restate.Void) (string, error) {
			v, err := restate.Promise[*string](ctx, "approval").Peek()
			if err != nil || v == nil {
				return "unset", err
			}
			return "set " + *v, nil
		})).
		Handler("status", restate.NewWorkflowSharedHandler(func(ctx restate.WorkflowSharedContext, _ restate.Void) (string, error) {
			s, err := restate.Get[*string](ctx, "status")
			if err != nil || s == nil {
				return "none", err
			}
			return *s, nil
		}))
}

// goLazy is GoLazy, a Virtual Object with lazy state (WithEnableLazyState) like TsLazy: add(n)
// reads "count" with a GetLazyStateCommand and writes the sum.
func goLazy() restate.ServiceDefinition {
	return restate.NewObject("GoLazy", restate.WithEnableLazyState(true)).
		Handler("add", restate.NewObjectHandler(func(ctx restate.ObjectContext, n int) (int, error) {
			count, err := restate.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			restate.Set(ctx, "count", count+n)
			return count + n, nil
		}))
}

// order names a workflow run: the input of attachOrder.
type order struct {
	Workflow string `json:"workflow"`
	Key      string `json:"key"`
	Item     string `json:"item"`
}

// attachOrder sends the workflow's run one way, then attaches to it by the invocation id the send
// returned (AttachInvocationCommand) and returns its result.
func attachOrder(ctx restate.Context, in order) (string, error) {
	inv := restate.WorkflowSend(ctx, in.Workflow, in.Key, "run").Send(in.Item)
	return restate.AttachInvocation[string](ctx, inv.GetInvocationId()).Response()
}

// clock is the output of sleep.
type clock struct {
	Before int64 `json:"before"`
	After  int64 `json:"after"`
}

// sleep journals the clock before and after a durable sleep of ms milliseconds.
func sleep(ctx restate.Context, ms int) (clock, error) {
	now := func(restate.RunContext) (int64, error) { return time.Now().UnixMilli(), nil }
	before, err := restate.Run(ctx, now, restate.WithName("before"))
	if err != nil {
		return clock{}, err
	}
	if err := restate.Sleep(ctx, time.Duration(ms)*time.Millisecond); err != nil {
		return clock{}, err
	}
	after, err := restate.Run(ctx, now, restate.WithName("after"))
	if err != nil {
		return clock{}, err
	}
	return clock{Before: before, After: after}, nil
}

// callSleep calls TsSteps/sleep(ms) and returns its result (the caller waits on a call).
func callSleep(ctx restate.Context, ms int) (clock, error) {
	return restate.Service[clock](ctx, "TsSteps", "sleep").Request(ms)
}

// flakyInput is the input of flaky.
type flakyInput struct {
	Tag      string `json:"tag"`
	Failures int    `json:"failures"`
}

// attempts counts, per tag, how often flaky ran in this process.
var attempts = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// flaky returns a retryable error on its first in.Failures attempts, then the
// attempt number. Every attempt is an effect line "go <tag> attempt <n>".
func flaky(_ restate.Context, in flakyInput) (int, error) {
	attempts.Lock()
	attempts.n[in.Tag]++
	n := attempts.n[in.Tag]
	attempts.Unlock()
	if err := effects.record(fmt.Sprintf("%s attempt %d", in.Tag, n)); err != nil {
		return 0, err
	}
	if n <= in.Failures {
		return 0, fmt.Errorf("planned failure %d of %s", n, in.Tag)
	}
	return n, nil
}

// workInput is the input of work.
type workInput struct {
	Tag     string `json:"tag"`
	Steps   int    `json:"steps"`
	SleepMs int    `json:"sleepMs"`
}

// work runs in.Steps journaled effects "go <tag> s<i>", a durable sleep of
// in.SleepMs (if > 0) and a last effect "go <tag> done"; it returns in.Steps.
func work(ctx restate.Context, in workInput) (int, error) {
	for i := 1; i <= in.Steps; i++ {
		err := restate.RunVoid(ctx, func(restate.RunContext) error {
			return effects.record(fmt.Sprintf("%s s%d", in.Tag, i))
		}, restate.WithName(fmt.Sprintf("s%d", i)))
		if err != nil {
			return 0, err
		}
	}
	if in.SleepMs > 0 {
		if err := restate.Sleep(ctx, time.Duration(in.SleepMs)*time.Millisecond); err != nil {
			return 0, err
		}
	}
	err := restate.RunVoid(ctx, func(restate.RunContext) error {
		return effects.record(in.Tag + " done")
	}, restate.WithName("done"))
	if err != nil {
		return 0, err
	}
	return in.Steps, nil
}

// effects appends side-effect lines to the -effects file.
type awakeInput struct {
	Tag     string `json:"tag"`
	SleepMs int    `json:"sleepMs"`
}

// awake creates an awakeable, publishes its id as the effect line "go <tag> awakeable <id>"
// (once, through restate.Run), sleeps SleepMs if > 0 (so that a resolution can arrive before it
// awaits), then awaits the awakeable and returns its value; a rejection is returned as the
// terminal error it is.
func awake(ctx restate.Context, in awakeInput) (string, error) {
	a := restate.Awakeable[string](ctx)
	publish := func(restate.RunContext) (restate.Void, error) {
		return restate.Void{}, effects.record(fmt.Sprintf("%s awakeable %s", in.Tag, a.Id()))
	}
	if _, err := restate.Run(ctx, publish, restate.WithName("publish")); err != nil {
		return "", err
	}
	if in.SleepMs > 0 {
		if err := restate.Sleep(ctx, time.Duration(in.SleepMs)*time.Millisecond); err != nil {
			return "", err
		}
	}
	v, err := a.Result()
	if err != nil {
		return "", err
	}
	return v, nil
}

type resolveInput struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// resolveAwakeable resolves another invocation's awakeable from a handler.
func resolveAwakeable(ctx restate.Context, in resolveInput) (string, error) {
	restate.ResolveAwakeable(ctx, in.ID, in.Value)
	return "resolved", nil
}

type signalInput struct {
	Tag   string `json:"tag"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// waitSignal publishes its invocation id as the effect line "go <tag> invocation <id>" (through
// restate.Run), then awaits the named signal and returns its value.
func waitSignal(ctx restate.Context, in signalInput) (string, error) {
	id := ctx.Request().ID
	publish := func(restate.RunContext) (restate.Void, error) {
		return restate.Void{}, effects.record(fmt.Sprintf("%s invocation %s", in.Tag, id))
	}
	if _, err := restate.Run(ctx, publish, restate.WithName("publish")); err != nil {
		return "", err
	}
	v, err := restate.Signal[string](ctx, in.Name).Result()
	if err != nil {
		return "", err
	}
	return v, nil
}

// sendSignal sends the named signal to invocation ID.
func sendSignal(ctx restate.Context, in signalInput) (string, error) {
	restate.ResolveSignal(ctx, in.ID, in.Name, in.Value)
	return "signalled", nil
}

type rejectInput struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// rejectAwakeable rejects another invocation's awakeable from a handler.
func rejectAwakeable(ctx restate.Context, in rejectInput) (string, error) {
	restate.RejectAwakeable(ctx, in.ID, errors.New(in.Reason))
	return "rejected", nil
}

var effects effectLog

type effectLog struct {
	mu   sync.Mutex
	path string
}

func (l *effectLog) record(line string) error {
	if l.path == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("effects: %w", err)
	}
	_, werr := fmt.Fprintf(f, "go %s\n", line)
	return errors.Join(werr, f.Close())
}
