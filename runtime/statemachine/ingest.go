package statemachine

import (
	"fmt"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/storage"
)

// ingest turns a batch of Kafka records into invocations once (see command.Ingest).
func (a *applier) ingest(in *command.Ingest) (Outcome, error) {
	next, found, err := storage.IngestPosition(a.rw, in.Subscription, in.Topic, in.Partition)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		next = -1
	}
	if in.From != next {
		o := stale("ingest %s/%s/%d: the consumer reads from %d, the stored position is %d", in.Subscription, in.Topic, in.Partition, in.From, next)
		o.Position = &next
		return o, nil
	}
	if first := in.Records[0].Offset; first < next {
		return Outcome{Code: Invalid, Message: fmt.Sprintf("ingest: record %d is below the position %d it is read from", first, next), Position: &next}, nil
	}
	skipped := 0
	for _, r := range in.Records {
		if r.Skip != "" {
			skipped++
			continue
		}
		inv := r.Invoke
		if err := a.sendOutbox(&command.OutboxMessage{Invoke: &inv}); err != nil {
			return Outcome{}, err
		}
	}
	next = in.Records[len(in.Records)-1].Offset + 1
	if err := storage.PutIngestPosition(a.rw, in.Subscription, in.Topic, in.Partition, next); err != nil {
		return Outcome{}, err
	}
	o := Outcome{Position: &next}
	if skipped > 0 {
		o.Message = fmt.Sprintf("%d records skipped", skipped)
	}
	return o, nil
}
