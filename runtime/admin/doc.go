// Package admin is the HTTP API of the admin port (9070 by default), compatible with the official
// Restate server's admin API (restate-server 1.7.12 is the reference):
//
//	POST   /deployments                        discover and register (201 new, 200 already there)
//	GET    /deployments, /deployments/{id}
//	PATCH  /deployments/{id}                   re-discover at a new address / with new headers
//	DELETE /deployments/{id}?force=true        remove it and the services it is the latest of
//	GET    /services, /services/{name}, /services/{name}/handlers[/{handler}]
//	PATCH  /services/{name}                    public, retentions, timeouts (and our retry_policy)
//	GET    /services/{name}/openapi            the service's ingress endpoints as OpenAPI 3.1
//	POST   /services/{name}/state, GET /services/{name}/state/{key}
//	PATCH  /invocations/{id}/cancel|kill|purge|purge-journal|pause|resume|restart-as-new
//	DELETE /invocations/{id}?mode=
//	GET    /invocations/{id}                   ours: status, pin and attempts (sys_invocation's names)
//	GET    /cluster-health                     members, shards, leaders as this node sees them
//	POST   /cluster/nodes, DELETE /cluster/nodes/{id}   ours: add a new node, remove a dead one
//	GET    /health, /version, /openapi         (/openapi describes exactly the routes served)
//
// Paths may carry an API version prefix /v2, /v3 or /v4; /v1 is answered 400, other versions 404.
// Routes are registered with Handler.handle, which records them: GET /openapi is built from that
// record (each route described as restate-server describes it, from its embedded document), and
// a known path asked with another method gets 405 with Allow.
//
// Registration runs discovery (package discovery) against the deployment with the client given in
// Deps, then calls Deps.Register (a registry.Client's Register, which proposes to the metadata
// shard). A changed registration of an already registered URI needs "force": true; unlike the
// official server, an absent "force" means false, so re-registering is idempotent and a changed
// endpoint is a 409 unless forced.
//
// Service settings changed by PATCH /services/{name} are stored through the metadata shard on the
// service's latest revision and replace the manifest's service-level settings (handler-level
// settings of the manifest still win for their handler, as in restate-server); a registration
// that changes nothing keeps them, a new revision of the service starts again from its manifest
// (what restate-server 1.7.12 does). The ingress, the invoker and retention all read the stored
// service, so what GET shows is what runs.
//
// Errors follow Restate: JSON {"message":"…","restate_code":"META…"|null} for API errors, plain
// text for malformed requests (422 bad body, 400 bad path id or non-JSON body, 415 wrong content
// type). Unknown routes (404) and wrong methods (405) also answer JSON, where restate-server
// answers an empty body.
//
// Handler is safe for concurrent use; reads go to the registry's lock-free view.
package admin
