package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/sdk"
)

// Headers Publish adds to each record: the invocation that published it, and the record's
// event id, the same in every attempt of that invocation (a consumer drops a second record
// with an event id it has seen).
const (
	HeaderInvocation = "restate.invocation.id"
	HeaderEventID    = "event.id"
)

// Published is where a record went: Publish's journaled result.
type Published struct {
	EventID   string `json:"eventId"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Publish produces r with cl inside a journaled sdk.Run named step, and returns where it went.
// The Run makes the publication a step of the invocation: once its result is journaled, a
// retry of the invocation (a later step failing, the deployment or the server crashing) replays
// the result and does not produce again. Before that (a crash between the broker's ack and the
// journal entry, or a produce error), the Run runs again and the record may be produced twice:
// an idempotent producer (franz-go's default, acks from all in-sync replicas) removes duplicates
// of its own retries only within one producer session. So r gets a deterministic key from the
// caller and Publish adds the headers HeaderInvocation and HeaderEventID (the invocation id and
// step), equal in every attempt, by which a consumer removes what remains. step must be unique
// within the handler. r is copied; r's own headers are kept.
func Publish(ctx sdk.Context, cl *kgo.Client, step string, r *kgo.Record) (Published, error) {
	return sdk.Run(ctx, func(rc sdk.RunContext) (Published, error) {
		id := rc.InvocationID() + "/" + step
		rec := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
			kgo.RecordHeader{Key: HeaderInvocation, Value: []byte(rc.InvocationID())},
			kgo.RecordHeader{Key: HeaderEventID, Value: []byte(id)})}
		got, err := cl.ProduceSync(rc, rec).First()
		if err != nil {
			return Published{}, fmt.Errorf("publish %s to %s: %w", id, r.Topic, err)
		}
		return Published{EventID: id, Topic: got.Topic, Partition: got.Partition, Offset: got.Offset}, nil
	}, sdk.WithName(step))
}
