// Package invoker runs invocation attempts against deployments: it is the IO at the edge of a
// partition. The partition (the actor that owns the deterministic state machine) calls Start
// when an invocation should run, Notify for every notification the state machine appends to a
// running invocation's journal, and Abort/AbortAll to stop attempts. The invoker answers only by
// proposing log commands through the Partition it was started with: AppendEntry for each new
// command (and each ProposeRunCompletion) the deployment sends, then End, Suspend or Fail.
//
// One attempt:
//
//  1. registers itself as live and buffering, then reads a Snapshot (status, journal, state):
//     notifications that race with the snapshot are buffered and, once the journal length is
//     known, forwarded only if the replay does not already contain them;
//  2. resolves the deployment, negotiates the protocol version (V5–V7), and POSTs
//     {uri}/invoke/{service}/{handler} with Start, the whole journal, then (bidirectional mode)
//     live notifications; in request/response mode the request body is closed after the journal;
//  3. checks the response head (2xx and the negotiated content type; 415, 429/503 with
//     Retry-After, others are attempt failures);
//  4. reads messages: commands get the next command index (the SDK sends only new ones), calls
//     are resolved against the registry, run completions are proposed (on V7 with REQUESTED_ACK
//     the stored notification comes back to the SDK as ProposeRunCompletionAck), Suspension and
//     End are proposed and end the attempt, ErrorMessage ends it for a retry;
//  5. proposals are pipelined: the reader does not wait for each one, a watcher goroutine waits
//     for their results in order; the first rejection cancels the stream. An attempt ends only
//     after all its proposals are resolved, so a retry's snapshot includes them.
//
// Failed attempts are retried in memory with exponential backoff (RetryPolicy), each from a fresh
// snapshot; when MaxAttempts is reached the invoker proposes Fail with the last error. The retry
// policy and the inactivity and abort timeouts are Config's defaults with the deployment
// manifest's per-service and per-handler settings laid over them (Policy, Overrides); when the
// attempts are exhausted the invoker proposes Pause with the last failure (OnMaxAttemptsPause, the
// default) or Fail (OnMaxAttemptsKill). The admin API reports the same Policy, so what it shows is
// what runs. An operator's pause of a running invocation reaches the invoker as Yield: the
// attempt's request stream closes (the SDK suspends after its current step), no retry follows,
// and an attempt that ends without ending the invocation proposes Pause{Yielded}. A proposal
// rejected with an error wrapping ErrStale stops the attempt for good (the invocation is no
// longer running as the attempt assumed); any other rejection is retried.
//
// Concurrency contract: all methods are safe for concurrent use and never block on IO; Notify is
// cheap (it appends to an in-memory queue) and may be called from the partition's apply loop.
// Each invocation has one goroutine (plus, per attempt, a writer and a proposal watcher it waits
// for); the Invoker tracks them and Close waits for all of them. Start is idempotent while an
// attempt is live or waiting to retry; a Start that arrives while the previous attempt is
// finishing (it has proposed End/Suspend/Fail, or it was aborted) runs a fresh attempt once the
// old goroutine has returned, so a suspension resumed at once is never lost. After Abort or
// Close an attempt proposes nothing more (the state machine's checks remain the last word).
// Partition values must be comparable (pointers): AbortAll matches attempts by equality.
//
// Example:
//
//	client := transport.NewClient(transport.Config{InProcess: registry})
//	inv := invoker.New(invoker.Config{}, schemas, client)
//	defer inv.Close()
//	inv.Start(partition, id)           // after the command that made id Running is applied
//	inv.Notify(id, index, entry)       // after each notification is appended to id's journal
package invoker
