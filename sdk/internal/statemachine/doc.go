// Package statemachine is the IO-free core of one invocation on the SDK side of the Restate
// service protocol (V5, V6 and V7). It mirrors the official shared core (restatedev/sdk-shared-core
// src/vm): frames from the runtime go in through Receive and CloseInput, the handler's actions go in
// through the syscall methods (Input, GetState, SetState, Call, Send, Run, ProposeRun, Sleep,
// Awakeable, CompleteAwakeable, SendSignal, CancelInvocation, AttachInvocation,
// GetInvocationOutput, GetPromise, PeekPromise, CompletePromise, Await, AwaitAll, Output, Fail),
// and the frames to send come out of TakeOutput. StopAtJournalEnd makes it replay only (the
// replay tester, sdk/replay).
//
// Lifecycle (illegal transitions are protocol violations, code 571):
//
//	waitingStart --Start--> waitingReplay --known_entries received--> replaying --last replayed command consumed--> processing
//	any --End/Suspension/Error written--> closed
//
// While replaying, each command the handler produces is compared with the next journaled command
// (PROTOCOL.md 2.9); a difference is ErrJournalMismatch (570). Notifications may arrive in any state
// and are kept, in arrival order, until awaited.
//
// Concurrency: a Machine is not safe for concurrent use. The SDK's invocation driver owns it: one
// goroutine feeds it frames and runs the handler's calls into it. There is no clock, randomness or
// IO here; wake-up times and payloads arrive as arguments.
//
// Example (a first attempt of a handler that returns its input):
//
//	m := statemachine.New(protocol.V6)
//	m.Receive(startFrame)  // Start{known_entries: 1}
//	m.Receive(inputFrame)  // InputCommand
//	in, _ := m.Input()
//	m.Output(in.Body)
//	frames := m.TakeOutput() // OutputCommand, End
package statemachine
