// Package tickets sells concert seats the way a ticket shop holds them in a cart: a seat is
// reserved for a user, held in the user's cart, and released by a delayed call after the hold
// time (15 minutes by default) unless the user has checked out by then.
//
// Two Virtual Objects, so that each seat and each cart changes one call at a time:
//
//   - Seat/{seat}: reserve (free → held by a user, under a hold id), release (held → free, only
//     for the hold that holds it), sell (held → sold, the same), status (shared). The seat keeps
//     its history, one line per change.
//   - Cart/{user}: add (reserves the seat under a new hold id drawn from the deterministic random
//     generator, and sends itself expire(hold) with the hold time as delay), expire (releases the
//     seat if the hold is still in the cart; a hold that was checked out or released already
//     is left alone), checkout (sells every held seat and issues one ticket per seat through the
//     BoxOffice, inside sdk.Run with a ticket id drawn from the deterministic random generator,
//     so a replay issues the same ticket), view (shared).
//
// The hold id makes a late expire harmless: if a seat was released and then held again (by the
// same user or another), the first hold's expire finds another hold and changes nothing.
package tickets

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// DefaultHold is how long a seat stays in a cart before it is released.
const DefaultHold = 15 * time.Minute

// Seat statuses.
const (
	Free = "free"
	Held = "held"
	Sold = "sold"
)

// Hold is one seat in one cart.
type Hold struct {
	Seat string `json:"seat"`
	ID   string `json:"id"`
}

// SeatRequest is what the cart asks of a seat: done for user under hold id Hold.
type SeatRequest struct {
	User string `json:"user"`
	Hold string `json:"hold"`
}

// SeatStatus is what Seat/{seat}/status answers.
type SeatStatus struct {
	Status  string   `json:"status"`
	User    string   `json:"user,omitempty"`
	Hold    string   `json:"hold,omitempty"`
	History []string `json:"history,omitempty"` // "held by alice", "released from alice", "sold to bob"
}

// Ticket is issued once per seat at checkout.
type Ticket struct {
	ID   string `json:"id"`
	Seat string `json:"seat"`
	User string `json:"user"`
}

// CartView is what Cart/{user}/view answers.
type CartView struct {
	Holds []Hold `json:"holds,omitempty"`
	// Ended lists what each expire call found, in order: "released A1" or "kept A1" (the hold
	// was gone: checked out).
	Ended []string `json:"ended,omitempty"`
}

// BoxOffice issues tickets: the side effect of a checkout. Issue is called inside sdk.Run and
// may be called again with the same ticket (same id) after a crash: it must issue a ticket id
// once.
type BoxOffice interface {
	Issue(ctx context.Context, t Ticket) error
}

// Config configures the objects.
type Config struct {
	// HoldFor is how long a seat stays in a cart. It is read once per hold, inside sdk.Run, so a
	// replay uses the journaled value; nil means DefaultHold.
	HoldFor func() time.Duration
	// BoxOffice issues the tickets.
	BoxOffice BoxOffice
}

// Seat is the Seat Virtual Object.
func Seat() *sdk.Object {
	return sdk.NewObject("Seat").
		Handler("reserve", sdk.ObjectHandler(reserve)).
		Handler("release", sdk.ObjectHandler(release)).
		Handler("sell", sdk.ObjectHandler(sell)).
		Handler("status", sdk.SharedHandler(seatStatus))
}

// Cart is the Cart Virtual Object.
func Cart(cfg Config) *sdk.Object {
	c := carts{cfg: cfg}
	return sdk.NewObject("Cart").
		Handler("add", sdk.ObjectHandler(c.add)).
		Handler("expire", sdk.ObjectHandler(c.expire)).
		Handler("checkout", sdk.ObjectHandler(c.checkout)).
		Handler("view", sdk.SharedHandler(view))
}

// Endpoint serves both objects.
func Endpoint(cfg Config) *sdk.Endpoint { return sdk.NewEndpoint().Bind(Seat(), Cart(cfg)) }

func reserve(ctx sdk.ObjectContext, r SeatRequest) (sdk.Void, error) {
	st, err := sdk.Get[SeatStatus](ctx, "seat")
	if err != nil {
		return sdk.Void{}, err
	}
	if st.Status != "" && st.Status != Free {
		return sdk.Void{}, sdk.TerminalErrorf(409, "seat %s is %s", ctx.Key(), st.Status)
	}
	st.Status, st.User, st.Hold = Held, r.User, r.Hold
	st.History = append(st.History, "held by "+r.User)
	return sdk.Void{}, sdk.Set(ctx, "seat", st)
}

// release frees the seat if hold r holds it, and reports whether it did.
func release(ctx sdk.ObjectContext, r SeatRequest) (bool, error) {
	st, err := sdk.Get[SeatStatus](ctx, "seat")
	if err != nil || st.Status != Held || st.Hold != r.Hold {
		return false, err
	}
	st.History = append(st.History, "released from "+st.User)
	st.Status, st.User, st.Hold = Free, "", ""
	return true, sdk.Set(ctx, "seat", st)
}

func sell(ctx sdk.ObjectContext, r SeatRequest) (sdk.Void, error) {
	st, err := sdk.Get[SeatStatus](ctx, "seat")
	if err != nil {
		return sdk.Void{}, err
	}
	if st.Status != Held || st.Hold != r.Hold {
		return sdk.Void{}, sdk.TerminalErrorf(409, "seat %s is not held by hold %s", ctx.Key(), r.Hold)
	}
	st.Status, st.Hold = Sold, ""
	st.History = append(st.History, "sold to "+r.User)
	return sdk.Void{}, sdk.Set(ctx, "seat", st)
}

func seatStatus(ctx sdk.ObjectSharedContext, _ sdk.Void) (SeatStatus, error) {
	st, err := sdk.Get[SeatStatus](ctx, "seat")
	if st.Status == "" {
		st.Status = Free
	}
	return st, err
}

type carts struct{ cfg Config }

// add holds seat for the cart's user: the seat is reserved (a taken seat answers 409) and the
// cart sends itself expire(hold) after the hold time.
func (c carts) add(ctx sdk.ObjectContext, seat string) (Hold, error) {
	if seat == "" {
		return Hold{}, sdk.TerminalErrorf(400, "the seat must not be empty")
	}
	h := Hold{Seat: seat, ID: ctx.UUID()}
	if _, err := sdk.Call[sdk.Void](ctx, sdk.ToObject("Seat", seat, "reserve"), SeatRequest{User: ctx.Key(), Hold: h.ID}); err != nil {
		return Hold{}, err
	}
	holdFor, err := sdk.Run(ctx, func(sdk.RunContext) (time.Duration, error) { return c.holdFor(), nil }, sdk.WithName("hold time"))
	if err != nil {
		return Hold{}, err
	}
	sdk.Send(ctx, sdk.ToObject("Cart", ctx.Key(), "expire"), h, sdk.WithDelay(holdFor))
	v, err := sdk.Get[CartView](ctx, "cart")
	if err != nil {
		return Hold{}, err
	}
	v.Holds = append(v.Holds, h)
	return h, sdk.Set(ctx, "cart", v)
}

func (c carts) holdFor() time.Duration {
	if c.cfg.HoldFor == nil {
		return DefaultHold
	}
	return c.cfg.HoldFor()
}

// expire ends hold h: if it is still in the cart, the seat is released.
func (c carts) expire(ctx sdk.ObjectContext, h Hold) (sdk.Void, error) {
	v, err := sdk.Get[CartView](ctx, "cart")
	if err != nil {
		return sdk.Void{}, err
	}
	i := slices.Index(v.Holds, h)
	if i < 0 {
		v.Ended = append(v.Ended, "kept "+h.Seat)
		return sdk.Void{}, sdk.Set(ctx, "cart", v)
	}
	if _, err := sdk.Call[bool](ctx, sdk.ToObject("Seat", h.Seat, "release"), SeatRequest{User: ctx.Key(), Hold: h.ID}); err != nil {
		return sdk.Void{}, err
	}
	v.Holds = slices.Delete(v.Holds, i, i+1)
	v.Ended = append(v.Ended, "released "+h.Seat)
	return sdk.Void{}, sdk.Set(ctx, "cart", v)
}

// checkout sells every seat in the cart and issues their tickets; an empty cart answers 409.
func (c carts) checkout(ctx sdk.ObjectContext, _ sdk.Void) ([]Ticket, error) {
	v, err := sdk.Get[CartView](ctx, "cart")
	if err != nil {
		return nil, err
	}
	if len(v.Holds) == 0 {
		return nil, sdk.TerminalErrorf(409, "the cart of %s is empty", ctx.Key())
	}
	var tickets []Ticket
	for _, h := range v.Holds {
		if _, err := sdk.Call[sdk.Void](ctx, sdk.ToObject("Seat", h.Seat, "sell"), SeatRequest{User: ctx.Key(), Hold: h.ID}); err != nil {
			return nil, err
		}
		t := Ticket{ID: ctx.UUID(), Seat: h.Seat, User: ctx.Key()}
		if _, err := sdk.Run(ctx, func(rc sdk.RunContext) (sdk.Void, error) {
			return sdk.Void{}, c.cfg.BoxOffice.Issue(rc, t)
		}, sdk.WithName("issue "+h.Seat)); err != nil {
			return nil, err
		}
		tickets = append(tickets, t)
	}
	v.Holds = nil
	return tickets, sdk.Set(ctx, "cart", v)
}

func view(ctx sdk.ObjectSharedContext, _ sdk.Void) (CartView, error) {
	return sdk.Get[CartView](ctx, "cart")
}

// PrintingBoxOffice issues a ticket by printing it, once per ticket id (kept in memory: a
// real box office keeps them in its database).
type PrintingBoxOffice struct {
	Out io.Writer

	mu struct {
		sync.Mutex
		issued map[string]bool
	}
}

// Issue prints t unless its id was issued already.
func (b *PrintingBoxOffice) Issue(_ context.Context, t Ticket) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.issued[t.ID] {
		return nil
	}
	if _, err := fmt.Fprintf(b.Out, "ticket %s: seat %s for %s\n", t.ID, t.Seat, t.User); err != nil {
		return fmt.Errorf("print ticket %s: %w", t.ID, err)
	}
	if b.mu.issued == nil {
		b.mu.issued = map[string]bool{}
	}
	b.mu.issued[t.ID] = true
	return nil
}
