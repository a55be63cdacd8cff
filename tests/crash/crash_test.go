//go:build linux

package crash

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

const (
	numOps  = 300
	numKeys = 10
	// quietOps are submitted last, while Run bodies are held at the gate, for
	// the kill with no submission in flight.
	quietOps = 30
	workers  = 6
	// midKills is the number of kills while submissions run.
	midKills = 3
	// workerPause spaces one worker's submissions, so the workload spans the kills.
	workerPause = 6 * time.Millisecond
	// kickTimeout bounds the wait for an event the schedule needs (an ack, a
	// Run body starting); the server is busy, so these come within milliseconds.
	kickTimeout = 20 * time.Second
	// settleTimeout bounds the final resends and attaches.
	settleTimeout = 60 * time.Second
)

// kill is what was true when the server was killed.
type kill struct {
	name          string
	ackedBefore   int // acks from earlier server processes
	inFlight      int // operations whose handler had started and not returned
	sendsInFlight int
	gated         int // Run bodies held at the gate (quiet kill)
}

// TestCrashRecovery kills the server (SIGKILL) midKills+1 times under a workload
// of idempotent sends and checks that nothing acknowledged is lost, no
// journaled Run body runs again and no state write is lost or doubled.
func TestCrashRecovery(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	rec := newRecorder()
	deployment := serveLedger(t, rec)
	srv := testenv.StartServer(t, testenv.ServerConfig{})
	register(t, srv, deployment)

	ops := makeOps(rng, numOps, numKeys)
	w := newWorkload(srv.Ingress)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ops[:numOps-quietOps], workers, workerPause, seed)
	}()
	var kills []kill
	for k := 1; k <= midKills; k++ {
		// Spread the kills over the submissions, each at a seeded ack count
		// and a seeded 0-3 ms after a Run body starts: in the body, or just
		// after it, while its result, a state write or the output is journaled.
		span := (numOps - quietOps) / (midKills + 1)
		threshold := max(k*span-span/3+rng.IntN(span*2/3), w.ackCount()+10)
		jitter := time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
		waitAcks(t, w, threshold, done)
		waitRunStart(t, rec)
		time.Sleep(jitter)
		kills = append(kills, crash(t, srv, w, rec, fmt.Sprintf("kill %d (mid-workload, %d acks, %v after a Run body started)", k, threshold, jitter.Round(10*time.Microsecond))))
	}
	<-done
	kills = append(kills, quietKill(t, srv, w, rec, ops[numOps-quietOps:]))

	resent := resendUnacked(t, srv, w)
	results := attachAll(t, srv, ops)
	views := readLedgers(t, srv)
	srv.Stop()

	rep := verify(t, rec, w, ops, results, views, len(kills))
	rep.kills, rep.resent, rep.seed = kills, resent, seed
	rep.log(t)
	assertNotVacuous(t, rep, w)
}

// crashSeed is RESOLUTE_CRASH_SEED, or a fresh seed; it is printed either way.
func crashSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RESOLUTE_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RESOLUTE_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay the schedule with RESOLUTE_CRASH_SEED=%d)", seed, seed)
	return seed
}

// serveLedger serves the Ledger object over h2c on a loopback port and
// returns its URI.
func serveLedger(t *testing.T, rec *recorder) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sdk.NewEndpoint().Bind(ledgerObject(rec)).Handler()}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

func register(t *testing.T, srv *testenv.Server, uri string) {
	reg, err := testenv.Register(srv.Admin, uri)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.ServiceNames(); !slices.Equal(got, []string{"Ledger"}) {
		t.Fatalf("register %s: services %v, want [Ledger]", uri, got)
	}
	testenv.WaitReady(t, "ingress route to Ledger", testenv.ServerReadyTimeout, func() error {
		r, err := testenv.Invoke(srv.Ingress, "/Ledger/probe/get", "")
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("POST /Ledger/probe/get: %v", r)
		}
		return nil
	}, srv.Proc())
	t.Logf("registered %s as %s", uri, reg.ID)
}

// waitAcks waits until n sends were acknowledged; the workload must not end first.
func waitAcks(t *testing.T, w *workload, n int, done <-chan struct{}) {
	t.Helper()
	deadline := time.After(kickTimeout)
	for w.ackCount() < n {
		select {
		case <-w.ackedCh:
		case <-done:
			if w.ackCount() < n {
				t.Fatalf("workload ended with %d acks, before the kill planned after %d", w.ackCount(), n)
			}
		case <-deadline:
			t.Fatalf("only %d acks after %v, want %d", w.ackCount(), kickTimeout, n)
		}
	}
}

// waitRunStart waits for the next Run body to start, so the kill lands while
// a handler is mid-run.
func waitRunStart(t *testing.T, rec *recorder) {
	t.Helper()
	select {
	case <-rec.started:
	default:
	}
	select {
	case <-rec.started:
	case <-time.After(kickTimeout):
		t.Fatalf("no Run body started within %v", kickTimeout)
	}
}

// crash kills the server and restarts it on the same data dir and ports.
func crash(t *testing.T, srv *testenv.Server, w *workload, rec *recorder, name string) kill {
	t.Helper()
	w.markDown()
	k := kill{name: name, ackedBefore: w.ackCount(), inFlight: rec.inFlight(), sendsInFlight: w.sendsInFlight(), gated: rec.gated()}
	srv.Kill()
	t.Logf("%s: %d acks so far, %d handlers in flight, %d sends in flight", name, k.ackedBefore, k.inFlight, k.sendsInFlight)
	start := time.Now()
	srv.Restart()
	t.Logf("%s: restarted, ready after %v", name, time.Since(start).Round(time.Millisecond))
	w.markUp()
	return k
}

// quietKill submits the last operations while every Run body that starts is
// held at the gate, waits until all sends are acknowledged and some bodies
// are held, and kills the server: handlers are mid-run, no submission is in
// flight, and the held bodies' results cannot have been journaled.
func quietKill(t *testing.T, srv *testenv.Server, w *workload, rec *recorder, quiet []op) kill {
	t.Helper()
	rec.armGate()
	released := false
	defer func() {
		if !released {
			rec.releaseGate()
		}
	}()
	w.run(quiet, workers, 0, 0)
	testenv.WaitReady(t, "Run bodies held at the gate", kickTimeout, func() error {
		if n := rec.gated(); n == 0 {
			return fmt.Errorf("no Run body held at the gate")
		}
		return nil
	}, srv.Proc())
	if n := w.sendsInFlight(); n != 0 {
		t.Fatalf("quiet kill: %d sends in flight, want none", n)
	}
	w.markDown()
	k := kill{name: fmt.Sprintf("kill %d (quiet: no sends in flight, Run bodies held)", midKills+1), ackedBefore: w.ackCount(), inFlight: rec.inFlight(), gated: rec.gated()}
	srv.Kill()
	rec.releaseGate()
	released = true
	t.Logf("%s: %d acks so far, %d handlers in flight, %d Run bodies held", k.name, k.ackedBefore, k.inFlight, k.gated)
	srv.Restart()
	w.markUp()
	return k
}

// resendUnacked re-sends every operation that never got a 202, with the same
// idempotency key; each must now answer 202 Accepted or PreviouslyAccepted.
func resendUnacked(t *testing.T, srv *testenv.Server, w *workload) map[string]int {
	t.Helper()
	w.mu.Lock()
	unacked := slices.Clone(w.mu.unacked)
	w.mu.Unlock()
	statuses := map[string]int{}
	for _, o := range unacked {
		r := retry(t, srv, "resend "+o.ID, func() (testenv.Reply, error) { return send(srv.Ingress, o) })
		st := sendStatus(r)
		if r.Status != http.StatusAccepted || (st != "Accepted" && st != "PreviouslyAccepted") {
			t.Errorf("resend %s: %v, want 202 Accepted or PreviouslyAccepted", o.ID, r)
			continue
		}
		statuses[st]++
		w.recordAck(o, ack{status: st, epoch: -1})
	}
	return statuses
}

// attachAll calls every operation with its idempotency key, concurrently, and
// returns the answers by op id.
func attachAll(t *testing.T, srv *testenv.Server, ops []op) map[string]testenv.Reply {
	t.Helper()
	var mu sync.Mutex
	out := map[string]testenv.Reply{}
	errs := map[string]error{}
	next := make(chan op)
	var wg sync.WaitGroup
	deadline := time.Now().Add(settleTimeout)
	for range 16 {
		wg.Go(func() {
			for o := range next {
				r, err := retryUntil(deadline, func() (testenv.Reply, error) { return attach(srv.Ingress, o) })
				mu.Lock()
				out[o.ID], errs[o.ID] = r, err
				mu.Unlock()
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
	for _, o := range ops {
		if err := errs[o.ID]; err != nil {
			t.Errorf("attach %s (key %s): %v", o.ID, o.Key, err)
		}
	}
	return out
}

// readLedgers reads every ledger through the shared get handler.
func readLedgers(t *testing.T, srv *testenv.Server) map[string]ledgerView {
	t.Helper()
	views := map[string]ledgerView{}
	for i := range numKeys {
		key := fmt.Sprintf("acct-%d", i)
		r := retry(t, srv, "get "+key, func() (testenv.Reply, error) {
			return testenv.Invoke(srv.Ingress, "/Ledger/"+key+"/get", "")
		})
		var v ledgerView
		if r.Status != 200 || json.Unmarshal(r.Body, &v) != nil {
			t.Errorf("get %s: %v", key, r)
			continue
		}
		views[key] = v
	}
	return views
}

// retry repeats call while the server answers 5xx or the connection fails,
// until settleTimeout; other answers are returned as they are.
func retry(t *testing.T, srv *testenv.Server, what string, call func() (testenv.Reply, error)) testenv.Reply {
	t.Helper()
	r, err := retryUntil(time.Now().Add(settleTimeout), call)
	if err != nil {
		if gone, exitErr := srv.Proc().Exited(); gone {
			t.Fatalf("%s: %v (server exited: %v)", what, err, exitErr)
		}
		t.Fatalf("%s: %v", what, err)
	}
	return r
}

func retryUntil(deadline time.Time, call func() (testenv.Reply, error)) (testenv.Reply, error) {
	for {
		r, err := call()
		if err == nil && r.Status < 500 {
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("still failing at the deadline: %v", errOr(err, r))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
