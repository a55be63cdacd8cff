//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// resolution is one resolution or rejection of an awakeable that the
// checker sent to ingress (POST /restate/awakeables/{id}/resolve|reject),
// retried on connection errors and 5xx until ingress answered 202.
type resolution struct {
	// awakeable is the id resolved: the op's first, or a later one (the id
	// changed, or the op ran twice), resolved once so that it does not hang
	// the drain.
	awakeable string
	tag       string // the value (sent as a JSON string) or the rejection message: unique per resolution
	reject    bool
	second    bool  // the second of two, sent after the first was acknowledged (it must lose)
	race      bool  // one of two sent at once (either may win)
	atKill    bool  // held back and sent as a kill began
	sent      int64 // ns since the start, before the first attempt; 0: never sent
	acked     int64 // ns since the start when the 202 was read; 0: never
	tries     int
	fail      string // an answer that is neither 202 nor retryable
}

// awaited is what the checker learned of one Workflowish.await op through
// the execution log, and the resolutions it sent.
type awaited struct {
	ids []string // the distinct awakeable ids the op reported: one, unless the id changed on replay
	res []*resolution
}

// resolver watches the execution log for the awakeable ids Workflowish.await
// reports, and resolves or rejects each (once, twice in sequence, or twice
// at once), after a seeded delay; some are held back until the next kill
// begins, so that their requests are in flight when it lands. Its goroutines
// stop when ctx ends or finish returns.
type resolver struct {
	c        *client
	execLog  string
	seed     uint64
	ctx      context.Context
	cancel   context.CancelFunc
	stopTail context.CancelFunc
	tailed   chan struct{} // closed when the tail loop returned
	wg       sync.WaitGroup
	mu       struct {
		sync.Mutex
		ops      map[string]*awaited
		gate     chan struct{} // closed when the next kill begins, or at release
		released bool
		off      int64
		err      error
	}
}

// tailEvery is how often the resolver reads the execution log.
const tailEvery = 20 * time.Millisecond

func startResolver(ctx context.Context, c *client, execLog string, seed uint64) *resolver {
	r := &resolver{c: c, execLog: execLog, seed: seed, tailed: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	tailCtx, stopTail := context.WithCancel(r.ctx)
	r.stopTail = stopTail
	r.mu.ops = map[string]*awaited{}
	r.mu.gate = make(chan struct{})
	go func() {
		defer close(r.tailed)
		for tailCtx.Err() == nil {
			r.tail()
			sleepCtx(tailCtx, tailEvery)
		}
	}()
	return r
}

// tail reads the new records of the execution log and starts resolving
// each awakeable seen for the first time.
func (r *resolver) tail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	execs, off, err := deployment.ReadExecLogFrom(r.execLog, r.mu.off)
	r.mu.off = off
	if err != nil && r.mu.err == nil {
		r.mu.err = err
	}
	for _, e := range execs {
		if e.Step != deployment.NoteAwakeable {
			continue
		}
		aw := r.mu.ops[e.Op]
		switch {
		case aw == nil:
			aw = &awaited{ids: []string{e.Token}}
			r.mu.ops[e.Op] = aw
			r.plan(e.Op, e.Token, aw)
			planned := slices.Clone(aw.res) // tail may append to aw.res meanwhile
			r.wg.Go(func() { r.resolve(e.Op, planned) })
		case !slices.Contains(aw.ids, e.Token):
			aw.ids = append(aw.ids, e.Token)
			res := &resolution{awakeable: e.Token, tag: fmt.Sprintf("%s/r%d", e.Op, len(aw.res)+1)}
			aw.res = append(aw.res, res)
			r.wg.Go(func() { r.send(res) })
		}
	}
}

// plan draws what the resolver sends for op: one resolution (70%), one
// rejection (10%), a resolution and a second one after the first was
// acknowledged (10%), or a resolution and a rejection at once (10%).
func (r *resolver) plan(id, awakeable string, aw *awaited) {
	rng := opRand(r.seed, id)
	tag := func(n int, reject bool) string { return fmt.Sprintf("%s/%s%d", id, cond(reject, "x", "r"), n) }
	switch p := rng.IntN(100); {
	case p < 70:
		aw.res = []*resolution{{tag: tag(1, false)}}
	case p < 80:
		aw.res = []*resolution{{tag: tag(1, true), reject: true}}
	case p < 90:
		second := rng.IntN(2) == 0
		aw.res = []*resolution{{tag: tag(1, false)}, {tag: tag(2, second), reject: second, second: true}}
	default:
		aw.res = []*resolution{{tag: tag(1, false), race: true}, {tag: tag(2, true), reject: true, race: true}}
	}
	for _, res := range aw.res {
		res.awakeable = awakeable
	}
}

// opRand is a source for op's draws that does not depend on the order in
// which the resolver learns of the ops.
func opRand(seed uint64, id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// resolve sends aw's planned resolutions for awakeable id of op: after a
// delay of up to 1.5s (0.3s for a called op, which holds its worker), or,
// for a quarter of the sent ops, when the next kill begins.
func (r *resolver) resolve(op string, planned []*resolution) {
	rng := opRand(r.seed^0x5eed, op)
	o := r.c.lookup(op)
	called := o != nil && !o.sent
	delay := time.Duration(rng.IntN(1500)) * time.Millisecond
	if called {
		delay %= 300 * time.Millisecond
	}
	hold := !called && rng.IntN(4) == 0
	sleepCtx(r.ctx, delay)
	if hold {
		r.mu.Lock()
		gate := r.mu.gate
		r.mu.Unlock()
		select {
		case <-gate:
			for _, res := range planned {
				res.atKill = true
			}
		case <-r.ctx.Done():
			return
		}
	}
	switch {
	case len(planned) == 2 && planned[1].race:
		var wg sync.WaitGroup
		for _, res := range planned {
			wg.Go(func() { r.send(res) })
		}
		wg.Wait()
	default:
		for i, res := range planned {
			if i > 0 {
				if planned[i-1].acked == 0 {
					return
				}
				// Half right after the 202: the handler has not woken yet.
				if rng.IntN(2) == 0 {
					sleepCtx(r.ctx, time.Duration(rng.IntN(200))*time.Millisecond)
				}
			}
			r.send(res)
		}
	}
}

// send posts res until ingress answers 202 (retrying connection errors and
// 5xx: a resolution is idempotent, the first one wins), an answer that is
// not retryable, or the resolver stops.
func (r *resolver) send(res *resolution) {
	path := "/restate/awakeables/" + url.PathEscape(res.awakeable) + "/" + cond(res.reject, "reject", "resolve")
	body, ctype := []byte(res.tag), "text/plain"
	if !res.reject {
		body, _ = json.Marshal(res.tag)
		ctype = "application/json"
	}
	res.sent = r.c.now()
	for r.ctx.Err() == nil {
		res.tries++
		a := r.c.postBody(r.ctx, path, ctype, body, "")
		switch {
		case a.err == nil && a.status == http.StatusAccepted:
			res.acked = r.c.now()
			return
		case !a.retryable():
			res.fail = a.String()
			return
		}
		sleepCtx(r.ctx, backoff(res.tries))
	}
}

// killing lets the resolutions held back for a kill go: the kill lands while
// they are in flight.
func (r *resolver) killing() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.mu.released {
		close(r.mu.gate)
		r.mu.gate = make(chan struct{})
	}
}

// release lets every held resolution go, and no more be held: the workload
// ended.
func (r *resolver) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.mu.released {
		r.mu.released = true
		close(r.mu.gate)
	}
}

// finish stops tailing, reads the log a last time, waits for the
// resolutions under way (until ctx ends), stops, and returns what it
// learned and sent, by op id.
func (r *resolver) finish(ctx context.Context) (map[string]*awaited, error) {
	r.release()
	r.stopTail()
	<-r.tailed
	r.tail() // the last goroutines start before the wait
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	r.cancel()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.ops, r.mu.err
}

// awakeStats counts the await ops and the resolutions the checker sent.
func awakeStats(r *run) AwakeStats {
	var st AwakeStats
	for _, o := range r.ops {
		if o.kind != kindAwait {
			continue
		}
		st.Waits++
		aw := r.awaited[o.id]
		if aw == nil {
			continue
		}
		for _, res := range aw.res {
			if res.sent == 0 {
				continue
			}
			st.Sent++
			st.Rejections += cond(res.reject, 1, 0)
			st.Seconds += cond(res.second, 1, 0)
			st.Pairs += cond(res.race && res == aw.res[0], 1, 0)
			st.Retried += cond(res.tries > 1, 1, 0)
			st.AtKill += cond(res.atKill, 1, 0)
			st.InFlightAtServerKill += cond(inFlightAtServerKill(r, res), 1, 0)
		}
	}
	return st
}

// checkAwakeables: every await op reported one awakeable id (the same on
// every replay); each resolution was acknowledged; every await that was
// resolved completed (none lost), and with the value (or rejection) of a
// resolution that was sent, no earlier than it was sent, and with the first
// one acknowledged: no other resolution was acknowledged before the winner
// was first sent.
func checkAwakeables(r *run, outs outputs) Check {
	var bad []string
	raceLost := 0
	for _, o := range r.ops {
		if o.kind != kindAwait {
			continue
		}
		aw := r.awaited[o.id]
		if aw == nil {
			aw = &awaited{}
		}
		if len(aw.ids) > 1 {
			bad = append(bad, fmt.Sprintf("%s: reported awakeable ids %v: the id changed on replay", o.id, aw.ids))
		}
		acked := 0
		for _, res := range aw.res {
			switch {
			case res.sent == 0:
			case res.fail != "":
				bad = append(bad, fmt.Sprintf("%s: %s answered %s", o.id, res.tag, res.fail))
			case res.acked == 0:
				bad = append(bad, fmt.Sprintf("%s: %s never acknowledged", o.id, res.tag))
			default:
				acked++
			}
		}
		v, ok := outs.await[o]
		if !ok {
			if acked > 0 {
				bad = append(bad, fmt.Sprintf("%s: resolved (%d acknowledged) but no output: lost", o.id, acked))
			}
			continue
		}
		if len(aw.ids) > 0 && v.Awakeable != aw.ids[0] {
			bad = append(bad, fmt.Sprintf("%s: output names awakeable %s, it reported %s", o.id, v.Awakeable, aw.ids[0]))
		}
		w := winner(aw, v)
		if w == nil {
			bad = append(bad, fmt.Sprintf("%s: completed with value %q rejection %q, which the checker never sent", o.id, v.Value, v.Rejected))
			continue
		}
		if w.race && w != aw.res[0] {
			raceLost++
		}
		for _, res := range aw.res {
			if res != w && res.acked != 0 && res.acked < w.sent {
				bad = append(bad, fmt.Sprintf("%s: completed with %s, but %s was acknowledged %v before it was sent", o.id, w.tag, res.tag, time.Duration(w.sent-res.acked)))
			}
		}
		if sentAt := r.start.UnixNano() + w.sent; v.After.At < sentAt {
			bad = append(bad, fmt.Sprintf("%s: completed %v before its resolution %s was sent", o.id, time.Duration(sentAt-v.After.At), w.tag))
		}
	}
	slices.Sort(bad)
	st := awakeStats(r)
	return Check{Name: "awakeables: first acknowledged resolution wins", OK: len(bad) == 0,
		Detail: cond(len(bad) == 0, fmt.Sprintf("%d waits; %d resolutions sent (%d rejections, %d second ones after the first was acknowledged, %d pairs at once of which the second won %d), %d retried; %d sent as a kill began, %d in flight at a kill of the server",
			st.Waits, st.Sent, st.Rejections, st.Seconds, st.Pairs, raceLost, st.Retried, st.AtKill, st.InFlightAtServerKill), listed(bad))}
}

// winner is the resolution whose value or rejection v carries, nil if none.
func winner(aw *awaited, v deployment.AwaitOut) *resolution {
	for _, res := range aw.res {
		switch {
		case res.sent == 0:
		case res.reject && v.Value == "" && v.Rejected == res.tag:
			return res
		case !res.reject && v.Rejected == "" && v.Value == res.tag:
			return res
		}
	}
	return nil
}

// inFlightAtServerKill reports whether res was sent before a kill of the
// server and acknowledged after it.
func inFlightAtServerKill(r *run, res *resolution) bool {
	for _, k := range r.kills {
		if k.serverDown() && res.sent < int64(k.At) && res.acked > int64(k.At) {
			return true
		}
	}
	return false
}
