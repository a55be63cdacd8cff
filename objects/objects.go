package objects

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/runtime/storage"
)

// ReadWriter is the batch the state machine applies a command in.
type ReadWriter interface {
	pebble.Reader
	pebble.Writer
}

// CheckAccess returns why an invocation of target may not use command type t (and the failure
// code), or "" when it may: state writes need an exclusive handler of a keyed service, state
// reads a keyed service.
func CheckAccess(target command.Target, t protocol.MessageType) (reason string, code uint16) {
	switch t {
	case protocol.SetStateCommandType, protocol.ClearStateCommandType, protocol.ClearAllStateCommandType:
		if !target.Exclusive() {
			return fmt.Sprintf("%s: handler %s/%s may not write state", t, target.Service, target.Handler), 400
		}
	case protocol.GetLazyStateCommandType, protocol.GetLazyStateKeysCommandType, protocol.GetEagerStateCommandType, protocol.GetEagerStateKeysCommandType:
		if !target.Keyed() {
			return fmt.Sprintf("%s: service %s has no state", t, target.Service), 400
		}
	}
	return "", 0
}

// Admit decides whether invocation id of the exclusive target may run now: it takes the key's
// lock when it is free (run true), else queues id in the key's inbox and returns its inbox
// sequence number. Targets that are not exclusive always run.
func Admit(rw ReadWriter, t command.Target, id ids.InvocationID) (run bool, inboxSeq uint64, err error) {
	if !t.Exclusive() {
		return true, 0, nil
	}
	_, locked, err := storage.Lock(rw, t.Service, t.Key)
	if err != nil {
		return false, 0, err
	}
	if !locked {
		return true, 0, storage.PutLock(rw, t.Service, t.Key, id)
	}
	seq, err := storage.NextCounter(rw, storage.MetaInboxSeq)
	if err != nil {
		return false, 0, err
	}
	return false, seq, storage.PushInbox(rw, t.Service, t.Key, seq, id)
}

// Release frees the lock an ended invocation id of t held, handing it to the first invocation
// waiting in the key's inbox: that one (ok true) must start now. Only the holder releases the
// lock: an invocation of t that never held it (one that ended while scheduled or inboxed) leaves
// it alone.
func Release(rw ReadWriter, t command.Target, id ids.InvocationID) (next ids.InvocationID, ok bool, err error) {
	if !t.Exclusive() {
		return ids.InvocationID{}, false, nil
	}
	holder, locked, err := storage.Lock(rw, t.Service, t.Key)
	if err != nil || !locked || holder != id {
		return ids.InvocationID{}, false, err
	}
	next, ok, err = storage.PopInbox(rw, rw, t.Service, t.Key)
	if err != nil {
		return ids.InvocationID{}, false, err
	}
	if !ok {
		return ids.InvocationID{}, false, storage.DeleteLock(rw, t.Service, t.Key)
	}
	return next, true, storage.PutLock(rw, t.Service, t.Key, next)
}

// Withdraw takes an invocation of t out of the key's inbox (it ended before it ran).
func Withdraw(w pebble.Writer, t command.Target, inboxSeq uint64) error {
	return storage.DeleteInbox(w, t.Service, t.Key, inboxSeq)
}

// Notification is a completion the state machine journals for the invocation that asked.
type Notification struct {
	Type         protocol.MessageType
	Message      proto.Message
	CompletionID uint32
}

// ApplyState carries out a K/V state command of an invocation of t (CheckAccess allowed it). A
// lazy read returns the notification that answers it; writes return nil. handled is false when
// msg is not a state command.
func ApplyState(rw ReadWriter, t command.Target, msg proto.Message) (n *Notification, handled bool, err error) {
	switch m := msg.(type) {
	case *pb.SetStateCommandMessage:
		return nil, true, storage.PutState(rw, t.Service, t.Key, m.Key, m.GetValue().GetContent())
	case *pb.ClearStateCommandMessage:
		return nil, true, storage.DeleteState(rw, t.Service, t.Key, m.Key)
	case *pb.ClearAllStateCommandMessage:
		return nil, true, storage.DeleteAllState(rw, t.Service, t.Key)
	case *pb.GetLazyStateCommandMessage:
		v, ok, err := storage.StateValue(rw, t.Service, t.Key, m.Key)
		if err != nil {
			return nil, true, err
		}
		c := &pb.GetLazyStateCompletionNotificationMessage{CompletionId: m.ResultCompletionId}
		if ok {
			c.Result = &pb.GetLazyStateCompletionNotificationMessage_Value{Value: &pb.Value{Content: v}}
		} else {
			c.Result = &pb.GetLazyStateCompletionNotificationMessage_Void{Void: &pb.Void{}}
		}
		return &Notification{protocol.GetLazyStateCompletionType, c, m.ResultCompletionId}, true, nil
	case *pb.GetLazyStateKeysCommandMessage:
		entries, err := storage.AllState(rw, t.Service, t.Key)
		if err != nil {
			return nil, true, err
		}
		keys := &pb.StateKeys{}
		for _, e := range entries {
			keys.Keys = append(keys.Keys, e.Key)
		}
		c := &pb.GetLazyStateKeysCompletionNotificationMessage{CompletionId: m.ResultCompletionId, StateKeys: keys}
		return &Notification{protocol.GetLazyStateKeysCompletionType, c, m.ResultCompletionId}, true, nil
	}
	return nil, false, nil
}

// StartState is the state an attempt of a keyed invocation starts with, given the key's state:
// all of it and partial false (eager, the default), or none and partial true when the service
// enables lazy state (the SDK then reads what it needs with GetLazyState commands).
func StartState(state []storage.StateEntry, lazy bool) (sent []storage.StateEntry, partial bool) {
	if lazy {
		return nil, true
	}
	return state, false
}

// StateVersion names the content of a key's state (entries ordered by key, as storage.AllState
// returns them): equal states have equal versions. A state patch with a version applies only
// while the state still has it. It is restate-server's StateMutationVersion (the official CLI's
// kv edit and kv clear compute it over the state they read): the SHA-256 of each entry's index
// (u64 big-endian), 0x01, key, 0x02, value, 0x03, in base64 URL-safe without padding.
func StateVersion(state []storage.StateEntry) string {
	h := sha256.New()
	for i, e := range state {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
		h.Write([]byte{0x01})
		h.Write(e.Key)
		h.Write([]byte{0x02})
		h.Write(e.Value)
		h.Write([]byte{0x03})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// legacyStateVersion is the version Resolute handed out before StateVersion took restate's:
// hex of the SHA-256 of length-prefixed entries. A state patch recorded in the log with one is
// still compared with it, so that applying the log again gives the same outcome.
func legacyStateVersion(state []storage.StateEntry) string {
	h := sha256.New()
	for _, e := range state {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(e.Key))))
		h.Write(e.Key)
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(e.Value))))
		h.Write(e.Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// versionOf is the version of state in the format of version (legacy: 64 hex digits).
func versionOf(state []storage.StateEntry, version string) string {
	if len(version) == 64 && isLowerHex(version) {
		return legacyStateVersion(state)
	}
	return StateVersion(state)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ReplaceState replaces the whole state of t's key with state, if version is empty or is the
// current state's version (applied false otherwise).
func ReplaceState(rw ReadWriter, t command.Target, state []command.StateEntry, version string) (applied bool, err error) {
	if version != "" {
		current, err := storage.AllState(rw, t.Service, t.Key)
		if err != nil {
			return false, err
		}
		if versionOf(current, version) != version {
			return false, nil
		}
	}
	if err := storage.DeleteAllState(rw, t.Service, t.Key); err != nil {
		return false, err
	}
	for _, e := range state {
		if err := storage.PutState(rw, t.Service, t.Key, e.Key, e.Value); err != nil {
			return false, err
		}
	}
	return true, nil
}
