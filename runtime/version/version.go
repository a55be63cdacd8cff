// Package version names the release of this build: GET /version answers it, and the state
// machine records it on each invocation it creates (sys_invocation.created_using_restate_version),
// as restate-server records its own.
package version

// Version is this build's release.
const Version = "0.1.0-dev"
