package statemachine

import (
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/storage"
)

// ingest turns a Kafka record into an invocation once (see command.Ingest).
func (a *applier) ingest(in *command.Ingest) (Outcome, error) {
	if in.Offset < 0 {
		return Outcome{Code: Invalid, Message: "ingest: negative offset"}, nil
	}
	next, found, err := storage.IngestPosition(a.rw, in.Subscription, in.Topic, in.Partition)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		next = -1
	}
	if found && in.Offset < next {
		return Outcome{Code: Duplicate, Message: "record ingested before", Position: &next}, nil
	}
	if in.From != next {
		o := stale("ingest %s/%s/%d: the consumer reads from %d, the stored position is %d", in.Subscription, in.Topic, in.Partition, in.From, next)
		o.Position = &next
		return o, nil
	}
	next = in.Offset + 1
	if err := storage.PutIngestPosition(a.rw, in.Subscription, in.Topic, in.Partition, next); err != nil {
		return Outcome{}, err
	}
	if in.Skip != "" {
		return Outcome{Message: "record skipped: " + in.Skip, Position: &next}, nil
	}
	inv := in.Invoke
	return Outcome{Position: &next}, a.sendOutbox(&command.OutboxMessage{Invoke: &inv})
}
