package statemachine

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/version"
)

// restartAsNew starts a new invocation from an ended one, as restate-server: same target, input
// and headers, with the journal up to index From (0: the input only) and, further on, the
// completions of the commands in that prefix; nobody waits for it and it has no idempotency key.
// Refused (Invalid with a Reason) while the invocation runs, for a workflow's run, when its
// journal is gone, when From is past the journal, or when a command in the prefix never got its
// completion.
func (a *applier) restartAsNew(r *command.RestartAsNew) (Outcome, error) {
	st, found, err := a.status(r.ID)
	if err != nil {
		return Outcome{}, err
	}
	invalid := func(reason, format string, args ...any) (Outcome, error) {
		return Outcome{Code: Invalid, Reason: reason, Message: fmt.Sprintf(format, args...)}, nil
	}
	switch {
	case !found:
		return Outcome{Code: NotFound, Message: "invocation " + r.ID.String() + " not found"}, nil
	case st.Phase == storage.Inboxed || st.Phase == storage.Scheduled:
		return Outcome{Code: NotStarted, Message: "invocation " + r.ID.String() + " is " + st.Phase.String()}, nil
	case st.Phase != storage.Completed:
		return invalid(ReasonStillRunning, "invocation %s is %s", r.ID, st.Phase)
	case st.Invocation.Target.WorkflowRun():
		return invalid(ReasonUnsupported, "invocation %s is a workflow's run", r.ID)
	case st.JournalLength == 0:
		return invalid(ReasonMissingInput, "the journal of %s is gone", r.ID)
	case r.From >= st.JournalLength:
		return invalid(ReasonOutOfRange, "index %d is past the journal of %s (%d entries)", r.From, r.ID, st.JournalLength)
	case r.From > 0 && (st.Pinned == nil || st.Pinned.Protocol < 6):
		// Before V6, ctx.rand was seeded differently: a copied prefix would not replay.
		return invalid(ReasonUnsupported, "invocation %s was not journaled with protocol V6 or later; only its input can be restarted", r.ID)
	}
	pin, o := restartPin(&st, r)
	if o != nil {
		return *o, nil
	}
	if _, taken, err := a.status(r.NewID); err != nil || taken {
		return Outcome{Code: Duplicate}, err
	}
	journal, err := storage.Journal(a.rw, r.ID)
	if err != nil {
		return Outcome{}, err
	}
	inv := st.Invocation
	inv.ID, inv.IdempotencyKey, inv.Caller, inv.ExecutionTime = r.NewID, "", nil, 0
	ns := storage.InvocationStatus{Invocation: inv, Pinned: pin, CreatedAt: a.now, ModifiedAt: a.now, CreatedUsing: version.Version}
	missing := map[uint32]bool{}
	copyEntry := func(e command.Entry) error {
		t := protocol.MessageType(e.Type)
		if t.IsCommand() || t.IsCustom() {
			ns.CommandCount++
		}
		if m, err := protocol.Decode(t, e.Payload); err == nil {
			if t.IsCommand() {
				for _, c := range completionIDs(m, "result_completion_id", "invocation_id_notification_idx") {
					missing[c] = true
				}
			} else {
				recordNotification(&ns, m)
			}
		}
		if err := storage.AppendJournal(a.rw, r.NewID, ns.JournalLength, e, a.now); err != nil {
			return err
		}
		ns.JournalLength++
		return nil
	}
	for i := uint32(0); i <= r.From && int(i) < len(journal); i++ {
		if err := copyEntry(journal[i]); err != nil {
			return Outcome{}, err
		}
	}
	for _, c := range ns.Completions {
		delete(missing, c)
	}
	for i := int(r.From) + 1; i < len(journal) && len(missing) > 0; i++ {
		e := journal[i]
		t := protocol.MessageType(e.Type)
		if t.IsCommand() || t.IsCustom() {
			continue
		}
		m, err := protocol.Decode(t, e.Payload)
		if err != nil {
			continue
		}
		if ids := completionIDs(m, "completion_id"); len(ids) == 1 && missing[ids[0]] {
			delete(missing, ids[0])
			if err := copyEntry(e); err != nil {
				return Outcome{}, err
			}
		}
	}
	if len(missing) > 0 {
		// Nothing was committed to the new status; the copied entries go with the batch's
		// other writes, so remove them again.
		if err := storage.DeleteJournal(a.rw, r.NewID); err != nil {
			return Outcome{}, err
		}
		return invalid(ReasonIncompletePrefix, "the journal of %s up to index %d holds commands without their completions", r.ID, r.From)
	}
	return Outcome{}, a.admit(r.NewID, &ns)
}

// restartPin is the pin of the invocation restarted from st: the old pin (KeepPin), or the
// chosen deployment with the old journal's protocol version, which it must support.
func restartPin(st *storage.InvocationStatus, r *command.RestartAsNew) (*command.Pin, *Outcome) {
	switch {
	case r.KeepPin && st.Pinned == nil:
		return nil, &Outcome{Code: Invalid, Reason: ReasonNotPinned, Message: "invocation " + r.ID.String() + " has no pinned deployment to keep"}
	case r.KeepPin:
		p := *st.Pinned
		return &p, nil
	case r.Repin == nil:
		return nil, nil
	}
	if o := checkRepin(st, r.Repin); o != nil {
		return nil, o
	}
	p := command.Pin{Deployment: r.Repin.Deployment}
	if st.Pinned != nil {
		p.Protocol = st.Pinned.Protocol
	}
	return &p, nil
}

// checkRepin refuses a deployment that does not speak the protocol version of st's journal.
func checkRepin(st *storage.InvocationStatus, rp *command.Repin) *Outcome {
	if st.Pinned == nil || st.Pinned.Protocol == 0 {
		return nil
	}
	if v := st.Pinned.Protocol; v < rp.MinProtocol || v > rp.MaxProtocol {
		return &Outcome{Code: Invalid, Reason: ReasonIncompatibleDeployment, Message: fmt.Sprintf(
			"deployment %s supports protocol versions %d to %d, the journal of %s is V%d", rp.Deployment, rp.MinProtocol, rp.MaxProtocol, st.Invocation.ID, v)}
	}
	return nil
}

// completionIDs reads the named uint32 fields of m that are set.
func completionIDs(m proto.Message, names ...protoreflect.Name) []uint32 {
	var out []uint32
	fields := m.ProtoReflect().Descriptor().Fields()
	for _, n := range names {
		if f := fields.ByName(n); f != nil && f.Kind() == protoreflect.Uint32Kind && m.ProtoReflect().Has(f) {
			out = append(out, uint32(m.ProtoReflect().Get(f).Uint()))
		}
	}
	return out
}

// recordNotification notes a copied notification in the new invocation's status, as journaling
// it would have.
func recordNotification(st *storage.InvocationStatus, m proto.Message) {
	if s, ok := m.(*pb.SignalNotificationMessage); ok {
		if n := s.GetName(); n != "" {
			st.NamedSignals = append(st.NamedSignals, n)
		} else {
			st.Signals = append(st.Signals, s.GetIdx())
		}
		return
	}
	if ids := completionIDs(m, "completion_id"); len(ids) == 1 {
		st.Completions = append(st.Completions, ids[0])
	}
}
