// Package deployment is the deployment the chaos checker drives: a Counter
// Virtual Object, a Workflowish service and a Promised workflow served by
// the project's Go SDK, run as its own process
// (cmd/resolute-chaos-deployment) so that the checker can SIGKILL it.
// Endpoint can serve some of the services: the checker runs Counter in one
// process and Workflowish and Promised in another, so a kill hits either the
// caller or the callee of their calls to Counter.
//
//   - Counter/{key}/add (exclusive): one Run step, then the state {value,
//     applied op ids, deltas} is read and written in one state key; returns the
//     new value and the Run token.
//   - Counter/{key}/get (shared), Counter/{key}/getx (exclusive): the value.
//   - Counter/{key}/dump (shared): the whole state, for the final check.
//   - Workflowish/run: several Run steps, then a call to Counter/{key}/add.
//   - Workflowish/fanout: a Run step, then one-way sends of Counter adds, each
//     with the sub-operation's id as its idempotency key, some delayed.
//   - Workflowish/nap: a Run step, a durable sleep, a Run step, then a call
//     to Counter/{key}/add.
//   - Workflowish/await: an awakeable, whose id it notes in the execution
//     log (ExecLog.Note) for the checker to resolve; an optional durable
//     sleep; the wait; a Run step; then a call to Counter/{key}/add. A
//     rejection is returned in the output, not as a failure.
//   - Workflowish/attachPromised: attaches to Promised's run for a workflow
//     key (AttachWorkflow) and returns its output.
//   - Promised/{key}/run (a Workflow): a Run step, a wait on the durable
//     promise "v", a Run step, then a call to Counter/{key}/add.
//   - Promised/{key}/complete (shared): resolves "v"; a refusal (completed
//     already) is returned in the output.
//
// Each Run step returns a Stamp: its token and the wall-clock time it
// executed, so the checker can tell that a timer never fired early.
//
// Every Run body appends (op id, step, token) to an execution log (ExecLog)
// before returning its unique token, so the checker can tell, after any
// number of SIGKILLs, how often each step ran and which execution's result
// was journaled.
//
// Handlers are safe for concurrent use; ExecLog serialises its writes.
package deployment
