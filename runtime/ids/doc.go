// Package ids owns the identifiers that cross the wire: invocation ids (inv_…), deployment ids
// (dp_…) and partition keys. The string forms match the official Restate server, so ids printed by
// either can be pasted into the other's APIs.
//
// An invocation id is a partition key (u64) and a 128-bit UUID. Its string form is "inv_", the
// scheme version "1", 11 base62 characters of the partition key and 22 of the UUID, each integer
// being the id bytes read little-endian (as the Rust server does on x86).
//
// Everything here is pure: new random ids take their entropy as an argument, so the partition state
// machine can derive ids deterministically.
package ids
