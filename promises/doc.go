// Package promises owns awakeables and signals (and, later, durable promises): how an
// awakeable id names the invocation that waits on it, so that a resolution arriving at the ingress
// can be routed to the owning partition without any lookup.
//
// An awakeable id is, as the official SDKs and server write it (PROTOCOL.md §2.4):
//
//	"sign_1" + base64url, no padding, of (invocation id, 24 raw bytes ‖ signal index, u32 big-endian)
//
// The signal index is the one the SDK allocated for the awakeable (17 upwards; 1..16 are reserved,
// CANCEL is 1). Protocol V1–V4 SDKs wrote "prom_1" + the same encoding of (invocation id ‖ journal
// entry index); Parse still accepts that legacy form, as the official ingress does, and reports it
// in AwakeableID.Legacy. Like the official decoder, Parse accepts base64 padding but rejects
// non-canonical trailing bits, so every accepted id re-encodes to itself (padding trimmed).
//
// Errors read like the official ingress's: "bad awakeable id 'sign_1bogus': base64 decode error".
// (The official server reports "id doesn't match the expected type" for every undecodable sign_1
// id, because it falls back to the legacy parser and shows that parser's error; Parse names the
// actual problem, and the ingress words its 400 as the official server does.) Every parse error
// wraps ErrBadAwakeableID and one of the reason sentinels.
//
// Resolution, FromCompleteAwakeable and FromSendSignal turn an awakeable's resolution at the
// ingress and a handler's CompleteAwakeableCommand or SendSignalCommand into the command.Signal
// the partition state machine applies, and Notification is the SignalNotification it journals;
// the state machine keeps the bookkeeping (first signal wins, waking a suspension).
//
// The package is pure (no IO, no clock) and safe for concurrent use.
//
// Example:
//
//	s := promises.Encode(invocationID, 17) // "sign_1…", handed to the user by the SDK
//	a, err := promises.Parse(s)             // at the ingress, on /restate/awakeables/{id}/resolve
//	// a.Invocation routes the resolution; a.Index is the SignalNotification's idx.
package promises
