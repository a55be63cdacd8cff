package invoker

import (
	"strings"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/tracing"
)

// Spans of attempts, commands and invocations (package tracing). With the Tracer off every
// function here returns before doing anything.

// startSpan starts the attempt's span, a child of the invocation's stored place in its trace.
func (a *attempt) startSpan(d Deployment, st *storage.InvocationStatus) {
	t := a.v.inv.cfg.Tracer
	if t == nil {
		return
	}
	a.span = t.StartAttempt(tracing.Attempt{
		ID: a.v.id, Target: a.target, Trace: st.Invocation.Trace, Number: a.number,
		Deploy: d.ID, Address: d.URI, Protocol: int(a.version),
	})
}

// traceCommand starts the span of a call, one-way call, sleep or run command read from the
// deployment; a call's span becomes the callee invocation's parent (ae.Call.Trace). It returns
// what ends the span once the command is journaled (a run's ends when its result is).
func (a *attempt) traceCommand(f protocol.Frame, ae *command.AppendEntry) func(error) {
	t := a.v.inv.cfg.Tracer
	if t == nil || !a.span.Context().IsValid() {
		return nil
	}
	label := "Command/" + strings.TrimSuffix(f.Type.String(), "Command")
	switch f.Type {
	case protocol.CallCommandType, protocol.OneWayCallCommandType, protocol.SleepCommandType, protocol.RunCommandType, protocol.OutputCommandType:
	default:
		a.span.NewCommand(label, "")
		return nil
	}
	m, err := f.Message()
	if err != nil {
		return nil
	}
	c := tracing.Command{Index: ae.CommandIndex}
	defer func() { a.span.NewCommand(label, c.Name) }()
	switch m := m.(type) {
	case *pb.CallCommandMessage:
		c.Type, c.Name, c.Callee = tracing.TypeCall, m.Name, callee(ae.Call, m.ServiceName, m.HandlerName, m.Key)
	case *pb.OneWayCallCommandMessage:
		c.Type, c.Name, c.Callee = tracing.TypeOneWayCall, m.Name, callee(ae.Call, m.ServiceName, m.HandlerName, m.Key)
	case *pb.SleepCommandMessage:
		c.Type, c.Name, c.WakeUp = tracing.TypeSleep, m.Name, int64(m.WakeUpTime)
	case *pb.RunCommandMessage:
		c.Type, c.Name = tracing.TypeRun, m.Name
		if a.runSpans == nil {
			a.runSpans = make(map[uint32]tracing.Span)
		}
		a.runSpans[m.ResultCompletionId] = t.StartCommand(a.span, c)
		return nil
	default:
		return nil
	}
	s := t.StartCommand(a.span, c)
	if ae.Call != nil {
		ae.Call.Trace = tracing.CallTrace(s, c.Type == tracing.TypeOneWayCall)
	}
	return func(err error) { endSpan(s, err) }
}

func callee(res *command.CallResolution, service, handler, key string) command.Target {
	t := command.Target{Service: service, Handler: handler, Key: key}
	if res != nil {
		t.ServiceType, t.HandlerType = res.ServiceType, res.HandlerType
	}
	return t
}

// runSpanEnd is what ends the span of the run whose result is proposed, once it is journaled.
// Called on the reading goroutine (which owns runSpans); the returned function runs on the
// proposal watcher's.
func (a *attempt) runSpanEnd(completionID uint32) func(error) {
	s, ok := a.runSpans[completionID]
	if !ok {
		return nil
	}
	delete(a.runSpans, completionID)
	return func(err error) { endSpan(s, err) }
}

func endSpan(s tracing.Span, err error) {
	if err != nil {
		s.Fail(err.Error())
		return
	}
	s.End()
}

// endSpans ends the attempt's span and those of runs whose results never got journaled. Called
// once the attempt and all its proposals are over.
func (a *attempt) endSpans(f *failure) {
	for _, s := range a.runSpans {
		s.Fail("the attempt ended before the run's result was journaled")
	}
	a.runSpans = nil
	if f != nil {
		a.span.Fail(f.err.Error())
		return
	}
	a.span.EndOK()
}

// Ended exports the span of invocation id, which just ended (completed by its End, failed or
// killed by the runtime, cancelled before it ran): the leader calls it for every end its log
// applied, whoever ended the invocation. Nothing without a tracer.
func (i *Invoker) Ended(id ids.InvocationID, target command.Target, trace *command.Trace, createdAt int64, failure *command.Failure) {
	t := i.cfg.Tracer
	if t == nil {
		return
	}
	t.EndInvocation(tracing.Invocation{ID: id, Target: target, Trace: trace, CreatedAt: createdAt, Failure: failure})
}
