// Package protocol owns the Restate service protocol (V5, V6 and V7) as it travels between the
// runtime and a deployment: the 8-byte frame header, the message type codes, protobuf payloads
// (generated into package pb from proto/protocol.proto, copied from restatedev/restate
// service-protocol/) and version negotiation by content type.
//
// It is a leaf package with no IO of its own beyond the io.Reader and io.Writer it is given, so both
// the server's invoker and the Go SDK build on it.
//
// Regenerate pb with:
//
//	protoc --go_out=pb --go_opt=paths=source_relative -I proto proto/protocol.proto
package protocol
