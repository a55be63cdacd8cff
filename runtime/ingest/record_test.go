package ingest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// TestRecord: what a Kafka record becomes: its invocation's id is a function of the source and
// the offset only; a keyed sink gets the record's key (its partition key follows), a Service
// sink a spread partition key; restate-server's headers and the record's own; a key that is not
// UTF-8 on a keyed sink is skipped.
func TestRecord(t *testing.T) {
	object := command.Target{Service: "Orders", Handler: "add", ServiceType: command.VirtualObject, HandlerType: command.Exclusive}
	service := command.Target{Service: "Tally", Handler: "count", ServiceType: command.Service}
	rec := func(key []byte, partition int32, offset int64) *kgo.Record {
		return &kgo.Record{Topic: "orders", Partition: partition, Offset: offset, Key: key, Value: []byte("7"),
			Timestamp: time.UnixMilli(1_700_000_000_123), Headers: []kgo.RecordHeader{{Key: "x-trace", Value: []byte("t1")}}}
	}
	base := Record("sub_1", object, nil, rec([]byte("alice"), 2, 41))
	for _, tc := range []struct {
		name     string
		sub      string
		target   command.Target
		r        *kgo.Record
		sameID   bool // as base's invocation id
		key      string
		skip     bool
		spreadPK bool
	}{
		{"the same record again", "sub_1", object, rec([]byte("alice"), 2, 41), true, "alice", false, false},
		{"the next offset", "sub_1", object, rec([]byte("alice"), 2, 42), false, "alice", false, false},
		{"another Kafka partition", "sub_1", object, rec([]byte("alice"), 3, 41), false, "alice", false, false},
		{"another subscription", "sub_2", object, rec([]byte("alice"), 2, 41), false, "alice", false, false},
		{"a key that is not UTF-8", "sub_1", object, rec([]byte{0xff, 0xfe}, 2, 43), false, "\xff\xfe", true, false},
		{"a Service sink", "sub_1", service, rec([]byte("alice"), 2, 41), false, "", false, true},
		{"a Service sink, no key", "sub_1", service, rec(nil, 2, 44), false, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Record(tc.sub, tc.target, nil, tc.r)
			inv := got.Invoke
			if (inv.ID == base.Invoke.ID) != tc.sameID {
				t.Errorf("id %s vs the first record's %s: same = %v, want %v", inv.ID, base.Invoke.ID, inv.ID == base.Invoke.ID, tc.sameID)
			}
			if again := Record(tc.sub, tc.target, nil, tc.r); again.Invoke.ID != inv.ID {
				t.Errorf("the same record made twice: ids %s and %s", inv.ID, again.Invoke.ID)
			}
			if got.Offset != tc.r.Offset || inv.Target.Key != tc.key || (got.Skip != "") != tc.skip || string(inv.Input) != "7" {
				t.Errorf("offset %d key %q skip %q input %q; want %d %q skip=%v 7", got.Offset, inv.Target.Key, got.Skip, inv.Input, tc.r.Offset, tc.key, tc.skip)
			}
			keyedPK := ids.KeyedPartitionKey(tc.target.Service, tc.key)
			if !tc.spreadPK && inv.ID.PartitionKey != keyedPK {
				t.Errorf("partition key %d, want the key's %d", inv.ID.PartitionKey, keyedPK)
			}
			hs := map[string]string{}
			for _, h := range inv.Headers {
				hs[h.Key] = h.Value
			}
			want := map[string]string{HeaderTopic: "orders", HeaderTimestamp: "1700000000123", HeaderSubscription: tc.sub, "x-trace": "t1"}
			if tc.r.Key != nil {
				want[HeaderKey] = map[string]string{"alice": "YWxpY2U=", "\xff\xfe": "__4="}[string(tc.r.Key)]
			}
			for k, v := range want {
				if hs[k] != v {
					t.Errorf("header %s = %q, want %q (%v)", k, hs[k], v, hs)
				}
			}
			if _, ok := hs[HeaderKey]; ok != (tc.r.Key != nil) {
				t.Errorf("kafka.key present = %v for key %v", ok, tc.r.Key)
			}
		})
	}
	// Service sinks spread: 64 offsets land on more than one partition of 4.
	parts := map[int]bool{}
	for off := range int64(64) {
		parts[Record("sub_1", service, nil, rec(nil, 0, off)).Invoke.ID.PartitionKey.Partition(4)] = true
	}
	if len(parts) < 2 {
		t.Errorf("64 keyless records to a Service all on partitions %v of 4", parts)
	}
}
