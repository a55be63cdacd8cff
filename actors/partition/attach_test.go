package partition

import (
	"context"
	"testing"
	"time"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/sdk"
)

// parkedEndpoint serves Parked/wait, which ends with "got " and the value its first awakeable
// (signal index 17) is resolved with.
func parkedEndpoint() *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(sdk.NewService("Parked").
		Handler("wait", sdk.ServiceHandler(func(ctx sdk.Context, _ string) (string, error) {
			v, err := sdk.Awakeable[string](ctx).Result()
			return "got " + v, err
		})))
}

func parkedInvocation(name string) command.Invocation {
	var e [16]byte
	copy(e[:], name)
	return command.Invocation{
		ID:     ids.NewInvocationID(ids.HashPartitionKey(name), e),
		Target: command.Target{Service: "Parked", Handler: "wait", ServiceType: command.Service},
		Input:  []byte(`"x"`),
	}
}

// resolveParked resolves the awakeable of a Parked/wait invocation with the JSON string v.
func resolveParked(t *testing.T, r *Router, id ids.InvocationID, v string) {
	t.Helper()
	sig, ok := promises.Resolution(promises.AwakeableID{Invocation: id, Index: 17}, command.Result{Value: []byte(`"` + v + `"`)})
	if !ok {
		t.Fatalf("no signal for the awakeable of %s", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Signal(ctx, sig); err != nil {
		t.Fatal(err)
	}
}

// TestAttachAndOutput: Output reads an invocation now (no result while it runs, its result and
// end time once it ended, not found for an unknown id); Attach answers an ended or unknown one at
// once and waits for a running one. An end applied right after Attach read the status (the
// window between the read and the wait) is not missed: the hook ends the invocation there and
// waits until the partition has carried out its Finished action.
func TestAttachAndOutput(t *testing.T) {
	n := startNode(t, t.TempDir(), parkedEndpoint())
	defer n.close()
	r := n.node.Router()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	unknown := parkedInvocation("unknown").ID
	if _, found, err := r.Output(ctx, unknown); found || err != nil {
		t.Fatalf("output of an unknown id: found %v, %v", found, err)
	}
	if _, found, err := r.Attach(ctx, unknown); found || err != nil {
		t.Fatalf("attach to an unknown id: found %v, %v", found, err)
	}

	inv := parkedInvocation("window")
	if _, _, err := r.Send(ctx, inv); err != nil {
		t.Fatal(err)
	}
	a, found, err := r.Output(ctx, inv.ID)
	if err != nil || !found || a.Result != nil || a.Target != inv.Target {
		t.Fatalf("output while running: %+v found %v, %v", a, found, err)
	}
	p := r.For(inv.ID.PartitionKey)
	p.attachRead = func(id ids.InvocationID) {
		// The invocation ends now; once the partition has resolved every caller waiting then
		// (done shows it), Attach, which registered before reading, must have its result too.
		done := p.waiters.add(id)
		defer p.waiters.remove(id, done)
		resolveParked(t, r, id, "late")
		select {
		case <-done:
		case <-ctx.Done():
			t.Errorf("the invocation did not end: %v", ctx.Err())
		}
	}
	a, found, err = r.Attach(ctx, inv.ID)
	p.attachRead = nil
	if err != nil || !found || a.Result == nil || string(a.Result.Value) != `"got late"` || a.EndedAt != 0 {
		t.Fatalf("attach across the end: %+v found %v, %v", a, found, err)
	}

	// Ended: both answer at once, with the end time.
	before := time.Now().UnixMilli()
	for _, op := range []struct {
		name string
		f    func(context.Context, ids.InvocationID) (a ingress.Attachment, found bool, err error)
	}{{"output", r.Output}, {"attach", r.Attach}} {
		a, found, err := op.f(ctx, inv.ID)
		if err != nil || !found || a.Result == nil || string(a.Result.Value) != `"got late"` || a.EndedAt == 0 || a.EndedAt > before {
			t.Fatalf("%s after the end: %+v found %v, %v (ended before %d)", op.name, a, found, err, before)
		}
	}
}
