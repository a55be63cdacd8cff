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
// idempotency key, a workflow key) is. The invocation's nonce tells them apart. Each is told the
// execution time of the invocation that holds the id: the first request's, not its own.
func TestResentRequestToldApartFromAnother(t *testing.T) {
	var runs atomic.Int64
	n := startNode(t, t.TempDir(), counterEndpoint(&runs))
	defer n.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv := objectInvocation("nonce", 1)
	first := time.Now().Add(time.Hour).UnixMilli() // a delayed send
	for _, step := range []struct {
		what  string
		nonce uint64
		at    int64 // the request's execution time
		want  bool
	}{
		{"first proposal", 11, first, false},
		{"the same request proposed again", 11, first, false},
		{"another request for the same id", 12, first + 60_000, true},
	} {
		inv.Nonce, inv.ExecutionTime = step.nonce, step.at
		previously, at, err := n.node.Router().Send(ctx, inv)
		if err != nil || previously != step.want || at != first {
			t.Errorf("%s: previously %v, execution time %d, %v; want %v, %d (the first request's)", step.what, previously, at, err, step.want, first)
		}
	}
}
