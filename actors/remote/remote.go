package remote

import (
	"context"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/ingress"
	"github.com/resolute-run/resolute/runtime/introspect"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// Local is what a node serves to the others: its partitions (in practice the partition Router,
// through an adapter that resolves the partition). Its errors cross the wire with their kind
// (see encodeError): a refusal (an error with RetryAfter and Unavailable), ErrNotLeader,
// raftlog.ErrProposal, context deadline and cancellation; anything else arrives as its text.
type Local interface {
	ProposeWait(ctx context.Context, partition uint32, cmd command.Command) (statemachine.Outcome, error)
	Call(ctx context.Context, partition uint32, inv command.Invocation) (command.Result, error)
}

// Attacher is implemented by a Local that serves the ingress's attach and output (by invocation
// id) to other nodes: Attach waits for the invocation to end, Output reads it now; found is
// false when there is no such invocation.
type Attacher interface {
	Attach(ctx context.Context, partition uint32, id ids.InvocationID) (a ingress.Attachment, found bool, err error)
	Output(ctx context.Context, partition uint32, id ids.InvocationID) (a ingress.Attachment, found bool, err error)
}

// Reader is implemented by a Local that serves reads of the partitions it leads to other nodes
// (the admin API's status and state of a partition held elsewhere).
type Reader interface {
	Status(ctx context.Context, partition uint32, id ids.InvocationID) (st storage.InvocationStatus, found bool, err error)
	State(ctx context.Context, partition uint32, service, key string) ([]storage.StateEntry, error)
	// Rows reads introspection tables from one snapshot of the partition (introspect).
	Rows(ctx context.Context, partition uint32, rd introspect.Read) ([]introspect.Rows, error)
}

// ShardReporter is implemented by a Local that reports its Raft replicas' progress in Ping's
// answer (replication lag). Like HealthReporter it must be quick and must not block.
type ShardReporter interface {
	ShardProgress() []ShardProgress
}

// ShardProgress is one Raft replica's progress on a node.
type ShardProgress struct {
	Shard, Leader, Term, AppliedIndex uint64
}

// Notified is implemented by a Local that takes results for callers waiting on this node (a
// ResultNotice). It must not block.
type Notified interface {
	ResultNotice(partition uint32, id ids.InvocationID, r command.Result)
}

// HealthReporter is implemented by a Local that reports its partitions' health in Ping's answer.
// It is called on the server actor's goroutine: it must be quick and must not block.
type HealthReporter interface {
	Health() []PartitionHealth
}

// PartitionHealth is one partition's state on a node, as partition.Health reports it.
type PartitionHealth struct {
	Partition uint32
	Leader    bool
	Running   bool
	Reason    string // why it does not run
	Queued    int64  // proposals waiting for the log or in flight
	Calling   int64  // callers waiting for their invocations
}

// Remote is what a router needs to reach the partitions another node leads. node is that node's
// remoting address. Every request is bounded by ctx (or by the endpoint's default timeout): a
// lost node fails it with an *Error naming the node, never a hang.
type Remote interface {
	ProposeWait(ctx context.Context, node string, partition uint32, cmd command.Command) (statemachine.Outcome, error)
	Call(ctx context.Context, node string, partition uint32, inv command.Invocation) (command.Result, error)
	Attach(ctx context.Context, node string, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error)
	Output(ctx context.Context, node string, partition uint32, id ids.InvocationID) (ingress.Attachment, bool, error)
	// NotifyResult sends a ResultNotice: one-way, at most once.
	NotifyResult(node string, partition uint32, id ids.InvocationID, r command.Result) error
	Ping(ctx context.Context, node string) (Pong, error)
	// Status and State read a partition node leads (a Reader there).
	Status(ctx context.Context, node string, partition uint32, id ids.InvocationID) (storage.InvocationStatus, bool, error)
	State(ctx context.Context, node string, partition uint32, service, key string) ([]storage.StateEntry, error)
	Rows(ctx context.Context, node string, partition uint32, rd introspect.Read) ([]introspect.Rows, error)
}

// Pong is a node's answer to Ping.
type Pong struct {
	Addr     string
	SystemID string // new after every restart of the node
	Started  time.Time
	// Partitions is the node's view of its partitions; nil when its Local reports none.
	Partitions []PartitionHealth
	// Shards is the progress of the node's Raft replicas; nil when its Local reports none.
	Shards []ShardProgress
}
