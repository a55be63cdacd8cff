// Package testenv is the support shared by tests that run real processes: the
// resolute binary (RESOLUTE_BIN or built from ./cmd/resolute), the official
// SDK services of tests/compat, and a server that a test kills and restarts.
//
// It owns: starting a subprocess in its own process group with its output in a
// log file (the tail is printed when the test fails), free loopback ports,
// readiness polling that notices when a watched process exits, the CI=true
// rule (a missing prerequisite fails instead of skipping), plain HTTP helpers
// for the ingress and admin APIs, and Server, a `resolute server` process that
// can be killed (SIGKILL), stopped (SIGTERM, exit 0 expected) and restarted on
// the same data directory and ports.
//
// Concurrency: functions taking a testing.TB may fail the test and so must run
// on the test's goroutine; the HTTP helpers (Invoke, Post, Register,
// ExpectStatus) return errors and are safe from any goroutine.
//
//	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: testenv.ResoluteBinary(t)})
//	reg, err := testenv.Register(srv.Admin, "http://127.0.0.1:9080")
//	srv.Kill()
//	srv.Restart()
//	srv.Stop()
package testenv
