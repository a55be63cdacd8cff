package partition

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestResentRequestToldApartFromAnother: a request proposed again (its first proposal's outcome
// was unknown: a dropped proposal during a leader transfer, a lost node) finds its own
// invocation, which is not "previously accepted"; another request for the same invocation id (an
// idempotency key, a workflow key) is. The invocation's nonce tells them apart.
func TestResentRequestToldApartFromAnother(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs))
	defer n.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv := objectInvocation("nonce", 1)
	inv.Nonce = 11
	for _, step := range []struct {
		what  string
		nonce uint64
		want  bool
	}{
		{"first proposal", 11, false},
		{"the same request proposed again", 11, false},
		{"another request for the same id", 12, true},
	} {
		inv.Nonce = step.nonce
		previously, err := n.node.Router().Send(ctx, inv)
		if err != nil || previously != step.want {
			t.Errorf("%s: previously %v, %v; want %v", step.what, previously, err, step.want)
		}
	}
}
