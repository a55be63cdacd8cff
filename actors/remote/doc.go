// Package remote is the remoting layer between the nodes of a cluster: it lets the partition
// router of one node reach the partitions another node leads, over protoactor-go's remote (gRPC
// streams between actor systems).
//
// What crosses nodes:
//   - ProposeRequest → ProposeResponse: one command proposed to a partition and its outcome
//     (ingress signals, admin operations; anything that goes through ProposeWait);
//   - CallRequest → CallResponse: an invocation, or an attach to one, and its result once it has
//     ended, so the ingress of any node can wait there for a call led elsewhere;
//   - AttachRequest → AttachResponse: the ingress's attach (wait for an invocation's end) and
//     output (read it now) by invocation id, served by the node whose Local is an Attacher;
//   - ResultNotice (one way, at most once): a result for a caller waiting on another node;
//   - PingRequest → PingResponse: liveness, with the answering actor system's id (new at every
//     restart) and, when its Local is a HealthReporter, its partitions' health.
//
// Each node runs one Endpoint (Start) on its --remote-addr. Its server actor, named ServerName
// ("partitions"), receives the requests and hands them to the node's Local (the partitions),
// each in its own goroutine so that the actor's mailbox never waits on a partition; the answer
// goes to the requester's PID. The requesting side correlates answers by request id in a reply
// actor, and waits bounded by its context: a lost node (its connection refused or broken, no
// answer to its heartbeats, or no answer before the deadline) fails the request with an *Error
// naming the node, never a hang. Heartbeats (heartbeat.go): while requests wait on a node, the
// endpoint pings it every HeartbeatInterval; HeartbeatMisses unanswered in a row fail those
// requests with ErrUnreachable, so a call held at a frozen or cut-off leader ends in seconds.
// Errors keep their kind across the wire (Error.kind): a refusal arrives as a *RefusedError with
// the same text and Retry-After, so the ingress answers 429 or 503 as it would for a local one;
// ErrNotLeader, raftlog.ErrProposal (outcome unknown), deadline and cancellation arrive as
// errors that errors.Is recognizes.
//
// Why protobuf envelopes with msgpack payloads: protoactor-go's remote serializes root messages
// with protobuf, so the envelopes are protobuf (proto/resolute_remote.proto, generated into pb). What they
// carry, commands, invocations, outcomes and results, are the runtime's own types, whose one
// encoding is the msgpack the Raft log already holds; they travel as bytes fields, decoded with
// the same care as log entries. A second (protobuf) schema of every command would have to be kept
// in step with the log format for nothing.
//
// Concurrency: every request being served runs in a goroutine owned by the Endpoint; Close stops
// the server actor, cancels those requests and waits for them (their answers, a canceled error,
// are sent but may not leave before the connections close: their callers then fail them as for a
// lost node), fails the requests this node still waits on with ErrClosed, and stops protoactor
// remote. Close may take a few seconds while protoactor is still trying to connect to an
// unreachable node (ConnectRetries attempts, 2 s apart).
//
// Several endpoints in one process work, but go test -race reports a race in them:
// protoactor's remote.Start sets grpc's global logger at every start while the grpc goroutines of
// the others read it. Tests with several nodes run them as processes (see node_test.go).
//
// Example:
//
//	ep, err := remote.Start(remote.Config{Addr: "127.0.0.1:7102", Local: partitions})
//	...
//	defer ep.Close()
//	outcome, err := ep.ProposeWait(ctx, "127.0.0.1:7103", 3, cmd)
//
// Regenerate pb (CI never does; the generated file is committed) with protoc and
// protoc-gen-go v1.36.12:
//
//go:generate protoc --go_out=pb --go_opt=paths=source_relative -I proto proto/resolute_remote.proto
package remote
