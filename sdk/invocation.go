package sdk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"

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

// receive feeds the next frame (or the end of input) to the machine.
func (inv *invocation) receive() error {
	if inv.frames == nil {
		return statemachine.ErrClosed
	}
	select {
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
			return ErrCancelled
		}
		inv.check(inv.receive())
	}
}

// result turns a completed notification into a value or a terminal error.
func (inv *invocation) result(id statemachine.NotificationID) (statemachine.Result, error) {
	r, ok := inv.m.Result(id)
	if !ok {
		panic(fmt.Sprintf("sdk: %v awaited but not completed", id)) // await guarantees it
	}
	if r.Kind == statemachine.ResultFailure {
		return r, &Terminal{Code: uint16(r.Failure.Code), Err: errors.New(r.Failure.Message)}
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
		inv.check(inv.m.OutputFailure(statemachine.Failure{Code: uint32(t.Code), Message: t.Err.Error()}))
	default:
		inv.m.Fail(err, "")
	}
}
