// Package e2e runs Restate's own end-to-end scenarios against our server: the sdk-tests of
// restatedev/e2e (Kotlin, JUnit) and the scenario tests of restatedev/sdk-typescript's
// packages/tests/restate-e2e-services (vitest), ported to Go tests that drive the official
// TypeScript test services (vendored in compat/e2e-services) through the public ingress and admin
// HTTP APIs only, as the upstream runner does.
//
// Each upstream test class is one Go test (TestCombinators ports Combinators.kt) and each of its
// scenarios one subtest named after the Kotlin (or vitest) test it ports, under the suites of
// upstream's TestSuites.kt the class belongs to (default, alwaysSuspending). As upstream, a class
// gets one services process (SERVICES = the services its ServiceSpec names) and, per suite and
// server under test, one fresh server that its scenarios share, running concurrently.
//
// The servers under test are named by RESOLUTE_E2E_SERVERS (default "resolute,restate"):
// resolute is ours (RESOLUTE_BIN, or built from ./cmd/resolute), restate is the official
// restate-server installed by npm in compat/ts, run to prove that every port is right. A scenario
// that waits for a feature of ours (or on a bug of ours) is skipped on ours only, saying which
// (see README.md).
//
// Node, compat/e2e-services (npm ci && npm run build) and compat/ts (for restate-server) are
// prerequisites: missing, the tests skip, or fail when CI=true.
package e2e
