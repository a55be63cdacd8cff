package invoker

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// read consumes the deployment's messages until the attempt ends. nil: End or Suspension was
// proposed (settle waits for it to be applied).
func (a *attempt) read(body io.Reader) *failure {
	r := protocol.NewReader(body)
	r.MaxFrameSize = a.v.inv.cfg.MaxMessageSize
	for {
		f, err := r.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return failed(a.streamErr(ErrStreamClosed))
			}
			return failed(a.streamErr(fmt.Errorf("read from deployment: %w", err)))
		}
		a.out.activity()
		done, fl := a.handle(f)
		if fl != nil {
			return fl
		}
		if done {
			return nil
		}
	}
}

// handle acts on one message. done means the attempt ended well (End or Suspension proposed).
func (a *attempt) handle(f protocol.Frame) (done bool, fl *failure) {
	switch {
	case f.Type.IsCommand():
		return false, a.handleCommand(f)
	case f.Type == protocol.ProposeRunCompletionType:
		return false, a.handleRunProposal(f)
	case f.Type == protocol.AwaitingOnType:
		return false, nil // a hint for observability only
	case f.Type == protocol.SuspensionType:
		return a.handleSuspension(f)
	case f.Type == protocol.ErrorType:
		return false, a.handleError(f)
	case f.Type == protocol.EndType:
		a.v.markFinishing()
		a.proposeCmd(command.Command{Kind: command.KindEnd, End: &command.End{ID: a.v.id, Commands: new(a.nextCommand)}})
		return true, nil
	}
	// Start, CommandAck, ProposeRunCompletionAck, notifications, custom and unknown types.
	return false, protocolViolation("deployment sent %s", f.Type)
}

func (a *attempt) proposeCmd(cmd command.Command) { a.proposeThen(cmd, nil) }

// proposeThen proposes cmd; done, if not nil, gets the proposal's outcome (a span's end).
func (a *attempt) proposeThen(cmd command.Command, done func(error)) {
	if a.pin != nil {
		switch cmd.Kind {
		case command.KindAppendEntry:
			cmd.AppendEntry.Pin, a.pin = a.pin, nil
		case command.KindSuspend:
			cmd.Suspend.Pin, a.pin = a.pin, nil
		case command.KindEnd:
			cmd.End.Pin, a.pin = a.pin, nil
		}
	}
	a.props.add(a.v.propose(cmd), done)
}

func (a *attempt) handleCommand(f protocol.Frame) *failure {
	if !f.Type.Known() {
		return protocolViolation("deployment sent unknown command type %s", f.Type)
	}
	// Whether the target may issue this command (state from a service, …) is decided by the
	// partition state machine, which fails the invocation terminally: retrying cannot help.
	ae := &command.AppendEntry{
		ID:           a.v.id,
		CommandIndex: a.nextCommand,
		Entry:        command.Entry{Type: uint16(f.Type), Payload: f.Payload},
	}
	if f.Type == protocol.CallCommandType || f.Type == protocol.OneWayCallCommandType {
		res, err := a.resolveCall(f)
		if err != nil {
			return failed(fmt.Errorf("command %d (%s): %w", a.nextCommand, f.Type, err))
		}
		ae.Call = &res
	}
	a.proposeThen(command.Command{Kind: command.KindAppendEntry, AppendEntry: ae}, a.traceCommand(f, ae))
	a.nextCommand++
	a.progress = true
	return nil
}

func (a *attempt) resolveCall(f protocol.Frame) (command.CallResolution, error) {
	m, err := f.Message()
	if err != nil {
		return command.CallResolution{}, fmt.Errorf("%w: %v", ErrProtocolViolation, err)
	}
	var service, handler string
	switch c := m.(type) {
	case *pb.CallCommandMessage:
		service, handler = c.ServiceName, c.HandlerName
	case *pb.OneWayCallCommandMessage:
		service, handler = c.ServiceName, c.HandlerName
	}
	res, err := a.v.inv.resolver.ResolveCall(service, handler)
	if err != nil {
		return command.CallResolution{}, fmt.Errorf("%w %s/%s: %v", ErrUnknownTarget, service, handler, err)
	}
	return res, nil
}

func (a *attempt) handleRunProposal(f protocol.Frame) *failure {
	var m pb.ProposeRunCompletionMessage
	if err := proto.Unmarshal(f.Payload, &m); err != nil {
		return protocolViolation("ProposeRunCompletion: %v", err)
	}
	if m.Result == nil {
		return protocolViolation("ProposeRunCompletion %d without value or failure", m.ResultCompletionId)
	}
	if f.RequestedAck && a.version >= protocol.V7 {
		// Registered before proposing: the notification can only come back after it is applied.
		a.out.expectRunAck(m.ResultCompletionId)
	}
	a.proposeThen(command.Command{Kind: command.KindAppendEntry, AppendEntry: &command.AppendEntry{
		ID:           a.v.id,
		CommandIndex: a.nextCommand, // unused for run completions (deduplicated by completion id)
		Entry:        command.Entry{Type: uint16(f.Type), Payload: f.Payload},
	}}, a.runSpanEnd(m.ResultCompletionId))
	return nil
}

func (a *attempt) handleSuspension(f protocol.Frame) (bool, *failure) {
	fut := &pb.Future{}
	if a.version >= protocol.V7 {
		var m pb.SuspensionMessage
		if err := proto.Unmarshal(f.Payload, &m); err != nil {
			return false, protocolViolation("Suspension: %v", err)
		}
		if m.AwaitingOn == nil {
			return false, protocolViolation("Suspension without awaiting_on")
		}
		fut = m.AwaitingOn
	} else if err := proto.Unmarshal(f.Payload, fut); err != nil {
		// V5/V6 SuspensionMessage fields 1–3 have the same numbers and types as Future's.
		return false, protocolViolation("Suspension: %v", err)
	}
	s := &command.Suspend{ID: a.v.id, Commands: new(a.nextCommand)}
	flatten(fut, s)
	if len(s.WaitingCompletions)+len(s.WaitingSignals)+len(s.WaitingNamedSignals) == 0 {
		return false, protocolViolation("Suspension awaits nothing")
	}
	a.v.markFinishing()
	a.proposeCmd(command.Command{Kind: command.KindSuspend, Suspend: s})
	return true, nil
}

// flatten collects every id awaited anywhere in the future into s ("resume on any": a superset
// of what the combinators need, so the worst case is a replay that suspends again).
func flatten(f *pb.Future, s *command.Suspend) {
	for _, c := range f.WaitingCompletions {
		if !slices.Contains(s.WaitingCompletions, c) {
			s.WaitingCompletions = append(s.WaitingCompletions, c)
		}
	}
	for _, c := range f.WaitingSignals {
		if !slices.Contains(s.WaitingSignals, c) {
			s.WaitingSignals = append(s.WaitingSignals, c)
		}
	}
	for _, n := range f.WaitingNamedSignals {
		if !slices.Contains(s.WaitingNamedSignals, n) {
			s.WaitingNamedSignals = append(s.WaitingNamedSignals, n)
		}
	}
	for _, nested := range f.NestedFutures {
		flatten(nested, s)
	}
}

func (a *attempt) handleError(f protocol.Frame) *failure {
	var m pb.ErrorMessage
	if err := proto.Unmarshal(f.Payload, &m); err != nil {
		return protocolViolation("Error: %v", err)
	}
	se := &SDKError{Code: m.Code, Message: m.Message, Stacktrace: m.Stacktrace, RelatedCommandIndex: m.RelatedCommandIndex,
		RelatedCommandName: m.RelatedCommandName, RelatedCommandType: m.RelatedCommandType}
	fl := &failure{err: se}
	if m.NextRetryDelay != nil {
		fl.delay = time.Duration(*m.NextRetryDelay) * time.Millisecond
	}
	if a.version >= protocol.V7 {
		switch m.Behavior {
		case pb.ErrorBehavior_FAIL:
			fl.terminal = true
		case pb.ErrorBehavior_PAUSE:
			// Pausing is not implemented yet: retry as usual.
			a.v.inv.cfg.Logger.Warn("deployment asked to pause the invocation; pausing is not supported, retrying",
				"invocation", a.v.id.String())
		}
	}
	return fl
}
