package kafka

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// gate is a sink whose handler Gate/add holds every key starting with "b" until release is
// closed, and lets the others through. It counts, per key, the handler's entries and ends.
type gate struct {
	release chan struct{}
	mu      sync.Mutex
	entered map[string]int
	ended   map[string]int
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), entered: map[string]int{}, ended: map[string]int{}}
}

func (g *gate) endpoint() *sdk.Endpoint {
	o := sdk.NewObject("Gate").Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
		g.mu.Lock()
		g.entered[ctx.Key()]++
		g.mu.Unlock()
		if strings.HasPrefix(ctx.Key(), "b") {
			select {
			case <-g.release:
			case <-time.After(2 * time.Minute):
				return 0, fmt.Errorf("never released")
			}
		}
		g.mu.Lock()
		g.ended[ctx.Key()]++
		g.mu.Unlock()
		return n, nil
	}))
	return sdk.NewEndpoint().Bind(o)
}

// count sums entered (or ended) over the keys with prefix.
func (g *gate) count(ended bool, prefix string) (keys, total int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.entered
	if ended {
		m = g.ended
	}
	for k, n := range m {
		if strings.HasPrefix(k, prefix) {
			keys++
			total += n
		}
	}
	return keys, total
}

func keyed(keys ...string) []*kgo.Record {
	var recs []*kgo.Record
	for i, k := range keys {
		recs = append(recs, &kgo.Record{Key: []byte(k), Value: []byte(strconv.Itoa(i))})
	}
	return recs
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

// TestInFlightBoundAndSlowKeys (in-flight bound 10): a key whose handler is held does not hold up
// the other keys, and the subscription never has more than 10 invocations made and not ended.
//
// Five records of the held key b-slow (one runs, four wait in its inbox: five tokens) and then
// 100 records of 100 other keys: all 100 are handled while b-slow is held. Then 20 records of 20
// held keys: only 5 of them start (10 tokens, 5 held by b-slow), and no more while they are held;
// released, everything ends, each record once.
func TestInFlightBoundAndSlowKeys(t *testing.T) {
	g := newGate()
	kc, _, _ := setupSink(t, g.endpoint(), "Gate/add", `,"resolute.max.in.flight":"10"`)
	produceRecords(t, kc, keyed(append([]string{"b-slow", "b-slow", "b-slow", "b-slow", "b-slow"}, names("f", 100)...)...))
	testenv.WaitReady(t, "the 100 free keys handled while b-slow is held", time.Minute, func() error {
		if keys, total := g.count(true, "f"); keys != 100 || total != 100 {
			return fmt.Errorf("%d free keys ended, %d times", keys, total)
		}
		return nil
	})
	if _, entered := g.count(false, "b-slow"); entered != 1 {
		t.Fatalf("b-slow entered %d times while held, want 1 (its other records wait in its inbox)", entered)
	}

	produceRecords(t, kc, keyed(names("b", 20)...))
	const want = 1 + 5 // b-slow, and 5 of the 20 held keys: 10 tokens, 5 held by b-slow's records
	testenv.WaitReady(t, "5 of the 20 held keys started", time.Minute, func() error {
		if keys, _ := g.count(false, "b"); keys != want {
			return fmt.Errorf("%d held keys entered", keys)
		}
		return nil
	})
	// The bound holds: nothing more starts while they are held. (An invocation past the bound
	// would start within milliseconds; this is how long the test looks.)
	time.Sleep(time.Second)
	if keys, total := g.count(false, "b"); keys != want || total != want {
		t.Fatalf("%d held keys entered (%d entries) with 10 invocations in flight at most, want %d", keys, total, want)
	}
	close(g.release)
	testenv.WaitReady(t, "everything ended", time.Minute, func() error {
		if keys, total := g.count(true, "b"); keys != 21 || total != 25 {
			return fmt.Errorf("%d held keys ended, %d times", keys, total)
		}
		return nil
	})
	for prefix, want := range map[string]int{"f": 100, "b": 25} {
		if _, entered := g.count(false, prefix); entered != want {
			t.Errorf("keys %s*: entered %d times, want %d (each record once)", prefix, entered, want)
		}
	}
}

// TestDeletedSubscriptionStops: deleting a subscription closes its consumer, which leaves its
// consumer group (a static member does not on its own), and later records are not consumed.
func TestDeletedSubscriptionStops(t *testing.T) {
	kc, srv, _, sub := setup(t, "")
	produce(t, kc, 0, 40, 4)
	waitAll(t, srv, 40, 4)
	if n := testenv.KafkaGroupMembers(t, kc.ListenAddrs(), sub); n != 1 {
		t.Fatalf("consumer group %s has %d members while consuming, want 1", sub, n)
	}
	req, err := http.NewRequest(http.MethodDelete, srv.Admin+"/subscriptions/"+sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE /subscriptions/%s: %d, want 202", sub, resp.StatusCode)
	}
	testenv.WaitReady(t, "the consumer left its group", 30*time.Second, func() error {
		if n := testenv.KafkaGroupMembers(t, kc.ListenAddrs(), sub); n != 0 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})
	produce(t, kc, 40, 40, 4)
	time.Sleep(time.Second) // a consumer still running would handle them within milliseconds
	total := 0
	for _, l := range seen(t, srv, 4) {
		total += len(l)
	}
	if total != 40 {
		t.Errorf("%d records handled, want the 40 produced before the subscription was deleted", total)
	}
}
