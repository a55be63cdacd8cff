package replay_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/replay"
)

// change is an edit to the checkout handler, as a code change between two deployments.
type change struct {
	swapCalls   bool   // call Stock/reserve before Pricing/price
	runName     string // the Run's name ("charge" unless set)
	extraState  bool   // set "last" right after the calls: a step added
	skipSleep   bool   // no sleep: a step left out
	priceTarget string // Pricing's handler ("price" unless set)

	charges *atomic.Int32 // counts the Run closure's executions, if set
}

// shopEndpoint serves Shop (a Virtual Object whose checkout reads state, calls Pricing and
// Stock, charges in a Run, sleeps and writes state) with ch applied, and the services it calls.
func shopEndpoint(ch change) *sdk.Endpoint {
	if ch.runName == "" {
		ch.runName = "charge"
	}
	if ch.priceTarget == "" {
		ch.priceTarget = "price"
	}
	checkout := func(ctx sdk.ObjectContext, item string) (string, error) {
		count, err := sdk.Get[int](ctx, "count")
		if err != nil {
			return "", err
		}
		var price, stock int
		// A random order number (ctx.Rand, seeded by the runtime) in the journal: a replay with
		// another seed than the recorded one would not match.
		order := item + "#" + strconv.Itoa(ctx.Rand().IntN(1_000_000))
		if ch.swapCalls {
			if stock, err = sdk.Call[int](ctx, sdk.ToService("Stock", "reserve"), order); err == nil {
				price, err = sdk.Call[int](ctx, sdk.ToService("Pricing", ch.priceTarget), item)
			}
		} else {
			if price, err = sdk.Call[int](ctx, sdk.ToService("Pricing", ch.priceTarget), item); err == nil {
				stock, err = sdk.Call[int](ctx, sdk.ToService("Stock", "reserve"), order)
			}
		}
		if err != nil {
			return "", err
		}
		if ch.extraState {
			if err := sdk.Set(ctx, "last", item); err != nil {
				return "", err
			}
		}
		receipt, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) {
			if ch.charges != nil {
				ch.charges.Add(1)
			}
			return "receipt-" + item + "-" + time.Now().Format(time.RFC3339Nano), nil
		}, sdk.WithName(ch.runName))
		if err != nil {
			return "", err
		}
		if !ch.skipSleep {
			d := 10 * time.Millisecond
			if item == "slow" { // stays suspended in the sleep: a journal exported mid-way
				d = time.Hour
			}
			if err := sdk.Sleep(ctx, d); err != nil {
				return "", err
			}
		}
		if err := sdk.Set(ctx, "count", count+1); err != nil {
			return "", err
		}
		return receipt + " price " + strconv.Itoa(price) + " stock " + strconv.Itoa(stock), nil
	}
	shop := sdk.NewObject("Shop", sdk.WithJournalRetention(time.Hour)).
		Handler("checkout", sdk.ObjectHandler(checkout))
	pricing := sdk.NewService("Pricing").
		Handler("price", sdk.ServiceHandler(func(_ sdk.Context, item string) (int, error) { return 100 * len(item), nil })).
		Handler("quote", sdk.ServiceHandler(func(_ sdk.Context, item string) (int, error) { return 99 * len(item), nil }))
	stock := sdk.NewService("Stock").
		Handler("reserve", sdk.ServiceHandler(func(_ sdk.Context, item string) (int, error) { return 7, nil }))
	return sdk.NewEndpoint().Bind(shop, pricing, stock)
}

// want is what a replay must report.
type want struct {
	outcome            replay.Outcome
	command, entry     int
	journaled, handler string
}

// changes of checkout replayed against its journal when it completed. Commands: 0 Input,
// 1 GetState "count", 2 Call Pricing/price, 3 Call Stock/reserve, 4 Run "charge", 5 Sleep,
// 6 SetState "count", 7 Output; each call and the Run and the sleep followed by their
// notifications in the journal, so the entries are 0, 1, 2, 5, 8, 10, 12, 13.
var completedCases = []struct {
	name   string
	change change
	want   want
}{
	{"unchanged", change{}, want{outcome: replay.Completed, command: -1, entry: -1}},
	{"calls reordered", change{swapCalls: true}, want{replay.Mismatch, 2, 2, "Call Pricing/price", "Call Stock/reserve"}},
	{"Run renamed", change{runName: "bill"}, want{replay.Mismatch, 4, 8, `Run "charge"`, `Run "bill"`}},
	{"step added", change{extraState: true}, want{replay.Mismatch, 4, 8, `Run "charge"`, `SetState "last"`}},
	{"step left out", change{skipSleep: true}, want{replay.Mismatch, 5, 10, "Sleep", `SetState "count"`}},
	{"call target changed", change{priceTarget: "quote"}, want{replay.Mismatch, 2, 2, "Call Pricing/price", "Call Pricing/quote"}},
}

// check replays the handler changed by ch against j; the Run closure must not run.
func check(t *testing.T, ch change, j *replay.Journal) *replay.Report {
	t.Helper()
	ch.charges = new(atomic.Int32)
	r, err := replay.Check(context.Background(), shopEndpoint(ch), j)
	if err != nil {
		t.Fatal(err)
	}
	if n := ch.charges.Load(); n != 0 {
		t.Errorf("the Run closure ran %d times during the replay", n)
	}
	t.Log(r)
	return r
}

func expect(t *testing.T, r *replay.Report, w want) {
	t.Helper()
	got := want{r.Outcome, r.Command, r.Entry, r.Journaled, r.Handler}
	if w.outcome == replay.Completed || w.outcome == replay.Suspended {
		got.journaled, got.handler = w.journaled, w.handler
	}
	if got != w {
		t.Errorf("report %+v\nwant %+v\n%v", got, w, r)
	}
	if w.outcome == replay.Mismatch {
		if r.Code != 570 || !strings.Contains(r.Message, w.journaled) || !strings.Contains(r.Message, w.handler) {
			t.Errorf("the SDK's message does not name both commands or is not a 570: [%d] %s", r.Code, r.Message)
		}
		if s := r.String(); !strings.Contains(s, "journal has "+w.journaled+", handler issued "+w.handler) {
			t.Errorf("report text %q does not name both commands", s)
		}
	}
}
