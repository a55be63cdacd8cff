//go:build linux

package payments_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/payments"
	"github.com/resolute-run/resolute/tests/testenv"
)

// waitTimeout bounds each wait for the saga to reach a step.
const waitTimeout = 60 * time.Second

// TestPaymentsAcrossSIGKILL runs `resolute server` as a process, the Payments service in the test
// process and the fake provider behind real HTTP, and SIGKILLs the server once per case, each
// time restarting it on the same data directory:
//
//   - shipped: killed while the saga waits for the carrier's label; the carrier's webhook then
//     resolves it, the payment succeeds, and the same request with the same idempotency key
//     answers the same payment without running again;
//   - declined: killed after the provider reserved the stock but before its answer reached the
//     saga; the re-run reservation gets the provider's first answer (same idempotency key), the
//     card is declined (402), the stock is released once, and the same request answers 402 again;
//   - cancelled: cancelled through the admin API while it waits for the label, and killed in the
//     middle of its compensations (after the provider refunded, before its answer arrived); the
//     saga ends with 409 and the shipment, the charge and the stock are each undone once, last
//     step first.
//
// The provider's ledger (one line per action it took) must hold exactly the expected actions.
func TestPaymentsAcrossSIGKILL(t *testing.T) {
	g := &gate{}
	fake := &payments.FakeProvider{AfterAct: g.afterAct}
	provider := httptest.NewServer(fake)
	t.Cleanup(provider.Close)
	t.Cleanup(g.releaseAll) // before the provider closes: its handlers must not stay blocked
	url := testenv.ServeH2C(t, payments.Endpoint(payments.HTTPProvider{BaseURL: provider.URL}).Handler())
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	p := &payer{srv: srv, fake: fake}

	t.Run("shipped", func(t *testing.T) {
		order := `{"customer":"cus_ana","items":["lamp","bulb"],"amount":4200,"currency":"eur","address":"1 Main St"}`
		from := len(fake.Ledger())
		id := p.send(t, "order-1", order)
		ship := p.waitAction(t, from, "ship")
		srv.Kill()
		srv.Restart()
		awakeable := fake.Awakeable(strings.Fields(ship)[1])
		testenv.MustPost(t, srv.Ingress+"/restate/awakeables/"+awakeable+"/resolve", `"label-42"`, 202)
		var pay payments.Payment
		testenv.DecodeReply(t, testenv.AttachInvocation(t, srv, id, 200), &pay)
		if pay.Status != payments.StatusSucceeded || pay.Amount != 4200 || pay.Label != "label-42" || !strings.HasPrefix(pay.ID, "pay_") {
			t.Fatalf("payment %+v, want succeeded with label-42", pay)
		}
		// A client retrying with the same key gets the first payment; nothing runs again.
		var again payments.Payment
		testenv.DecodeReply(t, p.pay(t, "order-1", order, 200), &again)
		if again != pay {
			t.Errorf("retried request answered %+v, want the first payment %+v", again, pay)
		}
		wantLedger(t, fake.Ledger()[from:],
			`reserve (res_\d+) \[lamp bulb\]`, `charge (ch_\d+) cus_ana 4200 eur`, `ship (shp_\d+) \[lamp bulb\] to 1 Main St`)
		if !strings.Contains(fake.Ledger()[from+1], pay.Charge) {
			t.Errorf("payment charge %s is not the one the provider made: %q", pay.Charge, fake.Ledger()[from+1])
		}
	})

	t.Run("declined", func(t *testing.T) {
		order := `{"customer":"` + payments.DeclinedCustomer + `","items":["sofa"],"amount":99900,"currency":"eur","address":"2 Main St"}`
		from := len(fake.Ledger())
		entered, release := g.arm("reserve")
		id := p.send(t, "order-2", order)
		waitLine(t, srv, id, entered)
		srv.Kill()
		srv.Restart()
		release()
		r := testenv.AttachInvocation(t, srv, id, 402)
		if !strings.Contains(string(r.Body), "card_declined") {
			t.Errorf("declined payment answered %s, want card_declined", r.Body)
		}
		if again := p.pay(t, "order-2", order, 402); !slices.Equal(again.Body, r.Body) {
			t.Errorf("retried request answered %s, want the first answer %s", again.Body, r.Body)
		}
		wantLedger(t, fake.Ledger()[from:], `reserve (res_\d+) \[sofa\]`, `release $1`)
	})

	t.Run("cancelled", func(t *testing.T) {
		order := `{"customer":"cus_bo","items":["desk"],"amount":15000,"currency":"eur","address":"3 Main St"}`
		from := len(fake.Ledger())
		id := p.send(t, "order-3", order)
		p.waitAction(t, from, "ship")
		entered, release := g.arm("refund")
		testenv.CancelInvocation(t, srv, id)
		waitLine(t, srv, id, entered)
		srv.Kill()
		srv.Restart()
		release()
		r := testenv.AttachInvocation(t, srv, id, 409)
		if !strings.Contains(string(r.Body), "Cancelled") {
			t.Errorf("cancelled payment answered %s, want Cancelled", r.Body)
		}
		// Compensations in reverse order, each once.
		wantLedger(t, fake.Ledger()[from:],
			`reserve (res_\d+) \[desk\]`, `charge (ch_\d+) cus_bo 15000 eur`, `ship (shp_\d+) \[desk\] to 3 Main St`,
			`cancel $3`, `refund $2`, `release $1`)
		p.pay(t, "order-3", order, 409) // the same key answers the same outcome
		if n := len(fake.Ledger()[from:]); n != 6 {
			t.Errorf("the retried request acted again: ledger %q", fake.Ledger()[from:])
		}
	})
}

// TestPaymentCancelledDuringCharge cancels a payment while the provider's answer to its charge
// is held: the cancellation reaches the saga while it waits for the charge step to be journaled,
// so the step answers 409 although the provider charged. The refund must still run.
func TestPaymentCancelledDuringCharge(t *testing.T) {
	g := &gate{}
	fake := &payments.FakeProvider{AfterAct: g.afterAct}
	provider := httptest.NewServer(fake)
	t.Cleanup(provider.Close)
	t.Cleanup(g.releaseAll)
	url := testenv.ServeH2C(t, payments.Endpoint(payments.HTTPProvider{BaseURL: provider.URL}).Handler())
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	p := &payer{srv: srv, fake: fake}
	entered, release := g.arm("charge")
	id := p.send(t, "order-4", `{"customer":"cus_cy","items":["chair"],"amount":7000,"currency":"eur","address":"4 Main St"}`)
	waitLine(t, srv, id, entered)
	testenv.CancelInvocation(t, srv, id)
	release()
	if r := testenv.AttachInvocation(t, srv, id, 409); !strings.Contains(string(r.Body), "Cancelled") {
		t.Errorf("cancelled payment answered %s, want Cancelled", r.Body)
	}
	wantLedger(t, fake.Ledger(), `reserve (res_\d+) \[chair\]`, `charge (ch_\d+) cus_cy 7000 eur`, `refund $2`, `release $1`)
}

// payer talks to the Payments service over the ingress.
type payer struct {
	srv  *testenv.Server
	fake *payments.FakeProvider
}

// send submits order one-way with an idempotency key and returns the invocation id.
func (p *payer) send(t *testing.T, key, order string) string {
	t.Helper()
	r, err := testenv.Post(testenv.HTTPClient, p.srv.Ingress+"/Payments/pay/send", order, http.Header{"Idempotency-Key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		InvocationID string `json:"invocationId"`
	}
	if r.Status != 202 || json.Unmarshal(r.Body, &acc) != nil || acc.InvocationID == "" {
		t.Fatalf("send %s: %v", key, r)
	}
	return acc.InvocationID
}

// pay calls Payments/pay with an idempotency key and wants status.
func (p *payer) pay(t *testing.T, key, order string, status int) testenv.Reply {
	t.Helper()
	r, err := testenv.Post(testenv.HTTPClient, p.srv.Ingress+"/Payments/pay", order, http.Header{"Idempotency-Key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != status {
		t.Fatalf("pay %s: %v, want %d", key, r, status)
	}
	return r
}

// waitAction waits until the provider's ledger, from index from on, has an action starting with
// verb, and returns its line.
func (p *payer) waitAction(t *testing.T, from int, verb string) string {
	t.Helper()
	var line string
	testenv.WaitReady(t, "provider action "+verb, waitTimeout, func() error {
		for _, l := range p.fake.Ledger()[from:] {
			if strings.HasPrefix(l, verb+" ") {
				line = l
				return nil
			}
		}
		return fmt.Errorf("ledger %q", p.fake.Ledger()[from:])
	}, p.srv.Proc())
	return line
}

// gate blocks the provider's answer to the next action of an armed verb, after the action.
type gate struct {
	mu       sync.Mutex
	verb     string
	entered  chan string
	releases []chan struct{}
}

// arm blocks the next action whose ledger line starts with verb: entered receives the line, and
// the answer waits until release is called.
func (g *gate) arm(verb string) (entered <-chan string, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, rel := make(chan string, 1), make(chan struct{})
	g.verb, g.entered = verb+" ", ch
	g.releases = append(g.releases, rel)
	var once sync.Once
	return ch, func() { once.Do(func() { close(rel) }) }
}

func (g *gate) afterAct(line string) {
	g.mu.Lock()
	if g.verb == "" || !strings.HasPrefix(line, g.verb) {
		g.mu.Unlock()
		return
	}
	entered, rel := g.entered, g.releases[len(g.releases)-1]
	g.verb = ""
	g.mu.Unlock()
	entered <- line
	<-rel
}

// releaseAll unblocks every answer still held (test cleanup).
func (g *gate) releaseAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, rel := range g.releases {
		select {
		case <-rel:
		default:
			close(rel)
		}
	}
}

// waitLine waits until the gate holds an answer, failing at once if invocation id ends before.
func waitLine(t *testing.T, srv *testenv.Server, id string, entered <-chan string) {
	t.Helper()
	testenv.WaitReady(t, "the armed provider action", waitTimeout, func() error {
		select {
		case l := <-entered:
			t.Logf("provider acted, answer held: %s", l)
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
			t.Fatalf("the payment ended before the armed provider action: status %d, %s", resp.StatusCode, body)
		}
		return errors.New("the armed provider action has not happened")
	}, srv.Proc())
}

// wantLedger checks lines against patterns, one each, in order. A pattern's groups capture
// ids that later patterns name as $1, $2, … (in capture order).
func wantLedger(t *testing.T, lines []string, patterns ...string) {
	t.Helper()
	var ids []string
	ok := len(lines) == len(patterns)
	for i := 0; ok && i < len(lines); i++ {
		p := patterns[i]
		for j := len(ids); j >= 1; j-- {
			p = strings.ReplaceAll(p, fmt.Sprintf("$%d", j), regexp.QuoteMeta(ids[j-1]))
		}
		m := regexp.MustCompile("^" + p + "$").FindStringSubmatch(lines[i])
		if m == nil {
			ok = false
			break
		}
		ids = append(ids, m[1:]...)
	}
	if !ok {
		t.Errorf("provider ledger:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), strings.Join(patterns, "\n  "))
	}
}
