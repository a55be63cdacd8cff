package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/internal/replayonly"
	"github.com/resolute-run/resolute/sdk/internal/statemachine"
)

// Outcome is how a replay ended.
type Outcome int

const (
	// Completed: the handler issued every journaled command and completed with the journal's
	// output.
	Completed Outcome = iota
	// Continues: the handler issued every journaled command and then one past the journal's end
	// (Report.Handler), where the tester stopped it.
	Continues
	// Suspended: the handler issued every journaled command and then waits for a completion the
	// journal does not have (it would suspend).
	Suspended
	// Stopped: the handler matched the journal up to a journaled Run whose result the journal
	// lacks; the tester does not execute side effects, so it stopped there.
	Stopped
	// Mismatch: the handler is not deterministic with this journal: at Report.Command it issued
	// something else than the journal has.
	Mismatch
	// Failed: the handler failed while replaying (an error, a panic) or the SDK refused the
	// journal (a protocol violation).
	Failed
)

func (o Outcome) String() string {
	return [...]string{"completed", "continues", "suspended", "stopped", "mismatch", "failed"}[o]
}

// Report is what a replay found.
type Report struct {
	InvocationID string
	Target       string // service/handler, or service/key/handler
	Outcome      Outcome
	Entries      int // journal entries
	Commands     int // journal commands (the InputCommand is command 0)
	// Command is the index, among commands, that the outcome is about: the first mismatching
	// command, the first one past the journal (Continues), the Run not executed (Stopped); -1
	// when none. Entry is that command's journal entry index (sys_journal's index), -1 past the
	// journal.
	Command, Entry int
	// Journaled and Handler are the journal's command at Command and what the handler issued
	// there ("Call Greeter/greet", `Run "charge"`), as far as they are known.
	Journaled, Handler string
	// Code and Message are the SDK's error (its ErrorMessage: 570 for a mismatch), or its stop.
	Code    uint32
	Message string
	// Output is the journal's output that the handler completed with (Completed).
	Output []byte
	// Awaiting is what a Suspended handler waits for: the commands whose results it awaits
	// (`Sleep (command 5)`), from its SuspensionMessage.
	Awaiting []string
}

// Deterministic reports whether the handler matched every journaled command it reached:
// Completed, Continues, Suspended and Stopped.
func (r *Report) Deterministic() bool { return r.Outcome < Mismatch }

func (r *Report) String() string {
	head := r.InvocationID + " (" + r.Target + ")"
	ends := fmt.Sprintf("the journal's end (%d commands, %d entries)", r.Commands, r.Entries)
	switch r.Outcome {
	case Completed:
		return fmt.Sprintf("%s: deterministic: the handler replayed all %d commands and completed with the recorded output %s", head, r.Commands, strconv.Quote(string(r.Output)))
	case Continues:
		return fmt.Sprintf("%s: deterministic up to %s; the handler would continue with %s (command %d)", head, ends, r.Handler, r.Command)
	case Suspended:
		what := "a result"
		if len(r.Awaiting) > 0 {
			what = "the result of " + strings.Join(r.Awaiting, " or ")
		}
		return fmt.Sprintf("%s: deterministic up to %s; the handler then waits for %s, which the journal does not have (it would suspend)", head, ends, what)
	case Stopped:
		return fmt.Sprintf("%s: deterministic up to entry %d (command %d), where the journal has %s without its result: the tester does not execute it, nothing after it was checked", head, r.Entry, r.Command, r.Journaled)
	case Mismatch:
		s := fmt.Sprintf("%s: NOT deterministic at entry %d (command %d): journal has %s, handler issued %s", head, r.Entry, r.Command, orUnknown(r.Journaled), orUnknown(r.Handler))
		return s + fmt.Sprintf("\n  SDK: [%d] %s", r.Code, r.Message)
	default:
		return fmt.Sprintf("%s: the handler failed while replaying: [%d] %s", head, r.Code, r.Message)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}

// Check replays j's handler, served by e, against j, through e's own invocation handling: the
// journal goes in as the service protocol's frames (StartMessage, then the entries), the
// handler runs on the SDK's state machine, and what it writes back is read as a runtime would.
// The endpoint replays only: the first command past the journal is not acted on (no call is
// made, no Run closure runs, nothing is journaled), and a journaled Run without its result is
// not executed either. The handler must be bound to e under j.Service; e's codec applies, and
// e's request identity check is skipped.
//
// The error is for a replay that could not be made (a bad journal, an unknown service or
// handler); a non-deterministic handler is a Report with Outcome Mismatch.
func Check(ctx context.Context, e *sdk.Endpoint, j *Journal) (*Report, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	frames, err := j.frames()
	if err != nil {
		return nil, err
	}
	var body []byte
	for _, f := range frames {
		body = protocol.AppendFrame(body, f)
	}
	probe := &replayonly.Probe{}
	path := "/invoke/" + url.PathEscape(j.Service) + "/" + url.PathEscape(j.Handler)
	req := httptest.NewRequestWithContext(replayonly.With(ctx, probe), http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("content-type", protocol.Version(j.ProtocolVersion).ContentType())
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("replay: %s/%s: the endpoint answered %d: %s", j.Service, j.Handler, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	var out []protocol.Frame
	rd := protocol.NewReader(rec.Body)
	for {
		f, err := rd.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay: read the handler's frames: %w", err)
		}
		out = append(out, f)
	}
	return j.report(out, probe)
}

// report reads what the handler wrote (out) and how its state machine ended (p).
func (j *Journal) report(out []protocol.Frame, p *replayonly.Probe) (*Report, error) {
	r := &Report{
		InvocationID: j.InvocationID, Target: j.target(), Entries: len(j.Entries), Commands: j.Commands(),
		Command: -1, Entry: -1,
	}
	var last protocol.Frame
	var next *protocol.Frame // a command the handler issued past the journal
	for i, f := range out {
		last = f
		if f.Type.IsCommand() && next == nil {
			next = &out[i]
		}
	}
	var ce *statemachine.CodedError
	var se *statemachine.StopError
	switch {
	case !p.Closed:
		return nil, fmt.Errorf("replay: the handler's attempt did not end (frames: %v)", types(out))
	case p.Err == nil && last.Type == protocol.EndType:
		r.Outcome = Completed
		if o, ok := j.output(); ok {
			r.Output = o.GetValue().GetContent()
			if f := o.GetFailure(); f != nil {
				r.Output = []byte(fmt.Sprintf("failure [%d] %s", f.Code, f.Message))
			}
		}
	case errors.As(p.Err, &se) && next != nil:
		r.Outcome, r.Command = Continues, se.Command
		r.Handler = statemachine.Describe(next.Type, next.Payload)
		r.Message = se.Error()
	case errors.As(p.Err, &se):
		r.Outcome, r.Command = Stopped, se.Command
		r.Message = se.Error()
	case errors.Is(p.Err, statemachine.ErrSuspended) && last.Type == protocol.SuspensionType:
		r.Outcome = Suspended
		r.Awaiting = j.awaited(suspendedOn(last.Payload))
	case last.Type == protocol.ErrorType:
		m, err := last.Message()
		if err != nil {
			return nil, fmt.Errorf("replay: the handler's ErrorMessage: %w", err)
		}
		em := m.(*pb.ErrorMessage)
		r.Outcome, r.Code, r.Message = Failed, em.Code, em.Message
		if em.Code == statemachine.CodeJournalMismatch {
			r.Outcome = Mismatch
			if em.RelatedCommandIndex != nil {
				r.Command = int(*em.RelatedCommandIndex)
			}
			if errors.As(p.Err, &ce) {
				r.Journaled, r.Handler = ce.Journaled, ce.Handler
			}
		}
	default:
		return nil, fmt.Errorf("replay: the handler ended with %v and wrote %v", p.Err, types(out))
	}
	if r.Command >= 0 {
		if e, ok := j.command(r.Command); ok {
			r.Entry = int(e.Index)
			if r.Journaled == "" {
				r.Journaled = e.What()
			}
		}
	}
	return r, nil
}

func (j *Journal) target() string {
	if j.Key != "" {
		return j.Service + "/" + j.Key + "/" + j.Handler
	}
	return j.Service + "/" + j.Handler
}

func types(fs []protocol.Frame) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type.String())
	}
	return out
}

// suspendedOn lists the completion ids a SuspensionMessage waits on, in either form: V5/V6's
// packed waiting_completions (field 1), V7's awaiting_on Future (field 4), whose
// waiting_completions (1) and nested futures (4) are read recursively. Signals (the cancel signal
// every await races with, named signals) are left out.
func suspendedOn(b []byte) []uint32 {
	var out []uint32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return out
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		switch num {
		case 1:
			for len(v) > 0 {
				x, m := protowire.ConsumeVarint(v)
				if m < 0 {
					break
				}
				v = v[m:]
				out = append(out, uint32(x))
			}
		case 4:
			out = append(out, suspendedOn(v)...)
		}
	}
	return out
}

// awaited names the commands whose completions ids are: `Sleep (command 5)`.
func (j *Journal) awaited(ids []uint32) []string {
	var out []string
	for _, id := range ids {
		n := 0
		for _, e := range j.Entries {
			if !e.Type.IsCommand() {
				continue
			}
			if completes(e, id) {
				out = append(out, fmt.Sprintf("%s (command %d)", e.What(), n))
				break
			}
			n++
		}
	}
	return out
}

// completes reports whether command e's result (or its callee's invocation id) is completion id.
func completes(e Entry, id uint32) bool {
	m, err := protocol.Decode(e.Type, e.Raw)
	if err != nil {
		return false
	}
	fields := m.ProtoReflect()
	for _, name := range []protoreflect.Name{"result_completion_id", "invocation_id_notification_idx"} {
		if f := fields.Descriptor().Fields().ByName(name); f != nil && uint32(fields.Get(f).Uint()) == id {
			return true
		}
	}
	return false
}
