package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// invocation drives one attempt: it owns the state machine, feeds it the runtime's frames, writes
// its output, and runs the handler. Everything happens on the handler's goroutine; a reader
// goroutine only turns the request body into frames on a channel.
type invocation struct {
	context.Context
	m       *statemachine.Machine
	w       *protocol.Writer
	frames  <-chan frameOrErr
	codec   Codec
	input   statemachine.Input
	headers map[string]string
	rand    *rand.Rand
	inRun   bool
	logTo   *slog.Logger // the endpoint's logger (nil: slog.Default())
	log     *slog.Logger // ctx.Log(), made on first use

	// Closures of RunAsync run on their own goroutines (started by startRun, waited for by
	// waitRuns) and report on runs; runsLeft counts those not received yet. runCtx is their
	// context, cancelled when the attempt ends.
	runs     chan runOutcome
	runsLeft int
	runCtx   context.Context
	runWG    sync.WaitGroup
	stopRuns context.CancelFunc
}

// runOutcome is what an async Run closure produced, for the handler goroutine to propose.
type runOutcome struct {
	id      statemachine.NotificationID
	opts    *runOptions
	b       []byte
	err     error
	elapsed time.Duration
}

type frameOrErr struct {
	f   protocol.Frame
	err error
}

// unwind is the panic value that stops a handler once the attempt has ended (suspension, journal
// mismatch, protocol violation, broken stream). The driver recovers it; handlers must let it pass.
type unwind struct{ err error }

func (u unwind) String() string { return fmt.Sprintf("sdk: invocation ended: %v", u.err) }

// flush writes what the machine produced, in one write and one flush. A broken stream ends the
// attempt.
func (inv *invocation) flush() error {
	frames := inv.m.TakeOutput()
	if len(frames) == 0 {
		return nil
	}
	return inv.w.WriteFrames(frames)
}

// check flushes and unwinds the handler when err (from a syscall) ended the attempt.
func (inv *invocation) check(err error) {
	if ferr := inv.flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		panic(unwind{err})
	}
}

// receive feeds the next frame (or the end of input), or the outcome of an async Run, to the
// machine.
func (inv *invocation) receive() error {
	if inv.frames == nil && inv.runsLeft == 0 {
		return statemachine.ErrClosed
	}
	select {
	case o := <-inv.runs:
		inv.runsLeft--
		return inv.m.ProposeRun(o.id, inv.outcome(o.id, o.opts, o.b, o.err, o.elapsed))
	case fe, ok := <-inv.frames:
		switch {
		case !ok:
			inv.frames = nil
			return inv.m.CloseInput()
		case fe.err != nil:
			inv.m.Fail(&statemachine.CodedError{Code: statemachine.CodeProtocolViolation, Err: fe.err, Command: -1}, "")
			return fe.err
		default:
			return inv.m.Receive(fe.f)
		}
	case <-inv.Done():
		return context.Cause(inv)
	}
}

// startRun runs fn on its own goroutine; its outcome is proposed when the handler next waits.
func (inv *invocation) startRun(id statemachine.NotificationID, o *runOptions, fn func(RunContext) ([]byte, error)) {
	if inv.runs == nil {
		inv.runs = make(chan runOutcome)
		inv.runCtx, inv.stopRuns = context.WithCancel(inv.Context)
	}
	inv.runsLeft++
	rc := runContext{inv.runCtx, inv.InvocationID(), inv.runLogger()}
	inv.runWG.Go(func() {
		start := time.Now()
		b, err := fn(rc)
		select {
		case inv.runs <- runOutcome{id: id, opts: o, b: b, err: err, elapsed: time.Since(start)}:
		case <-rc.Done():
		}
	})
}

// waitRuns cancels the context of async Run closures still running and waits for them.
func (inv *invocation) waitRuns() {
	if inv.stopRuns != nil {
		inv.stopRuns()
	}
	inv.runWG.Wait()
}

// await blocks until one of ids completes; it returns ErrCancelled when the cancel signal wins.
func (inv *invocation) await(ids ...statemachine.NotificationID) (statemachine.NotificationID, error) {
	if inv.inRun {
		panic("sdk: durable actions are not allowed inside Run")
	}
	for {
		p, id, err := inv.m.Await(ids...)
		inv.check(err)
		switch p {
		case statemachine.Completed:
			return id, nil
		case statemachine.Cancelled:
			inv.cancelChildren()
			return id, ErrCancelled
		}
		inv.check(inv.receive())
	}
}

// awaitAll blocks until every one of ids completes; it returns ErrCancelled when the cancel signal
// arrives first.
func (inv *invocation) awaitAll(ids ...statemachine.NotificationID) error {
	if inv.inRun {
		panic("sdk: durable actions are not allowed inside Run")
	}
	for {
		p, err := inv.m.AwaitAll(ids...)
		inv.check(err)
		switch p {
		case statemachine.Completed:
			return nil
		case statemachine.Cancelled:
			inv.cancelChildren()
			return ErrCancelled
		}
		inv.check(inv.receive())
	}
}

// cancelChildren sends the cancel signal to every call the handler still waits on, once this
// invocation was cancelled, as the official SDKs do (sdk-shared-core's implicit cancellation):
// the cancellation propagates down the call tree, each child seeing it at its next await. A call
// whose callee's invocation id has not arrived yet is waited for first. The signals are journaled
// commands, so a replay sends them again in the same order and nothing is cancelled twice.
func (inv *invocation) cancelChildren() {
	for _, idID := range inv.m.UnfinishedCalls() {
		for {
			p, _, err := inv.m.Await(idID) // the cancel signal is consumed: only idID can complete
			inv.check(err)
			if p == statemachine.Completed {
				break
			}
			inv.check(inv.receive())
		}
		r, _ := inv.m.Result(idID)
		inv.check(inv.m.CancelInvocation(r.InvocationID))
	}
}

// result turns a completed notification into a value or a terminal error.
func (inv *invocation) result(id statemachine.NotificationID) (statemachine.Result, error) {
	r, ok := inv.m.Result(id)
	if !ok {
		panic(fmt.Sprintf("sdk: %v awaited but not completed", id)) // await guarantees it
	}
	if r.Kind == statemachine.ResultFailure {
		return r, terminalOf(r.Failure)
	}
	return r, nil
}

// start feeds frames until Start and the whole journal arrived, then reads the input.
func (inv *invocation) start() error {
	for !inv.m.Ready() {
		if inv.m.Closed() {
			return inv.m.Err()
		}
		if err := inv.receive(); err != nil {
			return err
		}
	}
	in, err := inv.m.Input()
	if err != nil {
		return err
	}
	inv.input = in
	inv.headers = make(map[string]string, len(in.Headers))
	for _, h := range in.Headers {
		inv.headers[h.Key] = h.Value
	}
	inv.rand = rand.New(newXoshiro(in.RandomSeed))
	return nil
}

// run calls the handler and reports its outcome to the machine.
func (inv *invocation) run(h *handler) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(unwind); !ok {
				inv.m.Fail(fmt.Errorf("sdk: handler panicked: %v", p), string(debug.Stack()))
			}
		}
		_ = inv.flush()
	}()
	out, err := h.invoke(inv, inv.input.Body)
	var t *Terminal
	switch {
	case err == nil:
		inv.check(inv.m.Output(out))
	case errors.As(err, &t):
		inv.check(inv.m.OutputFailure(t.failure()))
	default:
		inv.m.Fail(&statemachine.CodedError{Code: retryableCode(err), Err: errors.New(retryableMessage(err)), Command: -1}, "")
	}
}
