// Package registry owns the cluster's service metadata: registered deployments and the services
// (with their handlers) they expose. It is the deterministic state machine of the metadata Raft
// shard plus the read view the ingress, the invoker and the admin API use.
//
// Writes: a proposer (the admin API) runs discovery, builds a RegisterRequest and calls
// Client.Register, which stamps the time and the new deployment id, encodes a Command (msgpack,
// versioned like package command) and proposes it. Registry.Apply decides the outcome
// deterministically from the tables in the batch; the result (created, unchanged, overwritten,
// or rejected with a Restate error code) goes back to the proposer.
//
// Rules (Restate-compatible):
//   - the same URI with the same services → the same deployment, revisions unchanged (Unchanged);
//   - a new URI → a new deployment; each service it exposes gets revision+1 (1 when new) and new
//     invocations of it go to the new deployment (Created);
//   - the same URI with changed services → rejected (409, META0004) unless Force, which replaces
//     the deployment's services in place, keeping its id (Overwritten);
//   - a service changing type (e.g. Service → VirtualObject) → rejected (409, META0006) unless Force.
//
// Other commands (modify.go): ModifyService replaces service-level settings of a service's latest
// revision (PATCH /services/{name}; kept by an Unchanged registration, dropped by a new
// revision); DeleteDeployment removes a deployment and the services it is the latest of;
// UpdateDeployment moves a deployment to a new address after discovery there (protocol versions,
// services and handlers must stay unless Overwrite, which replaces the definitions in place).
//
// Reads: Registry.Committed (called by the Raft shard after each committed batch, and after a
// snapshot is installed) rebuilds an immutable View from pebble and swaps it in atomically;
// readers never lock. New rebuilds the view from the DB at start.
//
// Tables (in the shard's pebble DB; every key starts with "registry/", so never 0x00):
//
//	registry/d/<16-byte deployment id> → Deployment (msgpack, map keys sorted)
//	registry/s/<service name>          → Service, the latest revision
//	registry/k/<cluster name>          → KafkaCluster (kafka.go)
//	registry/u/<16-byte subscription id, big-endian> → Subscription (subscriptions.go)
//
// Apply is deterministic: no clock, no randomness, no map iteration; ids and times come in the
// command.
package registry
