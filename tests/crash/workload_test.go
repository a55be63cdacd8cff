//go:build linux

package crash

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// client talks to the ingress; requests carrying an idempotency-key may be
// retried by net/http on a connection that broke before use, which is safe.
var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 32},
}

// makeOps returns n operations over keys ledgers, with distinct amounts, in a
// seeded random submission order.
func makeOps(rng *rand.Rand, n, keys int) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = op{ID: fmt.Sprintf("op-%03d", i), Key: fmt.Sprintf("acct-%d", i%keys), Amount: 1000 + i}
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	return ops
}

func opBody(o op) string {
	b, _ := json.Marshal(o)
	return string(b)
}

func idemHeader(o op) http.Header { return http.Header{"Idempotency-Key": {o.ID}} }

// send submits o one-way: POST /Ledger/{key}/apply/send with its idempotency key.
func send(ingress string, o op) (testenv.Reply, error) {
	return testenv.Post(client, ingress+"/Ledger/"+o.Key+"/apply/send", opBody(o), idemHeader(o))
}

// attach calls o with its idempotency key, which attaches to the invocation
// that key names and answers its result.
func attach(ingress string, o op) (testenv.Reply, error) {
	return testenv.Post(client, ingress+"/Ledger/"+o.Key+"/apply", opBody(o), idemHeader(o))
}

// sendStatus decodes the status of a 202 answer to a send.
func sendStatus(r testenv.Reply) string {
	var v struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Status
}

// ack is the 202 answer to an operation's send.
type ack struct {
	status string // Accepted or PreviouslyAccepted
	epoch  int    // kills before the request was sent: the server process that accepted it
}

// workload tracks the server's availability as the test's main goroutine
// kills and restarts it, and what the submitting workers got.
//
// Invariant: kills only grows; up is closed exactly when the server is ready.
// A worker sends only while up is closed, and a send that fails after kills
// changed (or while down) is given up: the operation is left unacknowledged
// for the final resend, as a client that lost its connection would.
type workload struct {
	ingress string
	mu      struct {
		sync.Mutex
		kills    int
		up       chan struct{}
		acked    map[string]ack
		unacked  []op
		failures []string // why sends were given up
		sending  int      // sends in flight
	}
	ackedCh chan struct{} // an ack arrived (non-blocking send; capacity 1)
}

func newWorkload(ingress string) *workload {
	w := &workload{ingress: ingress, ackedCh: make(chan struct{}, 1)}
	w.mu.up = make(chan struct{})
	close(w.mu.up)
	w.mu.acked = map[string]ack{}
	return w
}

// markDown is called before the server is killed.
func (w *workload) markDown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.kills++
	w.mu.up = make(chan struct{})
}

// markUp is called once the restarted server is ready.
func (w *workload) markUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.mu.up)
}

// state returns the kill count and the channel closed while the server is up.
func (w *workload) state() (int, chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.kills, w.mu.up
}

func (w *workload) ackCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.mu.acked)
}

// acksIn counts acknowledgements from the server process of epoch e.
func (w *workload) acksIn(e int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.mu.acked {
		if a.epoch == e {
			n++
		}
	}
	return n
}

func (w *workload) sendsInFlight() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.sending
}

// run submits ops with n concurrent workers, each pausing 0-pause between
// operations, and returns when all were sent or given up.
func (w *workload) run(ops []op, n int, pause time.Duration, seed uint64) {
	next := make(chan op)
	var wg sync.WaitGroup
	for i := range n {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			for o := range next {
				w.submit(o)
				time.Sleep(time.Duration(rng.Int64N(int64(pause) + 1)))
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
}

// maxSendTries bounds the retries of a send that fails while the server was
// not killed (for example 503 while partitions elect leaders after a restart).
const maxSendTries = 50

// submit sends o until it is acknowledged, or gives it up when the server is
// killed under the request.
func (w *workload) submit(o op) {
	for try := 1; ; try++ {
		kills, up := w.state()
		<-up
		w.setSending(+1)
		r, err := send(w.ingress, o)
		w.setSending(-1)
		if err == nil && r.Status == http.StatusAccepted {
			w.recordAck(o, ack{status: sendStatus(r), epoch: kills})
			return
		}
		why := fmt.Sprintf("%s (epoch %d, try %d): %v", o.ID, kills, try, errOr(err, r))
		if now, _ := w.state(); now != kills || try == maxSendTries {
			w.giveUp(o, why)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errOr(err error, r testenv.Reply) any {
	if err != nil {
		return err
	}
	return r
}

func (w *workload) setSending(d int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.sending += d
}

func (w *workload) recordAck(o op, a ack) {
	w.mu.Lock()
	w.mu.acked[o.ID] = a
	w.mu.Unlock()
	select {
	case w.ackedCh <- struct{}{}:
	default:
	}
}

func (w *workload) giveUp(o op, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.unacked = append(w.mu.unacked, o)
	w.mu.failures = append(w.mu.failures, why)
}
