package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/ids"
)

// Expiry is an entry of the expiry index: at At (ms since the epoch) the ended invocation ID is
// removed (or only its journal, JournalOnly). The leader's cleaner reads the index in time order
// up to its clock and proposes the removals; the index is what makes that cheap (no scan of the
// status table, nothing held in memory).
type Expiry struct {
	At          int64
	ID          ids.InvocationID
	JournalOnly bool
}

// PutExpiry adds e to the index.
func PutExpiry(w pebble.Writer, e Expiry) error { return w.Set(expiryKey(e), nil, nil) }

// DeleteExpiry removes e from the index.
func DeleteExpiry(w pebble.Writer, e Expiry) error { return w.Delete(expiryKey(e), nil) }

// HasExpiry reports whether e is in the index.
func HasExpiry(r pebble.Reader, e Expiry) (bool, error) {
	_, ok, err := getRaw(r, expiryKey(e))
	return ok, err
}

// DueExpiries lists up to limit entries due at now (At <= now), in time order.
func DueExpiries(r pebble.Reader, now int64, limit int) ([]Expiry, error) {
	var out []Expiry
	err := scan(r, []byte{tableExpiry}, func(k, _ []byte) (bool, error) {
		if len(k) != 1+8+ids.RawLength+1 {
			return false, fmt.Errorf("storage: expiry key %x has %d bytes", k, len(k))
		}
		at := int64(binary.BigEndian.Uint64(k[1:9]))
		if at > now {
			return false, nil
		}
		id, err := ids.FromBytes(k[9 : 9+ids.RawLength])
		if err != nil {
			return false, err
		}
		out = append(out, Expiry{At: at, ID: id, JournalOnly: k[len(k)-1] == 1})
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}
