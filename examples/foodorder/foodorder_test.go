package foodorder_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/foodorder"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// messages collects what the workflow writes; the endpoint writes from several goroutines.
type messages struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (m *messages) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.Write(p)
}

func (m *messages) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

// TestRejectedOrder: the restaurant rejects the order over the ingress; the order fails with the
// restaurant's reason, its status says so, and the courier is never told.
func TestRejectedOrder(t *testing.T) {
	out := &messages{}
	env := sdktest.Start(t, foodorder.Endpoint(out))
	order := foodorder.Order{Restaurant: "Trattoria", Items: []string{"calzone"}, Address: "2 Main St"}
	if _, err := sdktest.Send(env, sdk.ToWorkflow("FoodOrder", "order-2", "run"), order); err != nil {
		t.Fatal(err)
	}
	st := waitInProcess(t, env, func(st foodorder.Status) bool { return st.Phase == foodorder.AwaitingRestaurant })
	resp, err := http.Post(env.IngressURL()+"/restate/awakeables/"+st.RestaurantAwakeable+"/reject", "text/plain", strings.NewReader("out of dough"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reject: status %d, want 202", resp.StatusCode)
	}
	st = waitInProcess(t, env, func(st foodorder.Status) bool { return st.Phase != foodorder.AwaitingRestaurant })
	if st != (foodorder.Status{Phase: foodorder.Failed, Reason: "out of dough"}) {
		t.Errorf("status %+v, want failed: out of dough", st)
	}
	if got := out.String(); !strings.HasPrefix(got, "to restaurant: order order-2 for Trattoria: calzone to 2 Main St;") || strings.Count(got, "\n") != 1 {
		t.Errorf("messages:\n%s\nwant the restaurant's only", got)
	}
}

// waitInProcess polls FoodOrder/order-2/status until done accepts it.
func waitInProcess(t *testing.T, env *sdktest.Env, done func(foodorder.Status) bool) foodorder.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := sdktest.Call[foodorder.Status](env, sdk.ToWorkflow("FoodOrder", "order-2", "status"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status still %+v after a minute", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
