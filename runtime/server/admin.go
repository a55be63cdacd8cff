package server

import (
	"net/http"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/console"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/version"
)

// Version is reported by the admin API's GET /version.
const Version = version.Version

// adminHandler serves the admin API over the registry, and the web console at /ui (runtime/console);
// registrations go through the metadata shard.
func (s *Server) adminHandler() http.Handler {
	maxProto := s.cfg.Invoker.MaxProtocol
	if maxProto == 0 {
		maxProto = protocol.MaxVersion
	}
	return console.Mount(admin.New(admin.Config{
		Version:         Version,
		IngressEndpoint: s.IngressURL() + "/",
		ProtocolV7:      maxProto >= protocol.V7,
		Policy:          s.invoker.Defaults(),
	}, admin.Deps{
		Registry:         s.registry,
		Register:         s.registryClient().Register,
		ModifyService:    s.registryClient().ModifyService,
		DeleteDeployment: s.registryClient().DeleteDeployment,
		UpdateDeployment: s.registryClient().UpdateDeployment,
		Discovery:        s.client,
		DiscoveryHTTP11:  s.http11Client(),
		Invocations:      s.node.Router(),
		Attempts:         s.invoker.Attempts,
		ClusterHealth:    s.clusterHealth,
		ClusterNodes:     s.clusterNodes(),
		States:           s.node.Router(),
		KafkaView:        s.registry,
		KafkaChanges:     s.registryClient(),
		Query:            s.querier(),
	}))
}

// querier is POST /query's engine, started on first use of the admin handler; nil if it did not
// start (the route answers 503).
func (s *Server) querier() admin.Querier {
	if s.query == nil {
		s.openQuery()
	}
	if s.query == nil {
		return nil
	}
	return s.query
}
