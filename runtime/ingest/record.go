package ingest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// Headers every invocation made from a record carries, as restate-server names them.
const (
	HeaderOffset       = "kafka.offset"
	HeaderTopic        = "kafka.topic"
	HeaderPartition    = "kafka.partition"
	HeaderTimestamp    = "kafka.timestamp"
	HeaderKey          = "kafka.key"
	HeaderSubscription = "restate.subscription.id"
)

func (c *Consumer) target() command.Target {
	s := c.cfg.Subscription
	return command.Target{Service: s.Service, Handler: s.Handler, ServiceType: s.ServiceType, HandlerType: s.HandlerType}
}

// Record is Kafka record r as subscription sub ingests it, its sink target (Key set from the
// record's key when the sink is keyed). The invocation's id is a function of the source and the
// offset, so a record proposed twice names the same invocation.
func Record(sub string, target command.Target, retention *command.Retention, r *kgo.Record) command.IngestRecord {
	in := command.IngestRecord{Offset: r.Offset}
	seed := sha256.New()
	seed.Write([]byte("kafka\x00" + sub + "\x00" + r.Topic + "\x00"))
	seed.Write(binary.BigEndian.AppendUint32(nil, uint32(r.Partition)))
	seed.Write(binary.BigEndian.AppendUint64(nil, uint64(r.Offset)))
	sum := seed.Sum(nil)
	var entropy [16]byte
	copy(entropy[:], sum)
	pk := ids.PartitionKey(binary.BigEndian.Uint64(sum[16:24])) // a Service sink: spread
	if target.Keyed() {
		if !utf8.Valid(r.Key) {
			in.Skip = "the record's key is not UTF-8, and the sink is keyed by it"
		}
		target.Key = string(r.Key)
		pk = ids.KeyedPartitionKey(target.Service, target.Key)
	}
	in.Invoke = command.Invocation{
		ID: ids.NewInvocationID(pk, entropy), Target: target, Input: r.Value, Headers: headers(sub, r), Retention: retention,
	}
	return in
}

// headers are the record's metadata, as restate-server passes it, and the record's own headers.
func headers(sub string, r *kgo.Record) []command.Header {
	hs := []command.Header{
		{Key: HeaderOffset, Value: strconv.FormatInt(r.Offset, 10)},
		{Key: HeaderTopic, Value: r.Topic},
		{Key: HeaderPartition, Value: strconv.FormatInt(int64(r.Partition), 10)},
		{Key: HeaderTimestamp, Value: strconv.FormatInt(r.Timestamp.UnixMilli(), 10)},
		{Key: HeaderSubscription, Value: sub},
	}
	if r.Key != nil {
		hs = append(hs, command.Header{Key: HeaderKey, Value: base64.URLEncoding.EncodeToString(r.Key)})
	}
	for _, h := range r.Headers {
		hs = append(hs, command.Header{Key: h.Key, Value: string(h.Value)})
	}
	return hs
}
