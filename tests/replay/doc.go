// Package replay tests the journal replay tester (sdk/replay) on journals recorded by a real
// server: a `resolute server` process runs a Go SDK deployment's handler (state, two calls, a
// Run, a sleep), `resolute journal export` writes its journal, and changed versions of the
// handler (calls reordered, a Run renamed, a step added or left out, a call's target changed) are
// replayed against it. testdata/checkout.json is such a recording (rewritten with -update).
package replay
