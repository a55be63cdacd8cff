package storage

import (
	"encoding/binary"

	"github.com/resolute-run/resolute/runtime/ids"
)

// Table prefixes. Values are part of the storage format: never renumber.
const (
	tableMeta        byte = 0x01
	tableStatus      byte = 0x02
	tableJournal     byte = 0x03
	tableActive      byte = 0x04
	tableInbox       byte = 0x05
	tableLock        byte = 0x06
	tableState       byte = 0x07
	tableOutbox      byte = 0x08
	tableIdempotency byte = 0x09
	tableDedup       byte = 0x0A
	tableTimers      byte = 0x0B
	tablePromise     byte = 0x0C
	tableExpiry      byte = 0x0D
	tableIngest      byte = 0x0E // ingest.go
	tableEvents      byte = 0x0F // events.go
)

type keyBuilder []byte

func newKey(table byte) keyBuilder { return keyBuilder{table} }

func (k keyBuilder) str(s string) keyBuilder {
	k = binary.AppendUvarint(k, uint64(len(s)))
	return append(k, s...)
}

func (k keyBuilder) raw(b []byte) keyBuilder { return append(k, b...) }

func (k keyBuilder) u32(v uint32) keyBuilder { return binary.BigEndian.AppendUint32(k, v) }

func (k keyBuilder) u64(v uint64) keyBuilder { return binary.BigEndian.AppendUint64(k, v) }

func (k keyBuilder) id(id ids.InvocationID) keyBuilder { return append(k, id.Bytes()...) }

// prefixEnd returns the smallest key greater than every key with the given prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // prefix is all 0xff: no upper bound
}

func statusKey(id ids.InvocationID) []byte { return newKey(tableStatus).id(id) }
func journalPrefix(id ids.InvocationID) []byte {
	return newKey(tableJournal).id(id)
}
func journalKey(id ids.InvocationID, index uint32) []byte {
	return keyBuilder(journalPrefix(id)).u32(index)
}
func activeKey(id ids.InvocationID) []byte { return newKey(tableActive).id(id) }
func inboxPrefix(service, key string) []byte {
	return newKey(tableInbox).str(service).str(key)
}
func inboxKey(service, key string, seq uint64) []byte {
	return keyBuilder(inboxPrefix(service, key)).u64(seq)
}
func lockKey(service, key string) []byte { return newKey(tableLock).str(service).str(key) }
func statePrefix(service, key string) []byte {
	return newKey(tableState).str(service).str(key)
}
func stateKey(service, key string, name []byte) []byte {
	return keyBuilder(statePrefix(service, key)).raw(name)
}
func outboxKey(seq uint64) []byte { return newKey(tableOutbox).u64(seq) }
func idempotencyKey(service, key, handler, idem string) []byte {
	return newKey(tableIdempotency).str(service).str(key).str(handler).str(idem)
}
func dedupKey(producer uint32) []byte { return newKey(tableDedup).u32(producer) }
func timerKey(t Timer) []byte {
	return newKey(tableTimers).u64(uint64(t.WakeTime)).id(t.ID).u32(t.CompletionID)
}
func promisePrefix(service, key string) []byte {
	return newKey(tablePromise).str(service).str(key)
}
func promiseKey(service, key, name string) []byte {
	return keyBuilder(promisePrefix(service, key)).raw([]byte(name))
}
func expiryKey(e Expiry) []byte {
	var j byte
	if e.JournalOnly {
		j = 1
	}
	return append(newKey(tableExpiry).u64(uint64(e.At)).id(e.ID), j)
}
func metaKey(name string) []byte { return newKey(tableMeta).raw([]byte(name)) }
