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

// orphansPath (admin port) lists the running invocations without an attempt (stuck): the chaos
// checker reads it once the load has drained.
const orphansPath = "/debug/orphans"

type orphansBody struct {
	Orphans []string `json:"orphans"`
}

func (s *Server) orphans(w http.ResponseWriter) {
	list, err := s.node.Orphans()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body := orphansBody{Orphans: []string{}}
	for _, id := range list {
		body.Orphans = append(body.Orphans, id.String())
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// withHealth answers GET path with 503 and the partitions' states while one of them cannot run
// (it refuses work then); otherwise h answers as usual.
func (s *Server) withHealth(path string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && path == "/health" && r.URL.Path == orphansPath {
			s.orphans(w)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == path {
			if !s.started.Load() {
				body, _ := json.Marshal(unhealthyBody{Message: "the server is starting"})
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write(body)
				return
			}
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
