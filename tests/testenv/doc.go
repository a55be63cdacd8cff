// Package testenv is the support shared by tests that run real processes: the
// resolute binary (RESOLUTE_BIN or built from ./cmd/resolute), the official
// SDK services of tests/compat, and a server that a test kills and restarts.
//
// It owns the testing.TB side of internal/proc: subprocesses (in their own
// process group, output in a log file) stopped on cleanup, with the log tail
// printed when the test fails; free loopback ports and readiness polling that
// fail the test; the CI=true rule (a missing prerequisite fails instead of
// skipping), plain HTTP helpers for the ingress and admin APIs, and Server, a
// `resolute server` process that can be killed (SIGKILL), stopped (SIGTERM,
// exit 0 expected) and restarted on the same data directory and ports.
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
