//go:build linux

package foodorder_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/foodorder"
	"github.com/resolute-run/resolute/tests/testenv"
)

// orderTimeout bounds each wait for the workflow to reach a phase.
const orderTimeout = 60 * time.Second

// TestOrderAcrossSIGKILL runs `resolute server` and the foodorder deployment as processes,
// submits an order, and SIGKILLs the server twice while the workflow waits: once on the
// restaurant's awakeable, once on the courier's durable promise; either while the invocation's
// stream is open or once it has suspended. Each time the server restarts on the same data
// directory, the wait is resolved from outside (the awakeable over the ingress API, the promise
// through the shared handler "delivered"), and in the end the order finishes with the right
// receipt (attached to over the ingress), each message of the workflow was sent exactly once,
// and late duplicates and a second submission of the order change nothing.
func TestOrderAcrossSIGKILL(t *testing.T) {
	bins := binaries{resolute: testenv.ResoluteBinary(t), foodorder: buildDeployment(t)}
	for _, tc := range []struct {
		name      string
		args      []string
		suspended bool // wait for the invocation to suspend before each kill
	}{
		// The default inactivity timeout (a minute) keeps the stream open while the test runs.
		{name: "stream open", suspended: false},
		{name: "suspended", args: []string{"--inactivity-timeout", "300ms"}, suspended: true},
	} {
		t.Run(tc.name, func(t *testing.T) { orderAcrossSIGKILL(t, bins, tc.args, tc.suspended) })
	}
}

type binaries struct{ resolute, foodorder string }

func orderAcrossSIGKILL(t *testing.T, bins binaries, serverArgs []string, suspended bool) {
	dep := startDeployment(t, bins.foodorder)
	tap := testenv.StartWiretap(t, dep.url)
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bins.resolute, Args: serverArgs})
	if _, err := testenv.Register(srv.Admin, tap.URL); err != nil {
		t.Fatal(err)
	}
	order := `{"restaurant":"Trattoria","items":["margherita","tiramisu"],"address":"1 Main St"}`
	accepted := mustPost(t, srv.Ingress+"/FoodOrder/order-1/run/send", order, 202)
	var acc struct {
		InvocationID string `json:"invocationId"`
		Status       string `json:"status"`
	}
	if err := json.Unmarshal(accepted.Body, &acc); err != nil || acc.InvocationID == "" {
		t.Fatalf("submit: answer %s: %v", accepted.Body, err)
	}
	// kill SIGKILLs the server once the run waits as the case says, and restarts it.
	kill := func() {
		t.Helper()
		waitAttempt(t, tap, srv, acc.InvocationID, suspended)
		srv.Kill()
		srv.Restart()
	}

	// Waiting for the restaurant: the awakeable's id is in the status once the restaurant was
	// told (its message is journaled before the status is written).
	st := waitPhase(t, srv, foodorder.AwaitingRestaurant)
	awakeable := st.RestaurantAwakeable
	if !strings.HasPrefix(awakeable, "sign_1") {
		t.Fatalf("status %+v: the awakeable id should be a sign_1… id", st)
	}
	kill()
	if st := status(t, srv); st.Phase != foodorder.AwaitingRestaurant || st.RestaurantAwakeable != awakeable {
		t.Fatalf("after the restart: status %+v, want %q with awakeable %s", st, foodorder.AwaitingRestaurant, awakeable)
	}
	// The restaurant's webhook.
	mustPost(t, srv.Ingress+"/restate/awakeables/"+awakeable+"/resolve", `{"readyInMinutes":25}`, 202)

	// Waiting for the courier (told before the status changed) on the promise "delivered".
	waitPhase(t, srv, foodorder.AwaitingCourier)
	kill()
	if st := status(t, srv); st.Phase != foodorder.AwaitingCourier {
		t.Fatalf("after the second restart: status %+v, want %q", st, foodorder.AwaitingCourier)
	}
	// A late duplicate of the webhook changes nothing.
	mustPost(t, srv.Ingress+"/restate/awakeables/"+awakeable+"/resolve", `{"readyInMinutes":99}`, 202)
	mustPost(t, srv.Ingress+"/FoodOrder/order-1/delivered", `"Dana"`, 200)

	// The receipt: the result of the workflow's run.
	want := foodorder.Receipt{Order: "order-1", ReadyInMinutes: 25, Courier: "Dana"}
	if got := attach(t, srv, "FoodOrder", "order-1"); got != want {
		t.Errorf("receipt %+v, want %+v", got, want)
	}
	if st := status(t, srv); st != (foodorder.Status{Phase: foodorder.Delivered, Courier: "Dana"}) {
		t.Errorf("final status %+v, want delivered by Dana", st)
	}
	// A second report finds the promise completed (Restate's 409) and changes nothing.
	mustPost(t, srv.Ingress+"/FoodOrder/order-1/delivered", `"Eve"`, 409)
	// The order runs once per id: submitting it again is answered as Restate does, by the
	// invocation already accepted.
	again := mustPost(t, srv.Ingress+"/FoodOrder/order-1/run/send", order, 202)
	var acc2 struct {
		InvocationID string `json:"invocationId"`
		Status       string `json:"status"`
	}
	if err := json.Unmarshal(again.Body, &acc2); err != nil || acc2.InvocationID != acc.InvocationID || acc2.Status != "PreviouslyAccepted" {
		t.Errorf("second submission: answer %s (%v), want PreviouslyAccepted by %s", again.Body, err, acc.InvocationID)
	}
	// Each message went out exactly once, across both crashes and the duplicates.
	dep.wantMessages(t, map[string]int{
		"to restaurant: order order-1 for Trattoria: margherita, tiramisu to 1 Main St; confirm by resolving awakeable " + awakeable: 1,
		"to courier: order order-1: pick up at Trattoria in 25 minutes, deliver to 1 Main St":                                        1,
		"to customer: order order-1 delivered by Dana":                                                                               1,
	})
}

// deployment is the foodorder deployment process; its stdout is the workflow's messages.
type deployment struct {
	url  string
	proc *testenv.Proc
}

// buildDeployment builds ./examples/foodorder/cmd/foodorder.
func buildDeployment(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build the foodorder deployment)")
	bin := filepath.Join(t.TempDir(), "foodorder")
	testenv.GoBuild(t, goTool, root, bin, "./examples/foodorder/cmd/foodorder")
	return bin
}

// startDeployment runs the deployment binary on a free port.
func startDeployment(t *testing.T, bin string) *deployment {
	t.Helper()
	addr := testenv.Addr(testenv.FreePorts(t, 1)[0])
	p := testenv.StartProc(t, "foodorder", t.TempDir(), exec.Command(bin, "--addr", addr))
	d := &deployment{url: "http://" + addr, proc: p}
	testenv.WaitReady(t, "foodorder deployment", 30*time.Second, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, d.url+"/health", 200)
	}, p)
	return d
}

// waitAttempt checks how the run waits before a kill: with suspended, it waits until the
// latest attempt of the invocation has suspended; otherwise the latest attempt must still be
// open (not suspended, its stream not ended by the runtime).
func waitAttempt(t *testing.T, tap *testenv.Wiretap, srv *testenv.Server, invocationID string, suspended bool) {
	t.Helper()
	latest := func() (testenv.Stream, error) {
		attempts := tap.Attempts(invocationID)
		if len(attempts) == 0 {
			return testenv.Stream{}, fmt.Errorf("no attempt of %s recorded", invocationID)
		}
		return attempts[len(attempts)-1], nil
	}
	if suspended {
		testenv.WaitReady(t, "suspension of the run", orderTimeout, func() error {
			a, err := latest()
			if err == nil && !a.Has(testenv.FrameSuspension) {
				err = fmt.Errorf("latest attempt not suspended: %v", a)
			}
			return err
		}, srv.Proc())
		return
	}
	a, err := latest()
	if err != nil {
		t.Fatal(err)
	}
	if a.Has(testenv.FrameSuspension) || a.RuntimeDone {
		t.Fatalf("the run's latest attempt ended before the kill, want it open: %v", a)
	}
}

// messages counts the message lines on the deployment's stdout.
func (d *deployment) messages(t *testing.T) map[string]int {
	t.Helper()
	out, err := d.proc.LogTail(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "to ") {
			got[l]++
		}
	}
	return got
}

// wantMessages checks how often each message line appears on the deployment's stdout, and that
// no other message does.
func (d *deployment) wantMessages(t *testing.T, want map[string]int) {
	t.Helper()
	got := d.messages(t)
	for l, n := range want {
		if got[l] != n {
			t.Errorf("message %q sent %d times, want %d", l, got[l], n)
		}
		delete(got, l)
	}
	for l, n := range got {
		t.Errorf("unexpected message %q (%d times)", l, n)
	}
}

// status calls FoodOrder/order-1/status.
func status(t *testing.T, srv *testenv.Server) foodorder.Status {
	t.Helper()
	r := mustPost(t, srv.Ingress+"/FoodOrder/order-1/status", "", 200)
	var st foodorder.Status
	if err := json.Unmarshal(r.Body, &st); err != nil && len(r.Body) > 0 {
		t.Fatalf("status %s: %v", r.Body, err)
	}
	return st
}

// waitPhase polls the status until the order reaches phase.
func waitPhase(t *testing.T, srv *testenv.Server, phase string) foodorder.Status {
	t.Helper()
	var st foodorder.Status
	testenv.WaitReady(t, "order in phase "+phase, orderTimeout, func() error {
		r, err := testenv.Invoke(srv.Ingress, "/FoodOrder/order-1/status", "")
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("status: %v", r)
		}
		st = foodorder.Status{}
		if len(r.Body) > 0 {
			if err := json.Unmarshal(r.Body, &st); err != nil {
				return fmt.Errorf("status %s: %w", r.Body, err)
			}
		}
		if st.Phase == foodorder.Failed {
			t.Fatalf("the order failed: %+v", st)
		}
		if st.Phase != phase {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	}, srv.Proc())
	return st
}

// attach waits for the result of the workflow's run over the ingress
// (GET /restate/workflow/{name}/{key}/attach).
func attach(t *testing.T, srv *testenv.Server, workflow, key string) foodorder.Receipt {
	t.Helper()
	resp, err := testenv.HTTPClient.Get(srv.Ingress + "/restate/workflow/" + workflow + "/" + key + "/attach")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("attach to %s/%s: status %d, body %s", workflow, key, resp.StatusCode, body)
	}
	var r foodorder.Receipt
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("attach to %s/%s: %s: %v", workflow, key, body, err)
	}
	return r
}

// mustPost POSTs body (JSON; empty for none) and fails the test unless the status is want.
func mustPost(t *testing.T, url, body string, want int) testenv.Reply {
	t.Helper()
	r, err := testenv.Post(testenv.HTTPClient, url, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("POST %s: %v, want %d", url, r, want)
	}
	return r
}
