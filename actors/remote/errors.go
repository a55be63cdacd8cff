package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/resolute-run/resolute/actors/remote/pb"
	"github.com/resolute-run/resolute/runtime/raftlog"
)

// Sentinels for errors.Is.
var (
	// ErrOverloaded and ErrUnavailable classify a *RefusedError, as partition's sentinels do.
	ErrOverloaded  = errors.New("remote: partition overloaded")
	ErrUnavailable = errors.New("remote: partition unavailable")
	// ErrNotLeader: the node asked does not lead the partition. A Local returns it (wrapped) and
	// the caller gets it back, so that the router may look the leader up again.
	ErrNotLeader = errors.New("remote: not the partition's leader")
	// ErrUnreachable: the connection to the node was lost or could not be made.
	ErrUnreachable = errors.New("remote: node unreachable")
	// ErrClosed: the local endpoint is closed.
	ErrClosed = errors.New("remote: endpoint closed")
	// ErrBadRequest: a message could not be decoded.
	ErrBadRequest = errors.New("remote: bad request")
)

// RefusedError is a refusal that happened on another node: nothing was accepted, and the caller
// may retry after RetryAfter. It has the methods the ingress and the admin API look for
// (RetryAfter, Unavailable), so they answer 429 or 503 with Retry-After as they do for a local
// refusal, and its text is the refusing node's.
type RefusedError struct {
	Node       string
	Partition  uint32
	Overloaded bool
	Message    string
	After      time.Duration
}

func (e *RefusedError) Error() string { return e.Message }

// RetryAfter is how long the caller should wait before retrying.
func (e *RefusedError) RetryAfter() time.Duration { return e.After }

// Unavailable is true when the partition cannot run, false when it is only busy.
func (e *RefusedError) Unavailable() bool { return !e.Overloaded }

// Is makes errors.Is(err, ErrOverloaded) and errors.Is(err, ErrUnavailable) work.
func (e *RefusedError) Is(target error) bool {
	return (target == ErrOverloaded && e.Overloaded) || (target == ErrUnavailable && !e.Overloaded)
}

// Error is a failure other than a refusal, reported by node (or about it, for a lost node). It
// unwraps to the sentinel of its kind (context.DeadlineExceeded, context.Canceled,
// raftlog.ErrProposal, ErrNotLeader, ErrUnreachable, ErrBadRequest) or to the local cause.
type Error struct {
	Node      string
	Partition uint32
	Op        string // "propose", "call", "attach", "output", "ping", "notify"
	Message   string // the answering node's text, if it answered
	Err       error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("remote: node %s: %s", e.Node, e.Op)
	if e.Op != "ping" {
		s += fmt.Sprintf(" on partition %d", e.Partition)
	}
	if e.Message != "" {
		return s + ": " + e.Message
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// refusal is what partition.RefusedError provides; remote does not import partition (the router
// there sits on top of this package).
type refusal interface {
	error
	RetryAfter() time.Duration
	Unavailable() bool
}

// encodeError classifies a Local's error for the wire.
func encodeError(partition uint32, err error) *pb.Error {
	e := &pb.Error{Kind: pb.Error_KIND_INTERNAL, Message: err.Error(), Partition: partition}
	var r refusal
	switch {
	case errors.As(err, &r):
		e.Kind, e.RetryAfterMs = pb.Error_KIND_OVERLOADED, r.RetryAfter().Milliseconds()
		if r.Unavailable() {
			e.Kind = pb.Error_KIND_UNAVAILABLE
		}
		e.Message = r.Error()
	case errors.Is(err, ErrNotLeader):
		e.Kind = pb.Error_KIND_NOT_LEADER
	case errors.Is(err, raftlog.ErrProposal):
		e.Kind = pb.Error_KIND_OUTCOME_UNKNOWN
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = pb.Error_KIND_DEADLINE
	case errors.Is(err, context.Canceled):
		e.Kind = pb.Error_KIND_CANCELED
	case errors.Is(err, ErrBadRequest):
		e.Kind = pb.Error_KIND_BAD_REQUEST
	}
	return e
}

// decodeError turns a wire error from node back into an error of the same kind.
func decodeError(node, op string, e *pb.Error) error {
	switch e.Kind {
	case pb.Error_KIND_OVERLOADED, pb.Error_KIND_UNAVAILABLE:
		return &RefusedError{Node: node, Partition: e.Partition, Overloaded: e.Kind == pb.Error_KIND_OVERLOADED,
			Message: e.Message, After: time.Duration(e.RetryAfterMs) * time.Millisecond}
	}
	out := &Error{Node: node, Partition: e.Partition, Op: op, Message: e.Message, Err: errors.New(e.Message)}
	switch e.Kind {
	case pb.Error_KIND_NOT_LEADER:
		out.Err = ErrNotLeader
	case pb.Error_KIND_OUTCOME_UNKNOWN:
		out.Err = raftlog.ErrProposal
	case pb.Error_KIND_DEADLINE:
		out.Err = context.DeadlineExceeded
	case pb.Error_KIND_CANCELED:
		out.Err = context.Canceled
	case pb.Error_KIND_BAD_REQUEST:
		out.Err = ErrBadRequest
	}
	return out
}
