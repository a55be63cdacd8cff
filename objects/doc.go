// Package objects owns the semantics of keyed services (Virtual Objects, and workflows, which are
// keyed the same way), as the partition state machine composes them:
//
//   - Access: an exclusive handler holds its key's lock from start to end and may read and write
//     the key's K/V state; a shared handler runs beside it, may read the state and never writes
//     it; unkeyed services have no state (CheckAccess).
//   - The key's lock and inbox: an exclusive invocation that finds its key locked waits in the
//     key's inbox, FIFO; when the holder ends, the lock passes to the first waiting one (Admit,
//     Release).
//   - K/V state commands: set, clear, clear all, and the lazy reads get and keys, whose answers
//     are journaled as completion notifications (ApplyState).
//   - State sent with an attempt: eagerly (all of it in the StartMessage) or lazily (none; the
//     SDK reads what it needs), as the service's enableLazyState asks (StartState).
//
// Like the state machine it is deterministic: no clock, randomness, map iteration or IO beyond
// the pebble batch it is given (runtime/statemachine's import test covers it).
package objects
