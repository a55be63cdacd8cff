package server

import (
	"net/http"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/metrics"
)

// metricsPath serves the Prometheus metrics on the admin address (restate-server serves them at
// the same path on its node port).
const metricsPath = "/metrics"

// newMetrics defines the server's metrics; the partition gauges are read from the node once it
// exists.
func (s *Server) newMetrics() *metrics.Metrics {
	return metrics.New(func() ([]partition.Gauges, error) {
		if s.node == nil {
			return nil, nil
		}
		return s.node.Gauges()
	})
}

// invokerConfig is the configured invoker's, reporting to the metrics.
func (s *Server) invokerConfig() invoker.Config {
	c := s.cfg.Invoker
	c.Observer = s.metrics
	c.Tracer = s.tracer
	return c
}

// withMetrics answers GET /metrics and passes every other request to h.
func (s *Server) withMetrics(h http.Handler) http.Handler {
	m := s.metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			m.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
