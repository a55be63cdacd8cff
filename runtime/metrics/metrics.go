package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Source reads the gauges of this node's partition replicas at a scrape
// (partition.Node.Gauges).
type Source func() ([]partition.Gauges, error)

// statusClasses are the values of the status_class label: 1xx … 5xx and "other".
var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	if status >= 100 && status < 600 {
		return status / 100
	}
	return 0
}

// Metrics is the registry and the metrics the runtime reports to. It implements
// ingress.Observer, invoker.Observer and partition.Observer.
type Metrics struct {
	reg *prometheus.Registry

	requestVec *prometheus.HistogramVec
	// requests caches requestVec's children, each created at its first request (so that only
	// the kinds and classes seen are exported) and then read without a label lookup.
	requests      [ingress.NumRouteKinds][len(statusClasses)]atomic.Pointer[prometheus.Observer]
	commitLatency prometheus.Histogram
	journal       prometheus.Counter

	attempts, failures *prometheus.CounterVec
	// byDeployment caches each deployment's counters (ids.DeploymentID → *deploymentCounters).
	byDeployment sync.Map
}

type deploymentCounters struct{ attempts, failures prometheus.Counter }

// New defines the metrics on a registry of their own; source may be nil (no partition gauges).
func New(source Source) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requestVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "restate_ingress_request_duration_seconds",
		Help:    "Latency of ingress requests, from the request to the answer, by route kind (rpc_type) and status class.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms … 16 s
	}, []string{"rpc_type", "status_class"})
	m.commitLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "resolute_raft_commit_latency_seconds",
		Help:    "Time from proposing a log entry to seeing it applied, as the proposing replica sees it.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 0.1 ms … 13 s
	})
	m.journal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "resolute_journal_entries_appended_total",
		Help: "Journal entries appended by attempts (AppendEntry commands applied) that this node proposed.",
	})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resolute_invoker_attempts_total",
		Help: "Invocation attempts sent to a deployment: ended, suspended, failed or aborted.",
	}, []string{"deployment"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resolute_invoker_attempt_failures_total",
		Help: "Invocation attempts that failed (retried, or ending in pause or failure by the runtime); aborted and stale ones are not failures.",
	}, []string{"deployment"})
	m.reg.MustRegister(m.requestVec, m.commitLatency, m.journal, m.attempts, m.failures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if source != nil {
		m.reg.MustRegister(partitionCollector{source})
	}
	return m
}

// Registry is the registry the metrics are defined on (tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorLog: slogLogger{}})
}

// ObserveRequest implements ingress.Observer.
func (m *Metrics) ObserveRequest(kind ingress.RouteKind, status int, elapsed time.Duration) {
	if kind >= ingress.NumRouteKinds {
		kind = ingress.RouteOther
	}
	m.requestObserver(kind, statusClass(status)).Observe(elapsed.Seconds())
}

func (m *Metrics) requestObserver(kind ingress.RouteKind, class int) prometheus.Observer {
	slot := &m.requests[kind][class]
	if o := slot.Load(); o != nil {
		return *o
	}
	o := m.requestVec.WithLabelValues(kind.String(), statusClasses[class])
	slot.Store(&o)
	return o
}

// EntryApplied implements partition.Observer.
func (m *Metrics) EntryApplied(elapsed time.Duration, journalAppended int) {
	m.commitLatency.Observe(elapsed.Seconds())
	if journalAppended > 0 {
		m.journal.Add(float64(journalAppended))
	}
}

// Attempted implements invoker.Observer.
func (m *Metrics) Attempted(deployment ids.DeploymentID, failed bool) {
	c, ok := m.byDeployment.Load(deployment)
	if !ok {
		d := deployment.String()
		c, _ = m.byDeployment.LoadOrStore(deployment, &deploymentCounters{m.attempts.WithLabelValues(d), m.failures.WithLabelValues(d)})
	}
	dc := c.(*deploymentCounters)
	dc.attempts.Inc()
	if failed {
		dc.failures.Inc()
	}
}

// invocationStatuses names the phases as restate-server's sys_invocation.status does.
var invocationStatuses = [...]struct {
	phase storage.Phase
	name  string
}{
	{storage.Inboxed, "pending"},
	{storage.Scheduled, "scheduled"},
	{storage.Running, "running"},
	{storage.Suspended, "suspended"},
	{storage.Paused, "paused"},
	{storage.Completed, "completed"},
}

var (
	descInvocations = prometheus.NewDesc("resolute_invocations",
		"Invocations in the partitions this node leads, by status (sys_invocation's names; running includes backing-off).",
		[]string{"status"}, nil)
	descTimers = prometheus.NewDesc("resolute_timers_pending",
		"Durable timers not fired yet (sleeps and delayed invocations) in the partitions this node leads.", nil, nil)
	descLeader = prometheus.NewDesc("resolute_partition_leader",
		"1 if this node's replica of the partition is its leader, 0 otherwise.", []string{"partition"}, nil)
	descLeaders = prometheus.NewDesc("restate_num_active_partition_leaders",
		"Partitions this node leads.", nil, nil)
	descQueued = prometheus.NewDesc("resolute_partition_proposals_queued",
		"Proposals queued or in flight in the partition's proposer (the admission bound's measure).", []string{"partition"}, nil)
)

// partitionCollector reads the partitions' gauges at each scrape.
type partitionCollector struct{ source Source }

func (c partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInvocations, descTimers, descLeader, descLeaders, descQueued} {
		ch <- d
	}
}

func (c partitionCollector) Collect(ch chan<- prometheus.Metric) {
	gauges, err := c.source()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descInvocations, err)
		return
	}
	var phases storage.PhaseCounts
	timers, leaders := 0, 0
	for _, g := range gauges {
		p := strconv.FormatUint(uint64(g.ID), 10)
		leader := 0.0
		if g.Leader {
			leader = 1
			leaders++
		}
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader, p)
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(g.Queued), p)
		for i, n := range g.Phases {
			phases[i] += n
		}
		timers += g.Timers
	}
	for _, s := range invocationStatuses {
		ch <- prometheus.MustNewConstMetric(descInvocations, prometheus.GaugeValue, float64(phases[s.phase]), s.name)
	}
	ch <- prometheus.MustNewConstMetric(descTimers, prometheus.GaugeValue, float64(timers))
	ch <- prometheus.MustNewConstMetric(descLeaders, prometheus.GaugeValue, float64(leaders))
}

// slogLogger passes promhttp's errors to slog.
type slogLogger struct{}

func (slogLogger) Println(v ...any) { slog.Error("metrics: serve", "err", v) }
