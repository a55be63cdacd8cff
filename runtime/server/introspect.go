package server

import (
	"context"
	"log/slog"

	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/registry"
)

// querySource gives the introspection engine the partitions (each read at its leader, here or
// on another node) and this node's view of the registry (the metadata shard's).
type querySource struct{ s *Server }

func (q querySource) PartitionRows(ctx context.Context, rd introspect.Read) ([]introspect.Rows, error) {
	return q.s.node.Router().Rows(ctx, rd)
}

func (q querySource) Services() []registry.Service       { return q.s.registry.Services() }
func (q querySource) Deployments() []registry.Deployment { return q.s.registry.Deployments() }

// openQuery starts the SQL engine of POST /query (runtime/introspect); if it cannot start, the
// route answers 503 and the server runs on.
func (s *Server) openQuery() {
	e, err := introspect.Open(querySource{s}, introspect.Config{})
	if err != nil {
		slog.Error("introspection: SQL engine not started; POST /query answers 503", "err", err)
		return
	}
	s.query = e
}
