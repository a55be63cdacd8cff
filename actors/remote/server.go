package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/actors/remote/pb"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// serverActor receives other nodes' requests. It never waits on Local: each request runs in its
// own goroutine (counted in Endpoint.wg) and answers the requester's PID when it is done, so a
// slow partition does not hold up requests for the others.
type serverActor struct{ e *Endpoint }

func (s *serverActor) Receive(ctx actor.Context) {
	e := s.e
	switch m := ctx.Message().(type) {
	case *pb.ProposeRequest:
		e.serve(ctx.Sender(), m.TimeoutMs, func(c context.Context) proto.Message { return e.servePropose(c, m) })
	case *pb.CallRequest:
		e.serve(ctx.Sender(), m.TimeoutMs, func(c context.Context) proto.Message { return e.serveCall(c, m) })
	case *pb.AttachRequest:
		e.serve(ctx.Sender(), m.TimeoutMs, func(c context.Context) proto.Message { return e.serveAttach(c, m) })
	case *pb.ReadRequest:
		e.serve(ctx.Sender(), m.TimeoutMs, func(c context.Context) proto.Message { return e.serveRead(c, m) })
	case *pb.ResultNotice:
		e.serveNotice(m)
	case *pb.PingRequest:
		ctx.Respond(e.pong(m))
	}
}

// pong answers a ping, with the partitions' health if Local reports it.
func (e *Endpoint) pong(m *pb.PingRequest) *pb.PingResponse {
	resp := &pb.PingResponse{RequestId: m.RequestId, Address: e.Addr(), SystemId: e.SystemID(), StartedUnixMs: e.started.UnixMilli()}
	if r, ok := e.cfg.Local.(HealthReporter); ok {
		for _, h := range r.Health() {
			resp.Partitions = append(resp.Partitions, &pb.PartitionHealth{Partition: h.Partition, Leader: h.Leader, Running: h.Running,
				Reason: h.Reason, Queued: h.Queued, Calling: h.Calling})
		}
	}
	if r, ok := e.cfg.Local.(ShardReporter); ok {
		for _, sh := range r.ShardProgress() {
			resp.Shards = append(resp.Shards, &pb.ShardProgress{Shard: sh.Shard, Leader: sh.Leader, Term: sh.Term, AppliedIndex: sh.AppliedIndex})
		}
	}
	return resp
}

// serve runs work in a goroutine bounded by the requester's budget and sends its answer to to.
func (e *Endpoint) serve(to *actor.PID, timeoutMs int64, work func(context.Context) proto.Message) {
	if to == nil {
		return // nobody to answer: a request always carries its sender
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(e.ctx, time.Duration(timeoutMs)*time.Millisecond)
		defer cancel()
		e.system.Root.Send(to, work(ctx))
	}()
}

func (e *Endpoint) servePropose(ctx context.Context, m *pb.ProposeRequest) proto.Message {
	resp := &pb.ProposeResponse{RequestId: m.RequestId}
	var cmd command.Command
	err := decode("command", m.Command, &cmd)
	if err == nil {
		if verr := cmd.Validate(); verr != nil {
			err = fmt.Errorf("%w: %w", ErrBadRequest, verr)
		}
	}
	var o statemachine.Outcome
	if err == nil {
		o, err = e.cfg.Local.ProposeWait(ctx, m.Partition, cmd)
	}
	if err == nil {
		resp.Outcome, err = encode("outcome", &o)
	}
	if err != nil {
		resp.Error = encodeError(m.Partition, err)
	}
	return resp
}

func (e *Endpoint) serveCall(ctx context.Context, m *pb.CallRequest) proto.Message {
	resp := &pb.CallResponse{RequestId: m.RequestId}
	var inv command.Invocation
	err := decode("invocation", m.Invocation, &inv)
	var r command.Result
	if err == nil {
		r, err = e.cfg.Local.Call(ctx, m.Partition, inv)
	}
	if err == nil {
		resp.Result, err = encode("result", &r)
	}
	if err != nil {
		resp.Error = encodeError(m.Partition, err)
	}
	return resp
}

func (e *Endpoint) serveAttach(ctx context.Context, m *pb.AttachRequest) proto.Message {
	resp := &pb.AttachResponse{RequestId: m.RequestId}
	at, ok := e.cfg.Local.(Attacher)
	if !ok {
		resp.Error = encodeError(m.Partition, errors.New("remote: this node does not serve attach"))
		return resp
	}
	id, err := ids.ParseInvocationID(m.InvocationId)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	var a ingress.Attachment
	if err == nil {
		if m.Wait {
			a, resp.Found, err = at.Attach(ctx, m.Partition, id)
		} else {
			a, resp.Found, err = at.Output(ctx, m.Partition, id)
		}
	}
	if err == nil && resp.Found {
		resp.Attachment, err = encode("attachment", &a)
	}
	if err != nil {
		resp.Found, resp.Error = false, encodeError(m.Partition, err)
	}
	return resp
}

func (e *Endpoint) serveRead(ctx context.Context, m *pb.ReadRequest) proto.Message {
	resp := &pb.ReadResponse{RequestId: m.RequestId}
	r, ok := e.cfg.Local.(Reader)
	if !ok {
		resp.Error = encodeError(m.Partition, errors.New("remote: this node does not serve reads"))
		return resp
	}
	var value any
	var err error
	switch m.What {
	case pb.ReadRequest_WHAT_STATUS:
		var id ids.InvocationID
		if id, err = ids.ParseInvocationID(m.InvocationId); err != nil {
			err = fmt.Errorf("%w: %w", ErrBadRequest, err)
			break
		}
		var st storage.InvocationStatus
		st, resp.Found, err = r.Status(ctx, m.Partition, id)
		value = &st
	case pb.ReadRequest_WHAT_STATE:
		var state []storage.StateEntry
		state, err = r.State(ctx, m.Partition, m.Service, m.Key)
		value, resp.Found = &state, true
	case pb.ReadRequest_WHAT_ROWS:
		var rows []introspect.Rows
		var rd introspect.Read
		if rd, err = readOf(m); err != nil {
			err = fmt.Errorf("%w: %w", ErrBadRequest, err)
			break
		}
		rows, err = r.Rows(ctx, m.Partition, rd)
		value, resp.Found = &rows, true
	default:
		err = fmt.Errorf("%w: read of %v", ErrBadRequest, m.What)
	}
	if err == nil && resp.Found {
		resp.Value, err = encode("value", value)
		limit := e.cfg.MaxReadValue
		if limit <= 0 {
			limit = DefaultMaxReadValue
		}
		if err == nil && len(resp.Value) > limit {
			err = fmt.Errorf("remote: the answer is %d bytes, more than the %d a read may carry between nodes", len(resp.Value), limit)
			resp.Value = nil
		}
	}
	if err != nil {
		resp.Found, resp.Error = false, encodeError(m.Partition, err)
	}
	return resp
}

// serveNotice hands a result notice to Local, if it takes them; a notice that cannot be decoded
// is dropped (notices are at most once).
func (e *Endpoint) serveNotice(m *pb.ResultNotice) {
	n, ok := e.cfg.Local.(Notified)
	if !ok {
		return
	}
	id, err := ids.ParseInvocationID(m.InvocationId)
	if err != nil {
		e.system.Logger().Warn("remote: result notice with a bad invocation id", "id", m.InvocationId, "err", err)
		return
	}
	var r command.Result
	if err := decode("result", m.Result, &r); err != nil {
		e.system.Logger().Warn("remote: result notice with a bad result", "id", m.InvocationId, "err", err)
		return
	}
	n.ResultNotice(m.Partition, id, r)
}

// readOf is the introspection read a ROWS request asks for.
func readOf(m *pb.ReadRequest) (introspect.Read, error) {
	rd := introspect.Read{Tables: m.Tables}
	if len(m.Columns) > 0 {
		rd.Columns = make(map[string]bool, len(m.Columns))
		for _, c := range m.Columns {
			rd.Columns[c] = true
		}
	}
	for _, o := range m.Only {
		if rd.Only == nil {
			rd.Only = map[string][]ids.InvocationID{}
		}
		only := make([]ids.InvocationID, 0, len(o.InvocationIds))
		for _, s := range o.InvocationIds {
			id, err := ids.ParseInvocationID(s)
			if err != nil {
				return introspect.Read{}, fmt.Errorf("rows of %s: %w", o.Table, err)
			}
			only = append(only, id)
		}
		rd.Only[o.Table] = only
	}
	return rd, nil
}
