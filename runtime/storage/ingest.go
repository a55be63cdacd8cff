package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The ingest table holds, per Kafka source (subscription, topic, Kafka partition) whose home is
// this partition, the position its consumer reads from next: the offset after the last record
// that became an invocation. It is written in the same log entry as the invocation that record
// became (command.Ingest), so a record becomes an invocation exactly once, whatever the
// consumer group committed.

func ingestKey(subscription, topic string, partition int32) []byte {
	return newKey(tableIngest).str(subscription).str(topic).u32(uint32(partition))
}

// IngestPosition reads the stored position of a Kafka source; found is false when no record of
// it was ingested here.
func IngestPosition(r pebble.Reader, subscription, topic string, partition int32) (next int64, found bool, err error) {
	v, ok, err := getRaw(r, ingestKey(subscription, topic, partition))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("storage: ingest position of %s/%s/%d has %d bytes", subscription, topic, partition, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// PutIngestPosition records the position a Kafka source's consumer reads from next.
func PutIngestPosition(w pebble.Writer, subscription, topic string, partition int32, next int64) error {
	return w.Set(ingestKey(subscription, topic, partition), binary.BigEndian.AppendUint64(nil, uint64(next)), nil)
}

// IngestSource is one Kafka source's stored position.
type IngestSource struct {
	Subscription, Topic string
	Partition           int32
	Next                int64
}

// IngestPositions lists the stored positions of every source whose home is this partition, in
// key order.
func IngestPositions(r pebble.Reader) ([]IngestSource, error) {
	var out []IngestSource
	err := scan(r, []byte{tableIngest}, func(k, v []byte) (bool, error) {
		sub, rest, ok := cutStr(k[1:])
		topic, rest, ok2 := cutStr(rest)
		if !ok || !ok2 || len(rest) != 4 || len(v) != 8 {
			return false, fmt.Errorf("storage: malformed ingest entry %x", k)
		}
		out = append(out, IngestSource{Subscription: sub, Topic: topic, Partition: int32(binary.BigEndian.Uint32(rest)), Next: int64(binary.BigEndian.Uint64(v))})
		return true, nil
	})
	return out, err
}

// cutStr reads a length-prefixed string (keyBuilder.str) off the front of b.
func cutStr(b []byte) (string, []byte, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", nil, false
	}
	return string(b[w : w+int(n)]), b[w+int(n):], true
}
