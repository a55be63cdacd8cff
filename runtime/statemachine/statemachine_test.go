package statemachine

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// harness drives one partition's state machine over an in-memory pebble, and remembers every
// batch so that "replay" can check that the same log always gives the same tables.
type harness struct {
	t       *testing.T
	db      *pebble.DB
	sm      StateMachine
	now     int64
	batches []command.Batch
	names   map[ids.InvocationID]string
	byName  map[string]ids.InvocationID
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, db: openMem(t), sm: StateMachine{Partition: 0}, now: 1000,
		names: map[ids.InvocationID]string{}, byName: map[string]ids.InvocationID{}}
}

func openMem(t *testing.T) *pebble.DB {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: silent{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// id returns the invocation id named n ("a", "b", …), creating it for target t if new.
func (h *harness) id(n string, t command.Target) ids.InvocationID {
	if id, ok := h.byName[n]; ok {
		return id
	}
	pk := ids.HashPartitionKey(n)
	if t.Keyed() {
		pk = ids.KeyedPartitionKey(t.Service, t.Key)
	}
	id := ids.NewInvocationID(pk, [16]byte{byte(len(h.byName) + 1)})
	h.name(id, n)
	return id
}

func (h *harness) name(id ids.InvocationID, n string) {
	h.names[id], h.byName[n] = n, id
}

func (h *harness) show(id ids.InvocationID) string {
	if n, ok := h.names[id]; ok {
		return n
	}
	// An invocation created by the state machine (a callee): name it after its target.
	st, found, err := storage.Status(h.db, id)
	if err != nil || !found {
		return "?"
	}
	t := st.Invocation.Target
	base := t.Service + "/" + t.Handler
	if t.Key != "" {
		base = t.Service + "/" + t.Key + "/" + t.Handler
	}
	n := base
	for i := 2; h.byName[n] != (ids.InvocationID{}); i++ {
		n = fmt.Sprintf("%s#%d", base, i)
	}
	h.name(id, n)
	return n
}

func (h *harness) apply(cmds ...command.Command) string {
	b := command.Batch{Version: command.FormatVersion, Time: h.now, Commands: cmds}
	h.batches = append(h.batches, b)
	out, err := h.applyTo(&h.sm, h.db, b)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) applyTo(sm *StateMachine, db *pebble.DB, b command.Batch) (string, error) {
	batch := db.NewIndexedBatch()
	defer batch.Close()
	outcomes, actions, err := sm.Apply(batch, b)
	if err != nil {
		return "", err
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, o := range outcomes {
		fmt.Fprintf(&sb, "outcome: %s", [...]string{"applied", "duplicate", "stale", "invalid", "not-found", "ended", "not-started", "early"}[o.Code])
		if o.Reason != "" {
			fmt.Fprintf(&sb, " [%s]", o.Reason)
		}
		if o.Pending {
			sb.WriteString(" pending")
		}
		if o.Message != "" {
			fmt.Fprintf(&sb, " (%s)", o.Message)
		}
		if o.Position != nil {
			fmt.Fprintf(&sb, " position=%d", *o.Position)
		}
		sb.WriteString("\n")
	}
	for _, a := range actions {
		fmt.Fprintf(&sb, "action: %s", a.Kind)
		if !a.ID.IsZero() {
			fmt.Fprintf(&sb, " %s", h.show(a.ID))
		}
		switch a.Kind {
		case Notify:
			fmt.Fprintf(&sb, " index=%d %s", a.Index, h.entry(a.Entry))
		case Finished:
			fmt.Fprintf(&sb, " %s", showResult(a.Result))
		case DeliverOutbox:
			fmt.Fprintf(&sb, " seq=%d", a.Seq)
		case ArmTimer:
			fmt.Fprintf(&sb, " cid=%d wake=%d", a.CompletionID, a.WakeTime)
		}
		sb.WriteString("\n")
	}
	return sb.String(), nil
}

func showResult(r *command.Result) string {
	if r == nil {
		return "<nil>"
	}
	if r.Failure != nil {
		s := fmt.Sprintf("failure=%d:%q", r.Failure.Code, r.Failure.Message)
		for _, m := range r.Failure.Metadata {
			s += fmt.Sprintf(" %s=%s", m.Key, m.Value)
		}
		return s
	}
	return fmt.Sprintf("value=%q", r.Value)
}

func (h *harness) entry(e command.Entry) string {
	t := protocol.MessageType(e.Type)
	m, err := protocol.Decode(t, e.Payload)
	if err != nil {
		return fmt.Sprintf("%s <%v>", t, err)
	}
	s := strings.Join(strings.Fields(fmt.Sprint(m)), " ")
	return fmt.Sprintf("%s{%s}", t, s)
}

func arg(td *datadriven.TestData, key, def string) string {
	for _, a := range td.CmdArgs {
		if a.Key == key {
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func u32(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		panic(fmt.Sprintf("bad number %q", s))
	}
	return uint32(n)
}

func u32s(s string) []uint32 {
	if s == "" {
		return nil
	}
	var out []uint32
	for _, p := range strings.Split(s, ",") {
		out = append(out, u32(p))
	}
	return out
}

func target(td *datadriven.TestData) command.Target {
	t := command.Target{Service: arg(td, "service", "Counter"), Handler: arg(td, "handler", "add"), Key: arg(td, "key", "")}
	switch arg(td, "type", "object") {
	case "object":
		t.ServiceType = command.VirtualObject
		t.HandlerType = command.Exclusive
		if arg(td, "shared", "") == "true" {
			t.HandlerType = command.Shared
		}
	case "service":
		t.ServiceType = command.Service
	case "workflow":
		t.ServiceType = command.Workflow
		t.HandlerType = command.WorkflowHandler
		if arg(td, "shared", "") == "true" {
			t.HandlerType = command.Shared
		}
	}
	return t
}

// attachTarget fills the target of an attach or get-output directive: to= an invocation by
// name, workflow=Service/key, or idem=Service/handler/key (a plain service's idempotent call).
func (h *harness) attachTarget(td *datadriven.TestData) (string, *pb.IdempotentRequestTarget, *pb.WorkflowTarget) {
	if wf := arg(td, "workflow", ""); wf != "" {
		svc, key, _ := strings.Cut(wf, "/")
		return "", nil, &pb.WorkflowTarget{WorkflowName: svc, WorkflowKey: key}
	}
	if idem := arg(td, "idem", ""); idem != "" {
		parts := strings.Split(idem, "/")
		return "", &pb.IdempotentRequestTarget{ServiceName: parts[0], HandlerName: parts[1], IdempotencyKey: parts[2]}, nil
	}
	if raw := arg(td, "raw", ""); raw != "" {
		return raw, nil, nil
	}
	// An unknown name gets a well-formed id of no invocation.
	return h.id(arg(td, "to", ""), command.Target{}).String(), nil, nil
}

func payload(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// journalCommand builds the protocol message for a "journal" directive.
func (h *harness) journalCommand(td *datadriven.TestData) (protocol.MessageType, proto.Message, *command.CallResolution) {
	var kind string
	for _, a := range td.CmdArgs[1:] {
		if len(a.Vals) == 0 {
			kind = a.Key
			break
		}
	}
	cid := u32(arg(td, "cid", "0"))
	switch kind {
	case "set":
		return protocol.SetStateCommandType, &pb.SetStateCommandMessage{Key: []byte(arg(td, "k", "")), Value: &pb.Value{Content: []byte(arg(td, "v", ""))}}, nil
	case "clear":
		return protocol.ClearStateCommandType, &pb.ClearStateCommandMessage{Key: []byte(arg(td, "k", ""))}, nil
	case "clear-all":
		return protocol.ClearAllStateCommandType, &pb.ClearAllStateCommandMessage{}, nil
	case "get-lazy":
		return protocol.GetLazyStateCommandType, &pb.GetLazyStateCommandMessage{Key: []byte(arg(td, "k", "")), ResultCompletionId: cid}, nil
	case "keys":
		return protocol.GetLazyStateKeysCommandType, &pb.GetLazyStateKeysCommandMessage{ResultCompletionId: cid}, nil
	case "run":
		return protocol.RunCommandType, &pb.RunCommandMessage{ResultCompletionId: cid, Name: arg(td, "name", "")}, nil
	case "sleep":
		return protocol.SleepCommandType, &pb.SleepCommandMessage{WakeUpTime: uint64(u32(arg(td, "wake", "5000"))), ResultCompletionId: cid}, nil
	case "get-promise":
		return protocol.GetPromiseCommandType, &pb.GetPromiseCommandMessage{Key: arg(td, "name", "p"), ResultCompletionId: cid}, nil
	case "peek-promise":
		return protocol.PeekPromiseCommandType, &pb.PeekPromiseCommandMessage{Key: arg(td, "name", "p"), ResultCompletionId: cid}, nil
	case "complete-promise":
		m := &pb.CompletePromiseCommandMessage{Key: arg(td, "name", "p"), ResultCompletionId: cid}
		if f := arg(td, "failure", ""); f != "" {
			code, msg, _ := strings.Cut(f, ":")
			m.Completion = &pb.CompletePromiseCommandMessage_CompletionFailure{CompletionFailure: &pb.Failure{Code: u32(code), Message: msg}}
		} else {
			m.Completion = &pb.CompletePromiseCommandMessage_CompletionValue{CompletionValue: &pb.Value{Content: []byte(arg(td, "v", ""))}}
		}
		return protocol.CompletePromiseCommandType, m, nil
	case "attach", "get-output":
		raw, idem, wf := h.attachTarget(td)
		if kind == "attach" {
			m := &pb.AttachInvocationCommandMessage{ResultCompletionId: cid}
			switch {
			case wf != nil:
				m.Target = &pb.AttachInvocationCommandMessage_WorkflowTarget{WorkflowTarget: wf}
			case idem != nil:
				m.Target = &pb.AttachInvocationCommandMessage_IdempotentRequestTarget{IdempotentRequestTarget: idem}
			default:
				m.Target = &pb.AttachInvocationCommandMessage_InvocationId{InvocationId: raw}
			}
			return protocol.AttachInvocationCommandType, m, nil
		}
		m := &pb.GetInvocationOutputCommandMessage{ResultCompletionId: cid}
		switch {
		case wf != nil:
			m.Target = &pb.GetInvocationOutputCommandMessage_WorkflowTarget{WorkflowTarget: wf}
		case idem != nil:
			m.Target = &pb.GetInvocationOutputCommandMessage_IdempotentRequestTarget{IdempotentRequestTarget: idem}
		default:
			m.Target = &pb.GetInvocationOutputCommandMessage_InvocationId{InvocationId: raw}
		}
		return protocol.GetInvocationOutputCommandType, m, nil
	case "complete-awakeable":
		// The awakeable of invocation "of" with signal index idx; raw= gives the id verbatim.
		awk := arg(td, "raw", "")
		if awk == "" {
			awk = promises.Encode(h.byName[arg(td, "of", "")], u32(arg(td, "idx", "17")))
		}
		m := &pb.CompleteAwakeableCommandMessage{AwakeableId: awk}
		if f := arg(td, "failure", ""); f != "" {
			code, msg, _ := strings.Cut(f, ":")
			m.Result = &pb.CompleteAwakeableCommandMessage_Failure{Failure: &pb.Failure{Code: u32(code), Message: msg}}
		} else {
			m.Result = &pb.CompleteAwakeableCommandMessage_Value{Value: &pb.Value{Content: []byte(arg(td, "v", ""))}}
		}
		return protocol.CompleteAwakeableCommandType, m, nil
	case "send-signal":
		to := arg(td, "raw", "")
		if to == "" {
			to = h.byName[arg(td, "to", "")].String()
		}
		m := &pb.SendSignalCommandMessage{TargetInvocationId: to}
		if n := arg(td, "name", ""); n != "" {
			m.SignalId = &pb.SendSignalCommandMessage_Name{Name: n}
		} else {
			m.SignalId = &pb.SendSignalCommandMessage_Idx{Idx: u32(arg(td, "idx", "0"))}
		}
		switch {
		case arg(td, "failure", "") != "":
			code, msg, _ := strings.Cut(arg(td, "failure", ""), ":")
			m.Result = &pb.SendSignalCommandMessage_Failure{Failure: &pb.Failure{Code: u32(code), Message: msg}}
		case arg(td, "v", "") != "":
			m.Result = &pb.SendSignalCommandMessage_Value{Value: &pb.Value{Content: []byte(arg(td, "v", ""))}}
		default:
			m.Result = &pb.SendSignalCommandMessage_Void{Void: &pb.Void{}}
		}
		return protocol.SendSignalCommandType, m, nil
	case "output":
		if f := arg(td, "failure", ""); f != "" {
			code, msg, _ := strings.Cut(f, ":")
			failure := &pb.Failure{Code: u32(code), Message: msg}
			if md := arg(td, "meta", ""); md != "" {
				for _, kv := range strings.Split(md, ",") {
					k, v, _ := strings.Cut(kv, ":")
					failure.Metadata = append(failure.Metadata, &pb.FailureMetadata{Key: k, Value: v})
				}
			}
			return protocol.OutputCommandType, &pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Failure{Failure: failure}}, nil
		}
		return protocol.OutputCommandType, &pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: []byte(arg(td, "v", ""))}}}, nil
	case "call", "send":
		res := &command.CallResolution{ServiceType: command.Service}
		if arg(td, "to-key", "") != "" {
			res = &command.CallResolution{ServiceType: command.VirtualObject, HandlerType: command.Exclusive}
		}
		if arg(td, "to-type", "") == "workflow" {
			res = &command.CallResolution{ServiceType: command.Workflow, HandlerType: command.WorkflowHandler}
		}
		if arg(td, "unresolved", "") == "true" {
			res = nil
		}
		svc, hdl, key := arg(td, "to-service", "Counter"), arg(td, "to-handler", "add"), arg(td, "to-key", "")
		if kind == "send" {
			return protocol.OneWayCallCommandType, &pb.OneWayCallCommandMessage{ServiceName: svc, HandlerName: hdl, Key: key, Parameter: []byte(arg(td, "param", "")), InvocationIdNotificationIdx: cid}, res
		}
		call := &pb.CallCommandMessage{ServiceName: svc, HandlerName: hdl, Key: key, Parameter: []byte(arg(td, "param", "")), InvocationIdNotificationIdx: cid, ResultCompletionId: cid + 1}
		if idem := arg(td, "idem", ""); idem != "" {
			call.IdempotencyKey = &idem
		}
		return protocol.CallCommandType, call, res
	}
	h.t.Fatalf("unknown journal command %q", kind)
	return 0, nil, nil
}

func (h *harness) run(t *testing.T, td *datadriven.TestData) string {
	switch td.Cmd {
	case "time":
		h.now, _ = strconv.ParseInt(td.CmdArgs[0].Key, 10, 64)
		return ""
	case "invoke":
		tg := target(td)
		var id ids.InvocationID
		if tg.WorkflowRun() {
			// As the ingress does: one id per workflow key.
			id = ids.Workflow(tg.Service, tg.Key)
			if _, named := h.names[id]; !named {
				h.name(id, arg(td, "id", ""))
			}
		} else if idem := arg(td, "idem", ""); idem != "" {
			// As the ingress does: the id is a function of the target and the idempotency key,
			// so a retried request names the invocation it created before (shown by its name).
			id = ids.Idempotent(ids.Target{Service: tg.Service, Key: tg.Key, Handler: tg.Handler}, tg.Keyed(), idem)
			if _, named := h.names[id]; !named {
				h.name(id, arg(td, "id", ""))
			}
		} else {
			id = h.id(arg(td, "id", ""), tg)
		}
		inv := &command.Invocation{ID: id, Target: tg, Input: []byte(arg(td, "input", "")), IdempotencyKey: arg(td, "idem", ""),
			ExecutionTime: int64(u32(arg(td, "at", "0")))}
		if r := arg(td, "retention", ""); r != "" {
			// completion[/journal] in ms; without it the invocation is kept for ever.
			c, j, hasJournal := strings.Cut(r, "/")
			ret := &command.Retention{Completion: int64(u32(c)), Journal: int64(u32(c))}
			if hasJournal {
				ret.Journal = int64(u32(j))
			}
			inv.Retention = ret
		}
		return h.apply(command.Command{Kind: command.KindInvoke, Invoke: inv})
	case "journal":
		id := h.byName[td.CmdArgs[0].Key]
		ty, m, res := h.journalCommand(td)
		ae := &command.AppendEntry{ID: id, CommandIndex: u32(arg(td, "index", "0")), Entry: command.Entry{Type: uint16(ty), Payload: payload(m)}, Call: res, Pin: pinArg(td)}
		return h.apply(command.Command{Kind: command.KindAppendEntry, AppendEntry: ae, Term: uint64(u32(arg(td, "term", "0")))})
	case "propose-run":
		id := h.byName[td.CmdArgs[0].Key]
		m := &pb.ProposeRunCompletionMessage{ResultCompletionId: u32(arg(td, "cid", "0")), Result: &pb.ProposeRunCompletionMessage_Value{Value: []byte(arg(td, "v", ""))}}
		ae := &command.AppendEntry{ID: id, Entry: command.Entry{Type: uint16(protocol.ProposeRunCompletionType), Payload: payload(m)}}
		return h.apply(command.Command{Kind: command.KindAppendEntry, AppendEntry: ae, Term: uint64(u32(arg(td, "term", "0")))})
	case "ingest":
		// ingest sub=<subscription> topic=<t> part=<kafka partition> from=<position|-1|-2>
		// records=<name>@<offset>[:<key>],... [skip=<offset>,...] <target args>: a batch of Kafka
		// records proposed by its consumer.
		i64 := func(v string) int64 {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("ingest: %q: %v", v, err)
			}
			return n
		}
		skip := map[int64]bool{}
		if v := arg(td, "skip", ""); v != "" {
			for _, o := range strings.Split(v, ",") {
				skip[i64(o)] = true
			}
		}
		in := &command.Ingest{Subscription: arg(td, "sub", ""), Topic: arg(td, "topic", ""), Partition: int32(i64(arg(td, "part", "0"))), From: i64(arg(td, "from", "0"))}
		for _, item := range strings.Split(arg(td, "records", ""), ",") {
			name, rest, _ := strings.Cut(item, "@")
			off, key, _ := strings.Cut(rest, ":")
			tg := target(td)
			if tg.Keyed() {
				tg.Key = key
			}
			r := command.IngestRecord{Offset: i64(off), Invoke: command.Invocation{ID: h.id(name, tg), Target: tg, Input: []byte(off)}}
			if skip[r.Offset] {
				r.Skip = "key not UTF-8"
			}
			in.Records = append(in.Records, r)
		}
		return h.apply(command.Command{Kind: command.KindIngest, Ingest: in})
	case "fence":
		// What a new leader proposes first: fence term=<raft term>.
		return h.apply(command.Command{Kind: command.KindFence, Fence: &command.Fence{Term: uint64(u32(arg(td, "term", "0")))}})
	case "fire-timer":
		f := &command.FireTimer{ID: h.byName[td.CmdArgs[0].Key], CompletionID: u32(arg(td, "cid", "0")), WakeTime: int64(u32(arg(td, "wake", "0")))}
		return h.apply(command.Command{Kind: command.KindFireTimer, FireTimer: f})
	case "end":
		// end <name> [commands=<journal length the attempt expects>] [term=..] [pin..]
		e := &command.End{ID: h.byName[td.CmdArgs[0].Key], Pin: pinArg(td), Commands: commandsArg(td)}
		return h.apply(command.Command{Kind: command.KindEnd, End: e, Term: uint64(u32(arg(td, "term", "0")))})
	case "patch-state":
		// patch-state <name> key=k state=a:1,b:2 [version=current|<v>]
		p := &command.PatchState{ID: h.id(td.CmdArgs[0].Key, command.Target{Service: "Counter", Key: arg(td, "key", ""), ServiceType: command.VirtualObject}),
			Service: "Counter", Key: arg(td, "key", ""), Version: arg(td, "version", "")}
		if p.Version == "current" {
			state, err := storage.AllState(h.db, p.Service, p.Key)
			if err != nil {
				t.Fatal(err)
			}
			p.Version = objects.StateVersion(state)
		}
		if st := arg(td, "state", ""); st != "" {
			for _, kv := range strings.Split(st, ",") {
				k, v, _ := strings.Cut(kv, ":")
				p.State = append(p.State, command.StateEntry{Key: []byte(k), Value: []byte(v)})
			}
		}
		return h.apply(command.Command{Kind: command.KindPatchState, PatchState: p})
	case "pause":
		p := &command.Pause{ID: h.id(td.CmdArgs[0].Key, command.Target{})}
		if f := arg(td, "failure", ""); f != "" {
			code, msg, _ := strings.Cut(f, ":")
			p.LastFailure, p.Attempts = &command.Failure{Code: uint16(u32(code)), Message: msg}, u32(arg(td, "attempts", "0"))
		}
		p.Yielded = arg(td, "yielded", "") == "true"
		return h.apply(command.Command{Kind: command.KindPause, Pause: p})
	case "resume":
		// resume <name> [deployment=<dep>|latest=<dep> versions=5-7]
		return h.apply(command.Command{Kind: command.KindResume, Resume: &command.Resume{ID: h.id(td.CmdArgs[0].Key, command.Target{}), Repin: repinArg(td)}})
	case "expire":
		// What the leader's cleaner does: propose the expiry index's entries due at the clock.
		due, err := storage.DueExpiries(h.db, h.now, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			return "nothing due\n"
		}
		x := &command.Expire{}
		for _, e := range due {
			x.Entries = append(x.Entries, command.ExpiryEntry{At: e.At, ID: e.ID, JournalOnly: e.JournalOnly})
		}
		out := h.apply(command.Command{Kind: command.KindExpire, Expire: x})
		return out + h.apply(command.Command{Kind: command.KindExpire, Expire: x}) // again: a duplicate
	case "restart":
		// restart <name> as=<new name> [from=N]: the new id is drawn in the old one's partition.
		old := h.byName[td.CmdArgs[0].Key]
		nn := arg(td, "as", "")
		newID, ok := h.byName[nn]
		if !ok {
			newID = ids.NewInvocationID(old.PartitionKey, [16]byte{0xee, byte(len(h.byName) + 1)})
			h.name(newID, nn)
		}
		ra := &command.RestartAsNew{ID: old, NewID: newID, From: u32(arg(td, "from", "0")), Repin: repinArg(td), KeepPin: arg(td, "keep", "") == "true"}
		return h.apply(command.Command{Kind: command.KindRestartAsNew, RestartAsNew: ra})
	case "purge":
		pg := &command.Purge{ID: h.id(td.CmdArgs[0].Key, command.Target{}), JournalOnly: arg(td, "journal-only", "") == "true"}
		return h.apply(command.Command{Kind: command.KindPurge, Purge: pg})
	case "terminate":
		// An unknown name gets a well-formed id of no invocation.
		tm := &command.Terminate{ID: h.id(td.CmdArgs[0].Key, command.Target{}), Kill: arg(td, "kill", "") == "true"}
		return h.apply(command.Command{Kind: command.KindTerminate, Terminate: tm})
	case "signal":
		// What the ingress proposes for an awakeable resolved (v=) or rejected (failure=) over
		// HTTP; name= and void=true give the other shapes of a signal.
		sig := &command.Signal{ID: h.id(td.CmdArgs[0].Key, command.Target{}), Index: u32(arg(td, "idx", "0")), Name: arg(td, "name", ""), Void: arg(td, "void", "") == "true"}
		if f := arg(td, "failure", ""); f != "" {
			code, msg, _ := strings.Cut(f, ":")
			sig.Result.Failure = &command.Failure{Code: uint16(u32(code)), Message: msg}
		} else {
			sig.Result.Value = []byte(arg(td, "v", ""))
		}
		return h.apply(command.Command{Kind: command.KindSignal, Signal: sig})
	case "suspend":
		var named []string
		if n := arg(td, "named", ""); n != "" {
			named = strings.Split(n, ",")
		}
		s := &command.Suspend{ID: h.byName[td.CmdArgs[0].Key], WaitingCompletions: u32s(arg(td, "completions", "")), WaitingSignals: u32s(arg(td, "signals", "")), WaitingNamedSignals: named, Pin: pinArg(td), Commands: commandsArg(td)}
		return h.apply(command.Command{Kind: command.KindSuspend, Suspend: s})
	case "fail":
		f := &command.Fail{ID: h.byName[td.CmdArgs[0].Key], Failure: command.Failure{Code: uint16(u32(arg(td, "code", "500"))), Message: arg(td, "msg", "")}}
		return h.apply(command.Command{Kind: command.KindFail, Fail: f})
	case "deliver-outbox":
		// What the leader's shuffle does: deliver every outbox message, then truncate.
		entries, err := storage.Outbox(h.db, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if arg(td, "batch", "") == "true" && len(entries) > 0 {
			// One DeliverBatch of everything, applied twice: the second is a duplicate.
			b := &command.DeliverBatch{Producer: h.sm.Partition}
			for _, e := range entries {
				b.Items = append(b.Items, command.OutboxEntry{Seq: e.Seq, Message: e.Message})
			}
			for i := 0; i < 2; i++ {
				fmt.Fprintf(&sb, "deliver batch of %d\n", len(b.Items))
				sb.WriteString(h.apply(command.Command{Kind: command.KindDeliverBatch, DeliverBatch: b}))
			}
			last := entries[len(entries)-1].Seq
			sb.WriteString(h.apply(command.Command{Kind: command.KindTruncateOutbox, TruncateOutbox: &command.TruncateOutbox{UpTo: last}}))
			return sb.String()
		}
		repeat := arg(td, "twice", "") == "true"
		for _, e := range entries {
			d := &command.Deliver{Producer: h.sm.Partition, Seq: e.Seq, Message: e.Message}
			fmt.Fprintf(&sb, "deliver seq=%d\n", e.Seq)
			sb.WriteString(h.apply(command.Command{Kind: command.KindDeliver, Deliver: d}))
			if repeat {
				fmt.Fprintf(&sb, "deliver seq=%d again\n", e.Seq)
				sb.WriteString(h.apply(command.Command{Kind: command.KindDeliver, Deliver: d}))
			}
			sb.WriteString(h.apply(command.Command{Kind: command.KindTruncateOutbox, TruncateOutbox: &command.TruncateOutbox{UpTo: e.Seq}}))
		}
		return sb.String()
	case "tables":
		return h.dumpTables()
	case "pinned-of":
		st, found, err := storage.Status(h.db, h.byName[td.CmdArgs[0].Key])
		switch {
		case err != nil:
			t.Fatal(err)
		case !found:
			return "no such invocation\n"
		case st.Pinned == nil:
			return "not pinned\n"
		}
		return fmt.Sprintf("pinned to %s V%d\n", deploymentName(st.Pinned.Deployment), st.Pinned.Protocol)
	case "times-of":
		// The log's times of an invocation's transitions and the release that created it.
		st, found, err := storage.Status(h.db, h.byName[td.CmdArgs[0].Key])
		if err != nil || !found {
			t.Fatalf("status of %s: found %v, %v", td.CmdArgs[0].Key, found, err)
		}
		return fmt.Sprintf("created=%d inboxed=%d scheduled=%d running=%d modified=%d release=%s\n",
			st.CreatedAt, st.InboxedAt, st.ScheduledAt, st.RunningAt, st.ModifiedAt, st.CreatedUsing)
	case "calls-of":
		// What the state machine recorded with each call of an invocation's journal.
		id := h.byName[td.CmdArgs[0].Key]
		var sb strings.Builder
		err := storage.ScanJournals(h.db, func(of ids.InvocationID, index uint32, rec storage.JournalRecord) bool {
			if c := rec.Call; of == id && c != nil {
				fmt.Fprintf(&sb, "%d: callee %s type %d/%d retention %v appended %d\n", index, h.show(c.Callee), c.ServiceType, c.HandlerType, c.Retention, rec.At)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return sb.String()
	case "journal-of":
		id := h.byName[td.CmdArgs[0].Key]
		entries, err := storage.Journal(h.db, id)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		for i, e := range entries {
			fmt.Fprintf(&sb, "%d: %s\n", i, h.entry(e))
		}
		return sb.String()
	case "replay":
		// Apply the whole log again to an empty database, twice, each time with a new state
		// machine (nothing cached): every key and value must match.
		for i := 0; i < 2; i++ {
			db := openMem(t)
			sm := &StateMachine{Partition: h.sm.Partition}
			for _, b := range h.batches {
				if _, err := h.applyTo(sm, db, b); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(dump(t, db), dump(t, h.db)) {
				return "replay diverged"
			}
		}
		return fmt.Sprintf("replayed %d batches: identical", len(h.batches))
	}
	t.Fatalf("unknown directive %q", td.Cmd)
	return ""
}

func dump(t *testing.T, db *pebble.DB) []byte {
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var b bytes.Buffer
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Fprintf(&b, "%x=%x\n", it.Key(), it.Value())
	}
	return b.Bytes()
}

func (h *harness) dumpTables() string {
	var lines []string
	for id, n := range h.names {
		st, found, err := storage.Status(h.db, id)
		if err != nil {
			h.t.Fatal(err)
		}
		if !found {
			continue
		}
		line := fmt.Sprintf("status %s: %s commands=%d journal=%d", n, st.Phase, st.CommandCount, st.JournalLength)
		if st.Waiting != nil {
			line += fmt.Sprintf(" waiting=%v", st.Waiting.Completions)
			if len(st.Waiting.Signals) > 0 {
				line += fmt.Sprintf(" signals=%v", st.Waiting.Signals)
			}
			if len(st.Waiting.NamedSignals) > 0 {
				line += fmt.Sprintf(" named=%v", st.Waiting.NamedSignals)
			}
		}
		if st.Phase == storage.Completed {
			line += " " + showResult(st.Result)
		}
		if f := st.LastFailure; f != nil {
			line += fmt.Sprintf(" last-failure=%d:%q after %d attempts", f.Code, f.Message, st.Attempts)
		}
		if st.PauseRequested {
			line += " pause-requested"
		}
		for _, c := range st.Attached {
			line += fmt.Sprintf(" attached=%s/%d", h.show(c.ID), c.CompletionID)
		}
		lines = append(lines, line)
		t := st.Invocation.Target
		if k := st.Invocation.IdempotencyKey; k != "" {
			holder, ok, err := storage.IdempotentInvocation(h.db, t, k)
			if err != nil {
				h.t.Fatal(err)
			}
			if ok {
				lines = append(lines, fmt.Sprintf("idempotency %s/%s %s: %s", t.Service, t.Handler, k, h.show(holder)))
			}
		}
		if t.Keyed() {
			if holder, ok, _ := storage.Lock(h.db, t.Service, t.Key); ok {
				lines = append(lines, fmt.Sprintf("lock %s/%s: %s", t.Service, t.Key, h.show(holder)))
			}
			if n, _ := storage.InboxLength(h.db, t.Service, t.Key); n > 0 {
				lines = append(lines, fmt.Sprintf("inbox %s/%s: %d", t.Service, t.Key, n))
			}
			state, _ := storage.AllState(h.db, t.Service, t.Key)
			for _, e := range state {
				lines = append(lines, fmt.Sprintf("state %s/%s %s=%s", t.Service, t.Key, e.Key, e.Value))
			}
			ps, _ := storage.Promises(h.db, t.Service, t.Key)
			for _, p := range ps {
				line := fmt.Sprintf("promise %s/%s %s:", t.Service, t.Key, p.Name)
				if p.Promise.Completed {
					line += " " + showResult(&p.Promise.Result)
				}
				for _, l := range p.Promise.Listeners {
					line += fmt.Sprintf(" listener=%s/%d", h.show(l.ID), l.CompletionID)
				}
				lines = append(lines, line)
			}
		}
	}
	due, _ := storage.DueExpiries(h.db, 1<<62, 0)
	for _, e := range due {
		lines = append(lines, fmt.Sprintf("expiry %s at=%d journal-only=%v", h.show(e.ID), e.At, e.JournalOnly))
	}
	timers, _ := storage.Timers(h.db, 0)
	for _, tm := range timers {
		lines = append(lines, fmt.Sprintf("timer %s cid=%d wake=%d", h.show(tm.ID), tm.CompletionID, tm.WakeTime))
	}
	sources, err := storage.IngestPositions(h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, src := range sources {
		lines = append(lines, fmt.Sprintf("ingest %s/%s/%d: next=%d", src.Subscription, src.Topic, src.Partition, src.Next))
	}
	active, _ := storage.ActiveInvocations(h.db)
	for _, id := range active {
		lines = append(lines, "active "+h.show(id))
	}
	out, _ := storage.Outbox(h.db, 0, 1000)
	for _, e := range out {
		if e.Message.Invoke != nil {
			lines = append(lines, fmt.Sprintf("outbox %d: invoke %s %s/%s", e.Seq, h.show(e.Message.Invoke.ID), e.Message.Invoke.Target.Service, e.Message.Invoke.Target.Handler))
		} else if tm := e.Message.Terminate; tm != nil {
			lines = append(lines, fmt.Sprintf("outbox %d: terminate %s kill=%v", e.Seq, h.show(tm.ID), tm.Kill))
		} else if at := e.Message.Attach; at != nil {
			lines = append(lines, fmt.Sprintf("outbox %d: attach %s for %s/%d kind=%d", e.Seq, h.show(at.ID), h.show(at.Caller.ID), at.Caller.CompletionID, at.Caller.Kind))
		} else if sg := e.Message.Signal; sg != nil {
			lines = append(lines, fmt.Sprintf("outbox %d: signal %s idx=%d name=%q void=%t %s", e.Seq, h.show(sg.ID), sg.Index, sg.Name, sg.Void, showResult(&sg.Result)))
		} else {
			lines = append(lines, fmt.Sprintf("outbox %d: complete %s cid=%d %s", e.Seq, h.show(e.Message.Complete.ID), e.Message.Complete.CompletionID, showResult(&e.Message.Complete.Result)))
		}
	}
	sort.Strings(lines)
	lines = dedupLines(lines)
	if len(lines) == 0 {
		return "(empty)\n"
	}
	return strings.Join(lines, "\n") + "\n"
}

func dedupLines(in []string) []string {
	var out []string
	for i, l := range in {
		if i == 0 || l != in[i-1] {
			out = append(out, l)
		}
	}
	return out
}

type silent struct{}

func (silent) Infof(string, ...any)      {}
func (silent) Errorf(f string, a ...any) { fmt.Printf(f+"\n", a...) }
func (silent) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		h := newHarness(t)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return h.run(t, td)
		})
	})
}

// deploymentID names a test deployment: "dp-a" and so on, by its first byte.
func deploymentID(name string) ids.DeploymentID {
	var e [16]byte
	copy(e[:], name)
	return ids.NewDeploymentID(e)
}

func deploymentName(d ids.DeploymentID) string { return strings.TrimRight(string(d[:]), "\x00") }

// pinArg reads pin=<deployment>@<version> (the pin an attempt's first proposal carries).
func pinArg(td *datadriven.TestData) *command.Pin {
	p := arg(td, "pin", "")
	if p == "" {
		return nil
	}
	dep, v, _ := strings.Cut(p, "@")
	return &command.Pin{Deployment: deploymentID(dep), Protocol: int(u32(v))}
}

// repinArg reads deployment=<name> or latest=<name>, with versions=<min>-<max> (default 5-7).
func repinArg(td *datadriven.TestData) *command.Repin {
	dep, latest := arg(td, "deployment", ""), arg(td, "latest", "")
	if dep == "" && latest == "" {
		return nil
	}
	lo, hi, _ := strings.Cut(arg(td, "versions", "5-7"), "-")
	return &command.Repin{Deployment: deploymentID(dep + latest), MinProtocol: int(u32(lo)), MaxProtocol: int(u32(hi)), Latest: latest != ""}
}

// commandsArg is the commands=N argument of end and suspend (the journal length the attempt
// expects), nil when absent (an entry written before the check existed).
func commandsArg(td *datadriven.TestData) *uint32 {
	if v := arg(td, "commands", ""); v != "" {
		return new(u32(v))
	}
	return nil
}
