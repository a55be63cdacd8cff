package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/resolute-run/resolute/actors/partition"
)

// unhealthyBody is the health endpoints' answer while a partition cannot run.
type unhealthyBody struct {
	Message    string             `json:"message"`
	Partitions []partition.Health `json:"partitions"`
}

// withHealth answers GET path with 503 and the partitions' states while one of them cannot run
// (it refuses work then); otherwise h answers as usual.
func (s *Server) withHealth(path string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == path {
			if err := s.node.Unhealthy(); err != nil {
				body, _ := json.Marshal(unhealthyBody{Message: err.Error(), Partitions: s.node.Health()})
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write(body)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
