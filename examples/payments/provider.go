package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/resolute-run/resolute/sdk"
)

// HTTPProvider is a Provider over the provider's HTTP API (the API FakeProvider serves): a POST
// of a JSON body to BaseURL + "/v1/…" with an Idempotency-Key header, as Stripe's API takes it.
type HTTPProvider struct {
	BaseURL string
	Client  *http.Client // http.DefaultClient if nil
}

type (
	stockRequest struct {
		Items []string `json:"items,omitempty"`
	}
	chargeRequest struct {
		Customer string `json:"customer,omitempty"`
		Amount   int64  `json:"amount,omitempty"`
		Currency string `json:"currency,omitempty"`
	}
	shipmentRequest struct {
		Items     []string `json:"items,omitempty"`
		Address   string   `json:"address,omitempty"`
		Awakeable string   `json:"awakeable,omitempty"`
	}
	// undoRequest names the action to undo by its idempotency key.
	undoRequest struct {
		Of string `json:"of"`
	}
	// providerReply is every answer: the id of what was created, or an error.
	providerReply struct {
		ID    string `json:"id,omitempty"`
		Error string `json:"error,omitempty"`
	}
)

// ReserveStock implements Provider.
func (p HTTPProvider) ReserveStock(ctx context.Context, key string, items []string) (string, error) {
	return p.post(ctx, "/v1/stock/reservations", key, stockRequest{Items: items})
}

// ReleaseStock implements Provider.
func (p HTTPProvider) ReleaseStock(ctx context.Context, key, reserveKey string) error {
	_, err := p.post(ctx, "/v1/stock/releases", key, undoRequest{Of: reserveKey})
	return err
}

// Charge implements Provider; a declined card is a terminal 402.
func (p HTTPProvider) Charge(ctx context.Context, key, customer string, amount int64, currency string) (string, error) {
	return p.post(ctx, "/v1/charges", key, chargeRequest{Customer: customer, Amount: amount, Currency: currency})
}

// Refund implements Provider.
func (p HTTPProvider) Refund(ctx context.Context, key, chargeKey string) error {
	_, err := p.post(ctx, "/v1/refunds", key, undoRequest{Of: chargeKey})
	return err
}

// Ship implements Provider.
func (p HTTPProvider) Ship(ctx context.Context, key string, items []string, address, awakeable string) (string, error) {
	return p.post(ctx, "/v1/shipments", key, shipmentRequest{Items: items, Address: address, Awakeable: awakeable})
}

// CancelShipment implements Provider.
func (p HTTPProvider) CancelShipment(ctx context.Context, key, shipKey string) error {
	_, err := p.post(ctx, "/v1/shipments/cancellations", key, undoRequest{Of: shipKey})
	return err
}

// post sends one request. A 4xx answer is terminal (a retry gets the same answer); anything else
// that is not a 200 is an error to retry.
func (p HTTPProvider) post(ctx context.Context, path, key string, body any) (string, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("provider %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+path, bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("provider %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("provider %s: %w", path, err)
	}
	defer resp.Body.Close()
	var r providerReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", fmt.Errorf("provider %s: status %d: %w", path, resp.StatusCode, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return r.ID, nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return "", sdk.TerminalErrorf(uint16(resp.StatusCode), "%s", r.Error)
	default:
		return "", fmt.Errorf("provider %s: status %d: %s", path, resp.StatusCode, r.Error)
	}
}

// DeclinedCustomer is the customer whose card FakeProvider declines.
const DeclinedCustomer = "cus_declined"

// FakeProvider is a small in-memory provider serving the HTTP API HTTPProvider calls, for the
// tests and the demo. Like Stripe, it keeps the answer to every idempotency key (errors too) and
// answers a repeated key with it without acting again; a request without a key is refused. An
// undo names the action by its idempotency key ({"of": key}): it undoes the action once, does
// nothing for an action undone already or never made, and in the latter case refuses the
// action (409) should it come later. It keeps a ledger of what it did, one line per action:
// "reserve res_1 [a b]", "release res_1", "charge ch_2 cus_x 1200 eur", "refund ch_2",
// "ship shp_3 [a b] to …", "cancel shp_3".
type FakeProvider struct {
	// AfterAct, if set, is called with the ledger line after an action and before its answer
	// is written (not for repeated keys): a test blocks here to lose the answer in a crash.
	AfterAct func(line string)

	mu struct {
		sync.Mutex
		replies    map[string]fakeReply // by idempotency key
		made       map[string]string    // idempotency key of an action → the id it created
		undone     map[string]bool      // idempotency keys of actions undone (or refused ahead)
		ledger     []string
		next       int
		awakeables map[string]string // shipment id → the awakeable its label resolves
	}
}

type fakeReply struct {
	status int
	reply  providerReply
}

// Ledger returns the actions taken so far, in order.
func (f *FakeProvider) Ledger() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.mu.ledger...)
}

// Awakeable returns the awakeable id handed over with shipment.
func (f *FakeProvider) Awakeable(shipment string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.awakeables[shipment]
}

// ServeHTTP implements the provider's API.
func (f *FakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	body, err := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || key == "" || err != nil {
		writeReply(w, fakeReply{http.StatusBadRequest, providerReply{Error: "POST with an Idempotency-Key header"}})
		return
	}
	f.mu.Lock()
	if rep, seen := f.mu.replies[key]; seen {
		f.mu.Unlock()
		writeReply(w, rep)
		return
	}
	if f.mu.replies == nil {
		f.mu.replies, f.mu.made, f.mu.undone = map[string]fakeReply{}, map[string]string{}, map[string]bool{}
		f.mu.awakeables = map[string]string{}
	}
	rep, line := f.actLocked(r.URL.Path, key, body)
	f.mu.replies[key] = rep
	if line != "" {
		f.mu.ledger = append(f.mu.ledger, line)
	}
	f.mu.Unlock()
	if line != "" && f.AfterAct != nil {
		f.AfterAct(line)
	}
	writeReply(w, rep)
}

// undoVerbs are the undo endpoints, with the ledger verb and the prefix of the ids they undo.
var undoVerbs = map[string]struct{ verb, prefix string }{
	"/v1/stock/releases":          {"release", "res_"},
	"/v1/refunds":                 {"refund", "ch_"},
	"/v1/shipments/cancellations": {"cancel", "shp_"},
}

// actLocked carries out the request with idempotency key key and returns its answer and ledger
// line ("" if nothing was done).
func (f *FakeProvider) actLocked(path, key string, body []byte) (fakeReply, string) {
	if u, isUndo := undoVerbs[path]; isUndo {
		var ur undoRequest
		if err := json.Unmarshal(body, &ur); err != nil || ur.Of == "" {
			return fakeReply{http.StatusBadRequest, providerReply{Error: fmt.Sprintf("want {\"of\": key}: %v", err)}}, ""
		}
		return f.undoLocked(ur.Of, u.verb, u.prefix)
	}
	if f.mu.undone[key] {
		return fakeReply{http.StatusConflict, providerReply{Error: "undone before it was made"}}, ""
	}
	var sr stockRequest
	var cr chargeRequest
	var hr shipmentRequest
	for _, v := range []any{&sr, &cr, &hr} {
		if err := json.Unmarshal(body, v); err != nil {
			return fakeReply{http.StatusBadRequest, providerReply{Error: err.Error()}}, ""
		}
	}
	switch path {
	case "/v1/stock/reservations":
		id := f.newIDLocked(key, "res")
		return ok(id), fmt.Sprintf("reserve %s %v", id, sr.Items)
	case "/v1/charges":
		if cr.Customer == DeclinedCustomer {
			return fakeReply{http.StatusPaymentRequired, providerReply{Error: "card_declined"}}, ""
		}
		id := f.newIDLocked(key, "ch")
		return ok(id), fmt.Sprintf("charge %s %s %d %s", id, cr.Customer, cr.Amount, cr.Currency)
	case "/v1/shipments":
		id := f.newIDLocked(key, "shp")
		f.mu.awakeables[id] = hr.Awakeable
		return ok(id), fmt.Sprintf("ship %s %v to %s", id, hr.Items, hr.Address)
	}
	return fakeReply{http.StatusNotFound, providerReply{Error: "no such endpoint " + path}}, ""
}

// newIDLocked creates the id of what the action with idempotency key key makes.
func (f *FakeProvider) newIDLocked(key, prefix string) string {
	f.mu.next++
	id := fmt.Sprintf("%s_%d", prefix, f.mu.next)
	f.mu.made[key] = id
	return id
}

// undoLocked undoes the action with idempotency key of, once; an action not made (yet) is
// refused from now on.
func (f *FakeProvider) undoLocked(of, verb, prefix string) (fakeReply, string) {
	id, made := f.mu.made[of]
	if made && !strings.HasPrefix(id, prefix) {
		return fakeReply{http.StatusBadRequest, providerReply{Error: fmt.Sprintf("cannot %s %s", verb, id)}}, ""
	}
	if f.mu.undone[of] {
		return ok(""), ""
	}
	f.mu.undone[of] = true
	if !made {
		return ok(""), ""
	}
	return ok(id), verb + " " + id
}

func ok(id string) fakeReply { return fakeReply{http.StatusOK, providerReply{ID: id}} }

func writeReply(w http.ResponseWriter, r fakeReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(r.reply)
}
