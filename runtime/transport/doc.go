// Package transport owns how the runtime reaches deployments over HTTP: one *http.Client whose
// RoundTripper picks the wire by URI scheme and per-request options.
//
//   - http://   HTTP/2 with prior knowledge (h2c), the default for deployments: both official SDKs
//     serve only h2c. A request whose context carries WithHTTP11 goes over HTTP/1.1 instead
//     (deployments registered with use_http_11, request/response mode only).
//   - https://  TLS with ALPN (HTTP/2 preferred), or HTTP/1.1 with WithHTTP11.
//   - inproc:// an http.Handler registered in an InProcess registry, reached over an in-memory
//     HTTP/2 connection (net.Pipe served by http2.Server.ServeConn). This is how a Go SDK endpoint
//     runs inside the server process with no TCP and no change to user code: register the SDK's
//     handler under a name and register the deployment as inproc://name/.
//
// Concurrency: Client, RoundTripper and InProcess are safe for concurrent use. InProcess tracks
// the goroutines serving its connections; Close stops them and waits. The RoundTripper's Close
// closes idle connections and the InProcess registry it was given, if it owns one.
//
// Example:
//
//	reg := transport.NewInProcess()
//	reg.Register("greeter", sdkHandler)
//	client := transport.NewClient(transport.Config{InProcess: reg})
//	resp, err := client.Get("inproc://greeter/discover")
package transport
