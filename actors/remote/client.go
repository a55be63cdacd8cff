package remote

import (
	"context"
	"fmt"
	"maps"
	"slices"
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

// pending is a request waiting for its response.
type pending struct {
	node string
	op   string
	done chan answer // buffered: answered once, by whoever removes it from Endpoint.mu.pending
}

type answer struct {
	msg proto.Message
	err error
}

// ProposeWait proposes cmd to partition on node and waits for its outcome.
func (e *Endpoint) ProposeWait(ctx context.Context, node string, partition uint32, cmd command.Command) (statemachine.Outcome, error) {
	data, err := encode("command", &cmd)
	if err != nil {
		return statemachine.Outcome{}, err
	}
	msg, err := e.request(ctx, node, "propose", partition, func(id uint64, budget time.Duration) proto.Message {
		return &pb.ProposeRequest{RequestId: id, Partition: partition, Command: data, TimeoutMs: budget.Milliseconds()}
	})
	if err != nil {
		return statemachine.Outcome{}, err
	}
	resp, ok := msg.(*pb.ProposeResponse)
	if !ok {
		return statemachine.Outcome{}, e.unexpected(node, "propose", partition, msg)
	}
	if resp.Error != nil {
		return statemachine.Outcome{}, decodeError(node, "propose", resp.Error)
	}
	var o statemachine.Outcome
	if err := decode("outcome", resp.Outcome, &o); err != nil {
		return o, &Error{Node: node, Op: "propose", Partition: partition, Err: err}
	}
	return o, nil
}

// Call invokes inv (or attaches to the invocation with its id) on partition on node and waits
// for its result.
func (e *Endpoint) Call(ctx context.Context, node string, partition uint32, inv command.Invocation) (command.Result, error) {
	data, err := encode("invocation", &inv)
	if err != nil {
		return command.Result{}, err
	}
	msg, err := e.request(ctx, node, "call", partition, func(id uint64, budget time.Duration) proto.Message {
		return &pb.CallRequest{RequestId: id, Partition: partition, Invocation: data, TimeoutMs: budget.Milliseconds()}
	})
	if err != nil {
		return command.Result{}, err
	}
	resp, ok := msg.(*pb.CallResponse)
	if !ok {
		return command.Result{}, e.unexpected(node, "call", partition, msg)
	}
	if resp.Error != nil {
		return command.Result{}, decodeError(node, "call", resp.Error)
	}
	var r command.Result
	if err := decode("result", resp.Result, &r); err != nil {
		return r, &Error{Node: node, Op: "call", Partition: partition, Err: err}
	}
	return r, nil
}

// Attach waits on node for invocation id (of partition) to end and returns its result; found is
// false when there is no such invocation.
func (e *Endpoint) Attach(ctx context.Context, node string, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	return e.attach(ctx, node, "attach", partition, id, true)
}

// Output reads invocation id on node now: its result once it has ended.
func (e *Endpoint) Output(ctx context.Context, node string, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error) {
	return e.attach(ctx, node, "output", partition, id, false)
}

func (e *Endpoint) attach(ctx context.Context, node, op string, partition uint32, id ids.InvocationID, wait bool) (ingress.Attachment, bool, error) {
	msg, err := e.request(ctx, node, op, partition, func(rid uint64, budget time.Duration) proto.Message {
		return &pb.AttachRequest{RequestId: rid, Partition: partition, InvocationId: id.String(), TimeoutMs: budget.Milliseconds(), Wait: wait}
	})
	if err != nil {
		return ingress.Attachment{}, false, err
	}
	resp, ok := msg.(*pb.AttachResponse)
	if !ok {
		return ingress.Attachment{}, false, e.unexpected(node, op, partition, msg)
	}
	if resp.Error != nil {
		return ingress.Attachment{}, false, decodeError(node, op, resp.Error)
	}
	var a ingress.Attachment
	if !resp.Found {
		return a, false, nil
	}
	if err := decode("attachment", resp.Attachment, &a); err != nil {
		return a, false, &Error{Node: node, Op: op, Partition: partition, Err: err}
	}
	return a, true, nil
}

// NotifyResult sends invocation id's result to node, for a caller waiting there.
func (e *Endpoint) NotifyResult(node string, partition uint32, id ids.InvocationID, r command.Result) error {
	data, err := encode("result", &r)
	if err != nil {
		return err
	}
	if e.isClosed() {
		return &Error{Node: node, Op: "notify", Partition: partition, Err: ErrClosed}
	}
	e.system.Root.Send(actor.NewPID(node, ServerName), &pb.ResultNotice{Partition: partition, InvocationId: id.String(), Result: data})
	return nil
}

// Ping asks node whether its endpoint is alive, and how its partitions are.
func (e *Endpoint) Ping(ctx context.Context, node string) (Pong, error) {
	msg, err := e.request(ctx, node, "ping", 0, pingRequest)
	if err != nil {
		return Pong{}, err
	}
	resp, ok := msg.(*pb.PingResponse)
	if !ok {
		return Pong{}, e.unexpected(node, "ping", 0, msg)
	}
	pong := Pong{Addr: resp.Address, SystemID: resp.SystemId, Started: time.UnixMilli(resp.StartedUnixMs)}
	for _, sh := range resp.Shards {
		pong.Shards = append(pong.Shards, ShardProgress{Shard: sh.Shard, Leader: sh.Leader, Term: sh.Term, AppliedIndex: sh.AppliedIndex})
	}
	for _, h := range resp.Partitions {
		pong.Partitions = append(pong.Partitions, PartitionHealth{Partition: h.Partition, Leader: h.Leader, Running: h.Running,
			Reason: h.Reason, Queued: h.Queued, Calling: h.Calling})
	}
	return pong, nil
}

func pingRequest(id uint64, _ time.Duration) proto.Message { return &pb.PingRequest{RequestId: id} }

// Status reads invocation id's status record on node, which leads its partition.
func (e *Endpoint) Status(ctx context.Context, node string, partition uint32, id ids.InvocationID) (storage.InvocationStatus, bool, error) {
	var st storage.InvocationStatus
	found, err := e.read(ctx, node, "status", partition, &pb.ReadRequest{What: pb.ReadRequest_WHAT_STATUS, InvocationId: id.String()}, &st)
	return st, found, err
}

// State reads a Virtual Object key's state on node, which leads its partition.
func (e *Endpoint) State(ctx context.Context, node string, partition uint32, service, key string) ([]storage.StateEntry, error) {
	var state []storage.StateEntry
	_, err := e.read(ctx, node, "state", partition, &pb.ReadRequest{What: pb.ReadRequest_WHAT_STATE, Service: service, Key: key}, &state)
	return state, err
}

// Rows reads introspection tables of partition on node, which leads it, from one snapshot.
func (e *Endpoint) Rows(ctx context.Context, node string, partition uint32, rd introspect.Read) ([]introspect.Rows, error) {
	var rows []introspect.Rows
	req := &pb.ReadRequest{What: pb.ReadRequest_WHAT_ROWS, Tables: rd.Tables}
	for _, table := range slices.Sorted(maps.Keys(rd.Only)) {
		o := &pb.TableInvocations{Table: table}
		for _, id := range rd.Only[table] {
			o.InvocationIds = append(o.InvocationIds, id.String())
		}
		req.Only = append(req.Only, o)
	}
	req.Columns = slices.Sorted(maps.Keys(rd.Columns))
	_, err := e.read(ctx, node, "rows", partition, req, &rows)
	return rows, err
}

func (e *Endpoint) read(ctx context.Context, node, op string, partition uint32, req *pb.ReadRequest, into any) (bool, error) {
	msg, err := e.request(ctx, node, op, partition, func(id uint64, budget time.Duration) proto.Message {
		r := proto.Clone(req).(*pb.ReadRequest)
		r.RequestId, r.Partition, r.TimeoutMs = id, partition, budget.Milliseconds()
		return r
	})
	if err != nil {
		return false, err
	}
	resp, ok := msg.(*pb.ReadResponse)
	if !ok {
		return false, e.unexpected(node, op, partition, msg)
	}
	if resp.Error != nil {
		return false, decodeError(node, op, resp.Error)
	}
	if !resp.Found {
		return false, nil
	}
	if err := decode(op, resp.Value, into); err != nil {
		return false, &Error{Node: node, Op: op, Partition: partition, Err: err}
	}
	return true, nil
}

// request sends the message build makes to node's server actor and waits for the response,
// bounded by ctx (or by the default timeout). build gets the request id and the budget left.
func (e *Endpoint) request(ctx context.Context, node, op string, partition uint32, build func(id uint64, budget time.Duration) proto.Message) (proto.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.DefaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	budget := time.Until(deadline)
	if budget <= 0 {
		return nil, &Error{Node: node, Op: op, Partition: partition, Err: context.DeadlineExceeded}
	}
	id := e.nextID.Add(1)
	p := &pending{node: node, op: op, done: make(chan answer, 1)}
	if !e.addPending(id, p) {
		return nil, &Error{Node: node, Op: op, Partition: partition, Err: ErrClosed}
	}
	e.system.Root.RequestWithCustomSender(actor.NewPID(node, ServerName), build(id, budget), e.replies)
	var a answer
	select {
	case a = <-p.done:
	case <-ctx.Done():
		if e.removePending(id) != nil {
			return nil, &Error{Node: node, Op: op, Partition: partition, Err: fmt.Errorf("no answer: %w", context.Cause(ctx))}
		}
		a = <-p.done // answered meanwhile
	}
	if a.err != nil {
		return nil, &Error{Node: node, Op: op, Partition: partition, Err: a.err}
	}
	return a.msg, nil
}

func (e *Endpoint) unexpected(node, op string, partition uint32, msg proto.Message) error {
	return &Error{Node: node, Op: op, Partition: partition, Err: fmt.Errorf("unexpected response %T", msg)}
}

func (e *Endpoint) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.closed
}

func (e *Endpoint) addPending(id uint64, p *pending) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return false
	}
	e.mu.pending[id] = p
	return true
}

// removePending takes request id out of the pending set; nil if it was answered already.
func (e *Endpoint) removePending(id uint64) *pending {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.mu.pending[id]
	delete(e.mu.pending, id)
	return p
}

func (e *Endpoint) answer(id uint64, a answer) {
	if p := e.removePending(id); p != nil {
		p.done <- a
	}
}

// failNode answers every request waiting on node with err.
func (e *Endpoint) failNode(node string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, p := range e.mu.pending {
		if p.node == node {
			delete(e.mu.pending, id)
			p.done <- answer{err: err}
		}
	}
}

func (e *Endpoint) failAll(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, p := range e.mu.pending {
		delete(e.mu.pending, id)
		p.done <- answer{err: err}
	}
}

// replyActor receives the responses to this node's requests and hands each to its waiter.
type replyActor struct{ e *Endpoint }

func (r *replyActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.ProposeResponse:
		r.e.answer(m.RequestId, answer{msg: m})
	case *pb.CallResponse:
		r.e.answer(m.RequestId, answer{msg: m})
	case *pb.PingResponse:
		r.e.answer(m.RequestId, answer{msg: m})
	case *pb.AttachResponse:
		r.e.answer(m.RequestId, answer{msg: m})
	case *pb.ReadResponse:
		r.e.answer(m.RequestId, answer{msg: m})
	case *actor.DeadLetterResponse:
		// A request could not be delivered: the node is not connected, or has no server actor.
		if m.Target != nil {
			r.e.failNode(m.Target.Address, fmt.Errorf("%w: %s not delivered to %s", ErrUnreachable, m.Target.Id, m.Target.Address))
		}
	}
}
