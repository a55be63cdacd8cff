package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/storage"
)

// TestHooksDoNotAllocate: the hooks on the request path (an ingress request, an applied entry,
// an attempt of a deployment already seen) cost no allocation.
func TestHooksDoNotAllocate(t *testing.T) {
	m := New(nil)
	d := ids.NewDeploymentID([16]byte{1})
	m.Attempted(d, false) // the first of a deployment, or of a kind and class, resolves its series
	m.ObserveRequest(ingress.RouteCall, 200, time.Millisecond)
	tests := []struct {
		name string
		f    func()
	}{
		{"ObserveRequest", func() { m.ObserveRequest(ingress.RouteCall, 200, time.Millisecond) }},
		{"EntryApplied", func() { m.EntryApplied(time.Millisecond, 3) }},
		{"Attempted", func() { m.Attempted(d, true) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}

// TestPartitionGauges: the gauges read from the partitions are summed over the partitions this
// node leads; leadership and queues are per partition; a failed read fails the scrape.
func TestPartitionGauges(t *testing.T) {
	var phases0, phases2 storage.PhaseCounts
	phases0[storage.Running], phases0[storage.Completed] = 2, 5
	phases2[storage.Running], phases2[storage.Suspended] = 1, 4
	gauges := []partition.Gauges{
		{ID: 0, Leader: true, Queued: 3, Phases: phases0, Timers: 2},
		{ID: 1, Leader: false},
		{ID: 2, Leader: true, Phases: phases2, Timers: 1},
	}
	var fail error
	m := New(func() ([]partition.Gauges, error) { return gauges, fail })
	want := `
# HELP resolute_invocations Invocations in the partitions this node leads, by status (sys_invocation's names; running includes backing-off).
# TYPE resolute_invocations gauge
resolute_invocations{status="completed"} 5
resolute_invocations{status="paused"} 0
resolute_invocations{status="pending"} 0
resolute_invocations{status="running"} 3
resolute_invocations{status="scheduled"} 0
resolute_invocations{status="suspended"} 4
# HELP resolute_partition_leader 1 if this node's replica of the partition is its leader, 0 otherwise.
# TYPE resolute_partition_leader gauge
resolute_partition_leader{partition="0"} 1
resolute_partition_leader{partition="1"} 0
resolute_partition_leader{partition="2"} 1
# HELP resolute_partition_proposals_queued Proposals queued or in flight in the partition's proposer (the admission bound's measure).
# TYPE resolute_partition_proposals_queued gauge
resolute_partition_proposals_queued{partition="0"} 3
resolute_partition_proposals_queued{partition="1"} 0
resolute_partition_proposals_queued{partition="2"} 0
# HELP resolute_timers_pending Durable timers not fired yet (sleeps and delayed invocations) in the partitions this node leads.
# TYPE resolute_timers_pending gauge
resolute_timers_pending 3
# HELP restate_num_active_partition_leaders Partitions this node leads.
# TYPE restate_num_active_partition_leaders gauge
restate_num_active_partition_leaders 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "resolute_invocations", "resolute_partition_leader",
		"resolute_partition_proposals_queued", "resolute_timers_pending", "restate_num_active_partition_leaders"); err != nil {
		t.Error(err)
	}

	fail = errors.New("partition 1: read gauges: disk on fire")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("scrape with a failed read: %d, want 500 naming the error", rec.Code)
	}
}

// BenchmarkHooks: what one call costs the request path: an ingress request, one applied entry
// and one attempt.
func BenchmarkHooks(b *testing.B) {
	m := New(nil)
	d := ids.NewDeploymentID([16]byte{1})
	for b.Loop() {
		m.ObserveRequest(ingress.RouteCall, 200, time.Millisecond)
		m.EntryApplied(time.Millisecond, 2)
		m.Attempted(d, false)
	}
}
