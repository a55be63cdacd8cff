// Package replay checks a handler against recorded journals: it replays the handler on the
// journal of a real invocation and reports the first step where the handler does something
// other than what the journal recorded, so a code change can be checked against the journals of
// invocations that are running (or ran) before it is deployed.
//
// A journal comes from a running server (`resolute journal export --admin URL --id inv_… >
// j.json`, which reads sys_journal and sys_invocation through the admin API's POST /query) or is
// written by Journal.Write; the file format is described at Journal.
//
//	j, err := replay.ReadFile("testdata/checkout.json")
//	r, err := replay.Check(ctx, sdk.NewEndpoint().Bind(shop), j)
//	if !r.Deterministic() {
//		log.Print(r) // inv_1… (Shop/alice/checkout): NOT deterministic at entry 3 (command 2): journal has Call Stock/reserve, handler issued Call Pricing/price
//	}
//
// The replay is the SDK's own: the journal goes into the endpoint as the service protocol's
// frames, in-process, and the handler runs on the SDK's state machine exactly as when a runtime
// replays it, so the mismatches found are those the SDK would raise in production (journal
// mismatch, code 570). What differs is that the endpoint replays only: once the journal is
// used up, the first new command is reported and not acted on, and no Run closure is called.
//
// Concurrency: Check may be called from several goroutines at once; the handler runs on the
// calling goroutine.
package replay
