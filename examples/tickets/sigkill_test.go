//go:build linux

package tickets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/tickets"
	"github.com/resolute-run/resolute/tests/testenv"
)

// waitTimeout bounds each wait for the objects to reach a state.
const waitTimeout = 60 * time.Second

// TestTicketsAcrossSIGKILL runs `resolute server` as a process and the Seat and Cart objects in
// the test process, and SIGKILLs the server twice:
//
//  1. while alice's holds on A1 and A2 wait for their delayed expire calls: after the restart
//     on the same data directory the holds end, each seat is released once and is free again
//     (bob then holds A1);
//  2. while bob's checkout issues his first ticket (the box office blocks that first call until
//     the server is dead): after the restart the checkout finishes, each seat is sold and one
//     ticket issued per seat (the re-run of the interrupted step issues the same ticket ids),
//     and bob's expire calls, which arrive after the checkout, keep his seats sold; a sold seat
//     is refused to others.
//
// Only order and outcomes are asserted. The second hold time is derived from how long the
// first adds took, so that bob's checkout is accepted before his holds can end.
func TestTicketsAcrossSIGKILL(t *testing.T) {
	var holdFor atomic.Int64
	box := newGatedBoxOffice()
	t.Cleanup(box.open) // a test that failed early must not leave the first Issue call blocked
	url := testenv.ServeH2C(t, tickets.Endpoint(tickets.Config{
		HoldFor:   func() time.Duration { return time.Duration(holdFor.Load()) },
		BoxOffice: box,
	}).Handler())
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}

	// 1. Holds that end while the server is down or just restarted.
	holdFor.Store(int64(time.Second))
	start := time.Now()
	for _, seat := range []string{"A1", "A2"} {
		testenv.MustPost(t, srv.Ingress+"/Cart/alice/add", `"`+seat+`"`, 200)
	}
	addTime := time.Since(start)
	if st := seatStatus(t, srv, "A1"); st.Status != tickets.Held {
		t.Logf("A1's hold ended before the kill (status %+v): the machine is slow; the outcome is checked all the same", st)
	}
	srv.Kill()
	srv.Restart()
	for _, seat := range []string{"A1", "A2"} {
		st := waitSeat(t, srv, seat, func(st tickets.SeatStatus) bool { return st.Status == tickets.Free })
		if want := []string{"held by alice", "released from alice"}; !slices.Equal(st.History, want) {
			t.Errorf("seat %s history %q, want %q", seat, st.History, want)
		}
	}
	if v := cartView(t, srv, "alice"); len(v.Holds) != 0 || !slices.Equal(v.Ended, []string{"released A1", "released A2"}) {
		t.Errorf("alice's cart %+v, want no holds and both released", v)
	}

	// 2. A checkout interrupted by a crash. The holds must outlast the gap between the adds and
	// the checkout's acceptance: a generous multiple of what two adds took above.
	holdFor.Store(int64(max(3*time.Second, 20*addTime)))
	testenv.MustPost(t, srv.Ingress+"/Cart/bob/add", `"A1"`, 200) // a released seat is free again
	testenv.MustPost(t, srv.Ingress+"/Cart/bob/add", `"B1"`, 200)
	id := sendCheckout(t, srv, "bob")
	waitEntered(t, srv, box, id)
	srv.Kill()
	srv.Restart()
	box.open()
	issued := attachTickets(t, srv, id)
	if len(issued) != 2 || issued[0].Seat != "A1" || issued[1].Seat != "B1" || issued[0].User != "bob" {
		t.Fatalf("checkout issued %+v, want tickets for A1 and B1 to bob (did a hold end before the checkout?)", issued)
	}
	// bob's expire calls come after the checkout: they keep the seats sold.
	v := waitCart(t, srv, "bob", func(v tickets.CartView) bool { return len(v.Ended) == 2 })
	if len(v.Holds) != 0 || !slices.Equal(v.Ended, []string{"kept A1", "kept B1"}) {
		t.Errorf("bob's cart %+v, want no holds and both kept", v)
	}
	for seat, want := range map[string][]string{
		"A1": {"held by alice", "released from alice", "held by bob", "sold to bob"},
		"B1": {"held by bob", "sold to bob"},
	} {
		if st := seatStatus(t, srv, seat); st.Status != tickets.Sold || st.User != "bob" || !slices.Equal(st.History, want) {
			t.Errorf("seat %s: %+v, want sold to bob with history %q", seat, st, want)
		}
	}
	// One ticket per seat: every Issue call (the interrupted one and its re-run) named the
	// tickets the checkout answered.
	calls, ids := box.issued()
	t.Logf("box office: %d Issue calls for ticket ids %v", calls, ids)
	if want := []string{issued[0].ID, issued[1].ID}; !sameSet(ids, want) {
		t.Errorf("tickets issued %v, want exactly %v", ids, want)
	}
	// A sold seat is refused, and a checkout of the now empty cart is refused and issues nothing.
	testenv.MustPost(t, srv.Ingress+"/Cart/alice/add", `"B1"`, 409)
	testenv.MustPost(t, srv.Ingress+"/Cart/bob/checkout", "", 409)
	if _, again := box.issued(); len(again) != len(ids) {
		t.Errorf("an empty checkout issued tickets: %v", again)
	}
}

// gatedBoxOffice records the tickets issued; its first Issue call blocks until open, after
// closing entered.
type gatedBoxOffice struct {
	entered  chan struct{}
	gate     chan struct{}
	openOnce sync.Once

	mu struct {
		sync.Mutex
		calls int
		ids   []string // distinct, in order
	}
}

func newGatedBoxOffice() *gatedBoxOffice {
	return &gatedBoxOffice{entered: make(chan struct{}), gate: make(chan struct{})}
}

func (b *gatedBoxOffice) Issue(ctx context.Context, t tickets.Ticket) error {
	b.mu.Lock()
	b.mu.calls++
	first := b.mu.calls == 1
	b.mu.Unlock()
	if first {
		close(b.entered)
		select {
		case <-b.gate:
		case <-ctx.Done(): // the attempt ended: the server is gone
			<-b.gate
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Contains(b.mu.ids, t.ID) {
		b.mu.ids = append(b.mu.ids, t.ID)
	}
	return nil
}

func (b *gatedBoxOffice) open() { b.openOnce.Do(func() { close(b.gate) }) }

func (b *gatedBoxOffice) issued() (int, []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.calls, slices.Clone(b.mu.ids)
}

// waitEntered waits until the checkout id calls the box office, failing at once if it ends
// before.
func waitEntered(t *testing.T, srv *testenv.Server, box *gatedBoxOffice, id string) {
	t.Helper()
	testenv.WaitReady(t, "the checkout at the box office", waitTimeout, func() error {
		select {
		case <-box.entered:
			return nil
		default:
		}
		resp, err := testenv.HTTPClient.Get(srv.Ingress + "/restate/invocation/" + id + "/output")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 470 { // 470: not ended yet
			t.Fatalf("the checkout ended before it issued a ticket: status %d, %s", resp.StatusCode, body)
		}
		return errors.New("the checkout has not reached the box office")
	}, srv.Proc())
}

func sendCheckout(t *testing.T, srv *testenv.Server, user string) string {
	t.Helper()
	r := testenv.MustPost(t, srv.Ingress+"/Cart/"+user+"/checkout/send", "", 202)
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal(r.Body, &acc); err != nil || acc.InvocationID == "" {
		t.Fatalf("checkout: answer %s: %v", r.Body, err)
	}
	return acc.InvocationID
}

// attachTickets waits for the checkout's result over the ingress.
func attachTickets(t *testing.T, srv *testenv.Server, id string) []tickets.Ticket {
	t.Helper()
	var out []tickets.Ticket
	getJSON(t, srv.Ingress+"/restate/invocation/"+id+"/attach", &out)
	return out
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := testenv.HTTPClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func seatStatus(t *testing.T, srv *testenv.Server, seat string) tickets.SeatStatus {
	t.Helper()
	var st tickets.SeatStatus
	testenv.DecodeReply(t, testenv.MustPost(t, srv.Ingress+"/Seat/"+seat+"/status", "", 200), &st)
	return st
}

func cartView(t *testing.T, srv *testenv.Server, user string) tickets.CartView {
	t.Helper()
	var v tickets.CartView
	testenv.DecodeReply(t, testenv.MustPost(t, srv.Ingress+"/Cart/"+user+"/view", "", 200), &v)
	return v
}

func waitSeat(t *testing.T, srv *testenv.Server, seat string, done func(tickets.SeatStatus) bool) tickets.SeatStatus {
	t.Helper()
	var st tickets.SeatStatus
	poll(t, "seat "+seat, srv, "/Seat/"+seat+"/status", &st, func() bool { return done(st) })
	return st
}

func waitCart(t *testing.T, srv *testenv.Server, user string, done func(tickets.CartView) bool) tickets.CartView {
	t.Helper()
	var v tickets.CartView
	poll(t, "cart of "+user, srv, "/Cart/"+user+"/view", &v, func() bool { return done(v) })
	return v
}

// poll calls the shared handler at path until done accepts what it decoded into v.
func poll(t *testing.T, what string, srv *testenv.Server, path string, v any, done func() bool) {
	t.Helper()
	testenv.WaitReady(t, what, waitTimeout, func() error {
		r, err := testenv.Invoke(srv.Ingress, path, "")
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("%s: %v", path, r)
		}
		if err := json.Unmarshal(r.Body, v); err != nil {
			return fmt.Errorf("%s: %s: %w", path, r.Body, err)
		}
		if !done() {
			return fmt.Errorf("%s: %s", path, r.Body)
		}
		return nil
	}, srv.Proc())
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
