// Package admin is the HTTP API of the admin port (9070 by default), compatible with the official
// Restate server's admin API for deployments and services:
//
//	POST /deployments                         discover and register (201 new, 200 already there)
//	GET  /deployments, /deployments/{id}
//	GET  /services, /services/{name}, /services/{name}/handlers[/{handler}]
//	GET  /health, /version
//
// Paths may carry an API version prefix /v2, /v3 or /v4; /v1 (and any other) is answered 400.
//
// Registration runs discovery (package discovery) against the deployment with the client given in
// Deps, then calls Deps.Register (a registry.Client's Register, which proposes to the metadata
// shard). A changed registration of an already registered URI needs "force": true; unlike the
// official server, an absent "force" means false, so re-registering is idempotent and a changed
// endpoint is a 409 unless forced.
//
// Errors follow Restate: JSON {"message":"…","restate_code":"META…"|null} for API errors, plain
// text for malformed requests (422 bad body, 400 bad path id, 415 wrong content type).
//
// Handler is safe for concurrent use; reads go to the registry's lock-free view.
package admin
