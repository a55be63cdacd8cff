//go:build linux

package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// The tests in this file show that ctx.Rand and ctx.UUID are deterministic per invocation: an
// attempt replaying the journal (after a retryable error, after the SDK process was SIGKILLed,
// after the server restarted) draws exactly what the first attempt drew, and two invocations draw
// different values. The seed comes from StartMessage.random_seed on V6 and V7 and from the
// invocation id on V5, so each test runs at every version.

var randVersions = []protocol.Version{protocol.V5, protocol.V6, protocol.V7}

// draws are values taken from ctx.Rand and ctx.UUID, in this order.
type draws struct {
	U64  uint64
	N    int
	UUID string
}

func draw(ctx sdk.Context) draws {
	return draws{U64: ctx.Rand().Uint64(), N: ctx.Rand().IntN(1 << 30), UUID: ctx.UUID()}
}

// attempt is what one execution of Rand/draw saw: the draws made before its Run, the Run's
// journaled result (the draws of the attempt that ran it), and the draws made after the Run.
type attempt struct {
	Before, Journaled, After draws
}

// drawEndpoint serves Rand/draw, which calls hook once it has drawn everything; hook's error is
// the handler's (a plain error makes the runtime retry).
func drawEndpoint(hook func(ctx sdk.Context, a attempt) error) *sdk.Endpoint {
	svc := sdk.NewService("Rand").Handler("draw", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (attempt, error) {
		a := attempt{Before: draw(ctx)}
		j, err := sdk.Run(ctx, func(sdk.RunContext) (draws, error) { return a.Before, nil }, sdk.WithName("journal draws"))
		if err != nil {
			return attempt{}, err
		}
		a.Journaled = j
		a.After = draw(ctx)
		return a, hook(ctx, a)
	}))
	return sdk.NewEndpoint().Bind(svc)
}

// startRandServer starts an in-process server on dir that speaks at most protocol v and retries
// quickly (a replaced SDK process is found within a fifth of a second).
func startRandServer(t *testing.T, dir string, v protocol.Version) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{MaxProtocol: v, Retry: invoker.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 200 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func registerInProcess(t *testing.T, s *server.Server, ep *sdk.Endpoint) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.RegisterInProcess(ctx, "rand", ep); err != nil {
		t.Fatal(err)
	}
}

// callDraw calls Rand/draw through the ingress and waits for its result.
func callDraw(ingress string) (attempt, error) {
	var a attempt
	resp, err := http.Post(ingress+"/Rand/draw", "application/json", bytes.NewReader([]byte(`"x"`)))
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("Rand/draw: status %d: %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("Rand/draw: decode %s: %w", body, err)
	}
	return a, nil
}

// sameDraws fails t unless every attempt drew what first drew, and its Run returned first's draws.
func sameDraws(t *testing.T, what string, first attempt, later ...attempt) {
	t.Helper()
	if first.Journaled != first.Before {
		t.Errorf("%s: first attempt's Run returned %+v, want its own draws %+v", what, first.Journaled, first.Before)
	}
	for i, a := range later {
		if a.Before != first.Before || a.Journaled != first.Before || a.After != first.After {
			t.Errorf("%s: attempt %d drew %+v, want the first attempt's %+v", what, i+2, a, first)
		}
	}
}

// distinctDraws fails t if two invocations drew an equal value.
func distinctDraws(t *testing.T, invocations []attempt) {
	t.Helper()
	for i := range invocations {
		for j := range i {
			a, b := invocations[i], invocations[j]
			for _, d := range [][2]draws{{a.Before, b.Before}, {a.After, b.After}} {
				if d[0].U64 == d[1].U64 || d[0].N == d[1].N || d[0].UUID == d[1].UUID {
					t.Errorf("invocations %d and %d drew an equal value: %+v and %+v", j, i, d[1], d[0])
				}
			}
		}
	}
}

// TestRandSameOnReplay: each invocation fails twice after drawing, so its third attempt replays
// the journal; all three attempts draw the same values, and three invocations draw different ones.
func TestRandSameOnReplay(t *testing.T) {
	const attempts = 3
	for _, v := range randVersions {
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string][]attempt{}
			s := startRandServer(t, t.TempDir(), v)
			registerInProcess(t, s, drawEndpoint(func(ctx sdk.Context, a attempt) error {
				mu.Lock()
				defer mu.Unlock()
				seen[ctx.InvocationID()] = append(seen[ctx.InvocationID()], a)
				if n := len(seen[ctx.InvocationID()]); n < attempts {
					return fmt.Errorf("attempt %d fails so that the next one replays", n)
				}
				return nil
			}))
			var results []attempt
			for range 3 {
				a, err := callDraw(s.IngressURL())
				if err != nil {
					t.Fatal(err)
				}
				results = append(results, a)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != len(results) {
				t.Fatalf("%d invocations ran, want %d", len(seen), len(results))
			}
			for id, as := range seen {
				if len(as) != attempts {
					t.Errorf("%s: %d attempts, want %d (the hook fails exactly %d)", id, len(as), attempts, attempts-1)
					continue
				}
				sameDraws(t, id, as[0], as[1:]...)
			}
			distinctDraws(t, results)
		})
	}
}

// TestRandSameAfterCrash: the first attempt draws, journals its draws with Run, and is then cut
// off: its SDK process is SIGKILLed (a new process takes over the deployment's address), or the
// server is closed under it and started again on the same data directory. The attempt that
// finishes the invocation draws what the first one drew, and invocations differ from each other.
func TestRandSameAfterCrash(t *testing.T) {
	for _, v := range randVersions {
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) {
			var invocations []attempt
			t.Run("sdk-sigkill", func(t *testing.T) { invocations = append(invocations, drawAcrossSDKKill(t, v)...) })
			t.Run("server-restart", func(t *testing.T) { invocations = append(invocations, drawAcrossServerRestart(t, v)) })
			if !t.Failed() {
				distinctDraws(t, invocations)
			}
		})
	}
}

// drawAcrossSDKKill runs one invocation whose first attempt runs in an SDK process that is
// SIGKILLed once the draws are journaled, and returns the invocation's result.
func drawAcrossSDKKill(t *testing.T, v protocol.Version) []attempt {
	s := startRandServer(t, t.TempDir(), v)
	addr := testenv.Addr(testenv.FreePorts(t, 1)[0])
	report := filepath.Join(t.TempDir(), "attempt.json")
	first := startDrawChild(t, "sdk.1", addr, report, true)
	testenv.WaitReady(t, "register the SDK process", time.Minute, func() error {
		_, err := s.Register(t.Context(), "http://"+addr+"/", false)
		return err
	}, first)

	type result struct {
		a   attempt
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := callDraw(s.IngressURL())
		done <- result{a, err}
	}()
	var killed attempt
	testenv.WaitReady(t, "first attempt's draws", time.Minute, func() error { return readAttempt(report, &killed) }, first)
	first.Kill()
	if err := os.Remove(report); err != nil {
		t.Fatal(err)
	}
	second := startDrawChild(t, "sdk.2", addr, report, false)
	var r result
	select {
	case r = <-done:
	case <-second.Done():
		t.Fatal("the second SDK process exited")
	case <-time.After(time.Minute): // a hang guard, not a timing claim
		t.Fatal("the invocation did not finish after the SDK process was replaced")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	var replayed attempt
	if err := readAttempt(report, &replayed); err != nil {
		t.Fatalf("the second SDK process ran no attempt: %v", err)
	}
	if replayed != r.a {
		t.Errorf("the result %+v is not what the second process drew, %+v", r.a, replayed)
	}
	sameDraws(t, "across SIGKILL of the SDK process", killed, r.a)
	return []attempt{r.a}
}

// drawAcrossServerRestart runs one invocation whose first attempt is cut off by closing the
// server, then restarts the server on the same data directory and returns the attempt that
// finishes the invocation.
func drawAcrossServerRestart(t *testing.T, v protocol.Version) attempt {
	dir := t.TempDir()
	cut, finished := make(chan attempt, 1), make(chan attempt, 1)
	s := startRandServer(t, dir, v)
	registerInProcess(t, s, drawEndpoint(func(ctx sdk.Context, a attempt) error {
		cut <- a
		<-ctx.Done() // held until the server goes away
		return ctx.Err()
	}))
	resp, err := http.Post(s.IngressURL()+"/Rand/draw/send", "application/json", bytes.NewReader([]byte(`"x"`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send: status %d", resp.StatusCode)
	}
	first := receive(t, cut, "the first attempt")
	s.Close()

	s = startRandServer(t, dir, v)
	registerInProcess(t, s, drawEndpoint(func(_ sdk.Context, a attempt) error {
		select {
		case finished <- a:
		default:
		}
		return nil
	}))
	last := receive(t, finished, "an attempt after the restart")
	sameDraws(t, "across a server restart", first, last)
	return last
}

func receive(t *testing.T, c <-chan attempt, what string) attempt {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(time.Minute): // a hang guard, not a timing claim
		t.Fatalf("%s never ran", what)
		return attempt{}
	}
}

// The test binary doubles as the SDK process of drawAcrossSDKKill: with drawChildAddr set it
// serves drawEndpoint there, writing each attempt to the file drawChildReport and, with
// drawChildHold=1, hanging afterwards until it is killed.
const (
	drawChildAddr   = "RESOLUTE_SDK_DRAW_ADDR"
	drawChildReport = "RESOLUTE_SDK_DRAW_REPORT"
	drawChildHold   = "RESOLUTE_SDK_DRAW_HOLD"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(drawChildAddr); addr != "" {
		err := serveDrawChild(addr, os.Getenv(drawChildReport), os.Getenv(drawChildHold) == "1")
		fmt.Fprintln(os.Stderr, "draw child:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func serveDrawChild(addr, report string, hold bool) error {
	ep := drawEndpoint(func(ctx sdk.Context, a attempt) error {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := os.WriteFile(report+".tmp", b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(report+".tmp", report); err != nil {
			return err
		}
		for hold {
			time.Sleep(time.Hour) // until SIGKILL
		}
		return nil
	})
	return ep.ListenAndServe(addr)
}

func startDrawChild(t *testing.T, name, addr, report string, hold bool) *testenv.Proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), drawChildAddr+"="+addr, drawChildReport+"="+report, fmt.Sprintf("%s=%d", drawChildHold, map[bool]int{true: 1}[hold]))
	return testenv.StartProc(t, name, t.TempDir(), cmd)
}

func readAttempt(path string, a *attempt) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, a); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
