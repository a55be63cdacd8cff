//go:build linux

package crash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

const (
	// timerItems is the number of timers armed before the server is killed:
	// sleeps (half), delayed sends from a handler and delayed sends through
	// the ingress (a quarter each).
	timerItems = 32
	// firstDue is the delay of the earliest timer.
	firstDue = 300 * time.Millisecond
	// relaysPerKill is the number of relays submitted before each kill.
	relaysPerKill = 4
)

// Timer kinds.
const (
	kindSleep   = "sleep"   // Front.sleep: a durable sleep
	kindLater   = "later"   // Front.later: a delayed send to Tally.fired from a handler
	kindIngress = "ingress" // POST /Tally/{key}/fired/send?delay=…
)

// timerItem is one timer the test arms.
type timerItem struct {
	kind, tag, key string
	delay          time.Duration
	// due and id are the execution time (Unix ms) and invocation id the
	// ingress answered, for kindIngress.
	due int64
	id  string
}

// killRecord is one SIGKILL: of what, when it was sent (before), when the
// process was gone (after) and when its successor was ready.
type killRecord struct {
	what                 string // "server", roleFront or roleBack
	before, after, ready int64  // Unix ns
}

// TestTimersAndCallsAcrossKills arms sleeps and delayed sends (from a handler
// and through the ingress) due before, during and after a SIGKILL of the
// server, and runs calls between services in two deployment processes while
// the server, the callee's deployment and the caller's deployment are killed
// in turn. It checks that every sleep and delayed send fires exactly once and
// not before it is due, every call completes with its callee's effect applied
// once, and no Run body runs again unless a kill took its result.
func TestTimersAndCallsAcrossKills(t *testing.T) {
	dir := t.TempDir()
	bin := testenv.ResoluteBinary(t)
	start := time.Now()
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bin, LogDir: dir})
	coldStart := time.Since(start)
	front := startDeployment(t, roleFront, dir)
	back := startDeployment(t, roleBack, dir)
	registerDeployment(t, srv, front, "Front")
	registerDeployment(t, srv, back, "Tally")
	waitRoute(t, srv, "/Front/ping", "")
	waitRoute(t, srv, "/Tally/probe/get", "")

	// The timers are spaced so that about eight fall due while the server
	// is down (a restart takes about as long as the cold start measured),
	// the last ones a few restarts after the kill.
	gap := max(25*time.Millisecond, coldStart/8)
	items := armTimers(t, srv, gap)
	t.Logf("armed %d timers %v apart, due %v to %v from now (cold start %v)",
		len(items), gap, firstDue, firstDue+time.Duration(len(items)-1)*gap, coldStart.Round(time.Millisecond))

	var kills []killRecord
	var relays []relayIn
	// Kill 1, the server: once a sleep woke and a delayed send of each kind
	// fired, while a call's callee is inside its Run body.
	waitEvents(t, srv, "a sleep woken and a delayed send of each kind fired", front, back, func(fe, be []event) bool {
		return hasEvent(fe, evRun, "sleep", "woke", nil) &&
			hasEvent(be, evEnter, "fired", "", func(e event) bool { return e.Tag[0] == 'l' }) &&
			hasEvent(be, evEnter, "fired", "", func(e event) bool { return e.Tag[0] == 'i' })
	})
	relays = append(relays, submitRelays(t, srv, 1)...)
	waitWorkMidRun(t, srv, front, back, relays[len(relays)-relaysPerKill:])
	kills = append(kills, killAndRestart(t, "server", srv.Kill, srv.Restart))
	// Kill 2, the callee's deployment, inside Tally.apply's Run body.
	relays = append(relays, submitRelays(t, srv, 2)...)
	waitWorkMidRun(t, srv, front, back, relays[len(relays)-relaysPerKill:])
	kills = append(kills, killAndRestart(t, roleBack, back.kill, func() { back.start(t) }))
	// Kill 3, the caller's deployment, while it waits for a call's result.
	relays = append(relays, submitRelays(t, srv, 3)...)
	waitWorkMidRun(t, srv, front, back, relays[len(relays)-relaysPerKill:])
	kills = append(kills, killAndRestart(t, roleFront, front.kill, func() { front.start(t) }))

	out := settle(t, srv, items, relays)
	srv.Stop()
	fe, be := front.events(t), back.events(t)
	rep := checkTimersAndCalls(t, items, relays, out, kills, append(fe, be...))
	rep.log(t, kills)
	rep.assertNotVacuous(t)
}

// deployment is a deployment process (the test binary re-executed) that can
// be killed and restarted on the same port and event file.
type deployment struct {
	role, addr, eventPath, logDir string
	starts                        int
	proc                          *testenv.Proc
}

func startDeployment(t *testing.T, role, dir string) *deployment {
	t.Helper()
	d := &deployment{role: role, addr: testenv.Addr(testenv.FreePorts(t, 1)[0]),
		eventPath: filepath.Join(dir, role+".events"), logDir: dir}
	d.start(t)
	return d
}

func (d *deployment) start(t *testing.T) {
	t.Helper()
	d.starts++
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"="+d.role, addrEnv+"="+d.addr, eventsEnv+"="+d.eventPath)
	d.proc = testenv.StartProc(t, fmt.Sprintf("%s.%d", d.role, d.starts), d.logDir, cmd)
	testenv.WaitReady(t, d.role+" health", 30*time.Second, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, d.uri()+"/health", http.StatusOK)
	}, d.proc)
}

func (d *deployment) uri() string { return "http://" + d.addr }

func (d *deployment) kill() { d.proc.Kill() }

func (d *deployment) events(t *testing.T) []event {
	t.Helper()
	evs, err := readEvents(d.eventPath)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func registerDeployment(t *testing.T, srv *testenv.Server, d *deployment, service string) {
	t.Helper()
	reg, err := testenv.Register(srv.Admin, d.uri())
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.ServiceNames(); !slices.Equal(got, []string{service}) {
		t.Fatalf("register %s: services %v, want [%s]", d.uri(), got, service)
	}
}

// waitRoute waits until the ingress answers 200 to a call of path.
func waitRoute(t *testing.T, srv *testenv.Server, path, body string) {
	t.Helper()
	testenv.WaitReady(t, "ingress route "+path, testenv.ServerReadyTimeout, func() error {
		r, err := testenv.Invoke(srv.Ingress, path, body)
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("POST %s: %v", path, r)
		}
		return nil
	}, srv.Proc())
}

// armTimers submits the timers, item i due firstDue+i*gap after its
// submission, each as a one-way send with its tag as idempotency key.
func armTimers(t *testing.T, srv *testenv.Server, gap time.Duration) []timerItem {
	t.Helper()
	items := make([]timerItem, timerItems)
	for i := range items {
		it := &items[i]
		it.delay = firstDue + time.Duration(i)*gap
		it.key = fmt.Sprintf("k%d", i%3)
		switch i % 4 {
		case 0, 2:
			it.kind, it.tag = kindSleep, fmt.Sprintf("s%02d", i)
		case 1:
			it.kind, it.tag = kindLater, fmt.Sprintf("l%02d", i)
		case 3:
			it.kind, it.tag = kindIngress, fmt.Sprintf("i%02d", i)
		}
		path, body := it.sendPath(), it.body()
		r := retry(t, srv, "arm "+it.tag, func() (testenv.Reply, error) {
			return testenv.Post(client, srv.Ingress+path, body, http.Header{"Idempotency-Key": {it.tag}})
		})
		var ans struct {
			InvocationID  string `json:"invocationId"`
			ExecutionTime string `json:"executionTime"`
		}
		if r.Status != http.StatusAccepted || json.Unmarshal(r.Body, &ans) != nil {
			t.Fatalf("arm %s: POST %s: %v, want 202", it.tag, path, r)
		}
		if it.kind == kindIngress {
			due, err := time.Parse(time.RFC3339Nano, ans.ExecutionTime)
			if err != nil {
				t.Fatalf("arm %s: execution time %q: %v", it.tag, ans.ExecutionTime, err)
			}
			it.due, it.id = due.UnixMilli(), ans.InvocationID
		}
	}
	return items
}

// callPath is the ingress path that runs (or, with the idempotency key,
// attaches to) the item's invocation.
func (it timerItem) callPath() string {
	switch it.kind {
	case kindSleep:
		return "/Front/sleep"
	case kindLater:
		return "/Front/later"
	}
	return "/Tally/" + it.key + "/fired"
}

func (it timerItem) sendPath() string {
	if it.kind == kindIngress {
		return fmt.Sprintf("%s/send?delay=%dms", it.callPath(), it.delay.Milliseconds())
	}
	return it.callPath() + "/send"
}

func (it timerItem) body() string {
	var v any = firedIn{Tag: it.tag}
	switch it.kind {
	case kindSleep:
		v = sleepIn{Tag: it.tag, Ms: it.delay.Milliseconds()}
	case kindLater:
		v = laterIn{Tag: it.tag, Key: it.key, Ms: it.delay.Milliseconds()}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// submitRelays sends relaysPerKill relays of round n one-way, each calling
// Tally.apply on a key of its own.
func submitRelays(t *testing.T, srv *testenv.Server, n int) []relayIn {
	t.Helper()
	out := make([]relayIn, relaysPerKill)
	for i := range out {
		in := relayIn{Tag: fmt.Sprintf("r%d-%d", n, i), Key: fmt.Sprintf("rk%d-%d", n, i)}
		out[i] = in
		r := retry(t, srv, "relay "+in.Tag, func() (testenv.Reply, error) {
			return testenv.Post(client, srv.Ingress+"/Front/relay/send", relayBody(in), http.Header{"Idempotency-Key": {in.Tag}})
		})
		if r.Status != http.StatusAccepted {
			t.Fatalf("relay %s: %v, want 202", in.Tag, r)
		}
	}
	return out
}

func relayBody(in relayIn) string {
	b, _ := json.Marshal(in)
	return string(b)
}

// waitEvents polls both event files every 10 ms until cond holds.
func waitEvents(t *testing.T, srv *testenv.Server, what string, front, back *deployment, cond func(fe, be []event) bool) {
	t.Helper()
	deadline := time.Now().Add(kickTimeout)
	for !cond(front.events(t), back.events(t)) {
		for _, p := range []*testenv.Proc{srv.Proc(), front.proc, back.proc} {
			if gone, err := p.Exited(); gone {
				t.Fatalf("waiting for %s: %s exited: %v", what, p.Name, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, kickTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitWorkMidRun waits until Tally.apply's Run body of one of relays has
// started and not returned, and its caller has made the call.
func waitWorkMidRun(t *testing.T, srv *testenv.Server, front, back *deployment, relays []relayIn) {
	t.Helper()
	tags := map[string]bool{}
	for _, r := range relays {
		tags[r.Tag] = true
	}
	waitEvents(t, srv, "a call's callee inside its Run body", front, back, func(fe, be []event) bool {
		ran := map[string]bool{}
		for _, e := range be {
			if e.Kind == evRan {
				ran[e.Token] = true
			}
		}
		return hasEvent(be, evRun, "apply", "work", func(e event) bool { return tags[e.Tag] && !ran[e.Token] }) &&
			hasEvent(fe, evCall, "relay", "", func(e event) bool { return tags[e.Tag] })
	})
}

// hasEvent reports whether evs hold an event of kind, handler and step (any
// step if empty) for which match (if not nil) holds.
func hasEvent(evs []event, kind, handler, step string, match func(event) bool) bool {
	return slices.ContainsFunc(evs, func(e event) bool {
		return e.Kind == kind && e.Handler == handler && (step == "" || e.Step == step) && (match == nil || match(e))
	})
}

func killAndRestart(t *testing.T, what string, kill, restart func()) killRecord {
	t.Helper()
	k := killRecord{what: what, before: time.Now().UnixNano()}
	kill()
	k.after = time.Now().UnixNano()
	restart()
	k.ready = time.Now().UnixNano()
	t.Logf("killed %s (SIGKILL); its successor was ready after %v", what, time.Duration(k.ready-k.after).Round(time.Millisecond))
	return k
}

// settled is what the final attaches and reads returned.
type settled struct {
	results map[string]testenv.Reply // by tag
	counts  map[string]int           // Tally counts by tag, over every key
}

// settle attaches to every timer and relay by its idempotency key (waiting
// for the last timers) and reads the Tally counts of every key.
func settle(t *testing.T, srv *testenv.Server, items []timerItem, relays []relayIn) settled {
	t.Helper()
	type req struct{ tag, path, body string }
	var reqs []req
	keys := map[string]bool{}
	for _, it := range items {
		reqs = append(reqs, req{it.tag, it.callPath(), it.body()})
		keys[it.key] = true
	}
	for _, r := range relays {
		reqs = append(reqs, req{r.Tag, "/Front/relay", relayBody(r)})
		keys[r.Key] = true
	}
	out := settled{results: map[string]testenv.Reply{}, counts: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(settleTimeout)
	for _, rq := range reqs {
		wg.Go(func() {
			r, err := retryUntil(deadline, func() (testenv.Reply, error) {
				return testenv.Post(client, srv.Ingress+rq.path, rq.body, http.Header{"Idempotency-Key": {rq.tag}})
			})
			if err != nil {
				r = testenv.Reply{Body: []byte(err.Error())}
			}
			mu.Lock()
			defer mu.Unlock()
			out.results[rq.tag] = r
		})
	}
	wg.Wait()
	for key := range keys {
		r := retry(t, srv, "get "+key, func() (testenv.Reply, error) {
			return testenv.Invoke(srv.Ingress, "/Tally/"+key+"/get", "")
		})
		var counts map[string]int
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &counts) != nil {
			t.Fatalf("get %s: %v", key, r)
		}
		for tag, n := range counts {
			out.counts[tag] += n
		}
	}
	return out
}
