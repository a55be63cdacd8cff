// Package compat holds the official-SDK compatibility test: the server under
// test (Resolute, or the official restate-server for reference) runs as a
// subprocess next to services written with the official Restate TypeScript
// SDK (compat/ts) and Go SDK (compat/gosdk), and the test drives them through
// the public ingress and admin HTTP APIs only. The deployments are registered
// through wiretaps (testenv.Wiretap), so the test also checks the wire: the
// negotiated protocol version of every invocation stream, suspensions, attempts
// and what the runtime had acknowledged before a SIGKILL.
//
// Select the server with RESOLUTE_COMPAT_SERVER=resolute (default; binary from
// RESOLUTE_BIN or built from ./cmd/resolute) or RESOLUTE_COMPAT_SERVER=restate
// (compat/ts/node_modules/@restatedev/restate-server-linux-x64). Missing
// prerequisites (node, npm packages, the go tool) skip the test, except when
// CI=true, where they fail it. See compat/README.md.
package compat
