package command

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// FormatVersion is the batch format this code writes.
const FormatVersion = 1

// ErrUnknownVersion is returned when a batch was written by a newer format.
var ErrUnknownVersion = errors.New("command: unknown batch format version")

// Batch is one entry of the Raft log: commands proposed together, and the proposer's clock.
type Batch struct {
	Version uint8 `msgpack:"v"`
	// Time is the proposer's wall clock in milliseconds since the Unix epoch: the only time the
	// state machine ever sees.
	Time     int64     `msgpack:"t"`
	Commands []Command `msgpack:"c"`
}

// Encode encodes a batch.
func Encode(b Batch) ([]byte, error) {
	b.Version = FormatVersion
	data, err := msgpack.Marshal(&b)
	if err != nil {
		return nil, fmt.Errorf("command: encode batch: %w", err)
	}
	return data, nil
}

// Decode decodes and validates a batch.
func Decode(data []byte) (Batch, error) {
	// msgpack v5.4.1 allocates an array's claimed length up front (its allocation limit check in
	// decodeSliceValue is inverted), so a corrupt entry claiming 2^32 commands would exhaust memory.
	// Skipping the value first allocates nothing and fails on any length the bytes do not back.
	if err := msgpack.NewDecoder(bytes.NewReader(data)).Skip(); err != nil {
		return Batch{}, fmt.Errorf("command: decode batch: %w", err)
	}
	var b Batch
	if err := msgpack.Unmarshal(data, &b); err != nil {
		return Batch{}, fmt.Errorf("command: decode batch: %w", err)
	}
	if b.Version == 0 || b.Version > FormatVersion {
		return Batch{}, fmt.Errorf("%w: %d", ErrUnknownVersion, b.Version)
	}
	for i, c := range b.Commands {
		if err := c.Validate(); err != nil {
			return Batch{}, fmt.Errorf("command: decode batch: command %d: %w", i, err)
		}
	}
	return b, nil
}

// Validate checks that exactly the field matching Kind is set.
func (c Command) Validate() error {
	set := 0
	for _, p := range []bool{c.Invoke != nil, c.AppendEntry != nil, c.End != nil, c.Suspend != nil, c.Deliver != nil, c.TruncateOutbox != nil, c.Fail != nil, c.FireTimer != nil, c.DeliverBatch != nil, c.Signal != nil, c.Terminate != nil, c.Purge != nil, c.PatchState != nil, c.Pause != nil, c.Resume != nil, c.RestartAsNew != nil, c.Expire != nil, c.Fence != nil, c.Ingest != nil, c.JournalEvent != nil} {
		if p {
			set++
		}
	}
	ok := set == 1
	switch c.Kind {
	case KindInvoke:
		ok = ok && c.Invoke != nil
	case KindAppendEntry:
		ok = ok && c.AppendEntry != nil
	case KindEnd:
		ok = ok && c.End != nil
	case KindSuspend:
		ok = ok && c.Suspend != nil
	case KindDeliver:
		ok = ok && c.Deliver != nil && c.Deliver.Message.valid()
	case KindTruncateOutbox:
		ok = ok && c.TruncateOutbox != nil
	case KindFail:
		ok = ok && c.Fail != nil
	case KindFireTimer:
		ok = ok && c.FireTimer != nil
	case KindSignal:
		ok = ok && c.Signal != nil && (c.Signal.Index == 0) != (c.Signal.Name == "")
	case KindTerminate:
		ok = ok && c.Terminate != nil
	case KindPurge:
		ok = ok && c.Purge != nil
	case KindPatchState:
		ok = ok && c.PatchState != nil
	case KindPause:
		ok = ok && c.Pause != nil
	case KindResume:
		ok = ok && c.Resume != nil
	case KindExpire:
		ok = ok && c.Expire != nil && len(c.Expire.Entries) > 0
	case KindRestartAsNew:
		ok = ok && c.RestartAsNew != nil && c.RestartAsNew.NewID.PartitionKey == c.RestartAsNew.ID.PartitionKey
	case KindFence:
		ok = ok && c.Fence != nil && c.Fence.Term > 0
	case KindIngest:
		ok = ok && c.Ingest != nil && c.Ingest.Subscription != "" && c.Ingest.Topic != "" && len(c.Ingest.Records) > 0
		if ok {
			for i, r := range c.Ingest.Records {
				if r.Offset < 0 || (i > 0 && r.Offset <= c.Ingest.Records[i-1].Offset) {
					ok = false
					break
				}
			}
		}
	case KindJournalEvent:
		ok = ok && c.JournalEvent.valid()
	case KindDeliverBatch:
		ok = ok && c.DeliverBatch != nil && len(c.DeliverBatch.Items) > 0
		if ok {
			for i, it := range c.DeliverBatch.Items {
				if !it.Message.valid() || (i > 0 && it.Seq <= c.DeliverBatch.Items[i-1].Seq) {
					ok = false
					break
				}
			}
		}
	default:
		return fmt.Errorf("unknown kind %d", c.Kind)
	}
	if !ok {
		return fmt.Errorf("kind %d does not match its fields", c.Kind)
	}
	return nil
}
