package remote

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/raftlog"
)

// refused stands for partition.RefusedError (this internal test does not import partition).
type refused struct {
	after   time.Duration
	unavail bool
}

func (r *refused) Error() string             { return "partition 4 refused" }
func (r *refused) RetryAfter() time.Duration { return r.after }
func (r *refused) Unavailable() bool         { return r.unavail }

// TestErrorKinds: every kind a Local's error can have survives encodeError and decodeError, and an
// error of no known kind keeps its text but no kind.
func TestErrorKinds(t *testing.T) {
	cases := []struct {
		err     error
		is      []error
		refused bool
		after   time.Duration
	}{
		{err: fmt.Errorf("wrapped: %w", &refused{after: 1500 * time.Millisecond}), is: []error{ErrOverloaded}, refused: true, after: 1500 * time.Millisecond},
		{err: &refused{after: 2 * time.Second, unavail: true}, is: []error{ErrUnavailable}, refused: true, after: 2 * time.Second},
		{err: fmt.Errorf("p 4: %w", ErrNotLeader), is: []error{ErrNotLeader}},
		{err: fmt.Errorf("p 4: %w: dropped", raftlog.ErrProposal), is: []error{raftlog.ErrProposal}},
		{err: fmt.Errorf("p 4: %w", context.DeadlineExceeded), is: []error{context.DeadlineExceeded}},
		{err: context.Canceled, is: []error{context.Canceled}},
		{err: fmt.Errorf("%w: decode command: eof", ErrBadRequest), is: []error{ErrBadRequest}},
		{err: errors.New("disk on fire")},
	}
	known := []error{ErrOverloaded, ErrUnavailable, ErrNotLeader, raftlog.ErrProposal, context.DeadlineExceeded, context.Canceled, ErrBadRequest}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			got := decodeError("node-b:7102", "call", encodeError(4, c.err))
			for _, k := range known {
				want := false
				for _, w := range c.is {
					want = want || w == k
				}
				if errors.Is(got, k) != want {
					t.Errorf("%v: errors.Is %v = %v, want %v", got, k, !want, want)
				}
			}
			var r *RefusedError
			if errors.As(got, &r) != c.refused {
				t.Fatalf("%v: refusal %v, want %v", got, !c.refused, c.refused)
			}
			if c.refused {
				if r.RetryAfter() != c.after || r.Partition != 4 || r.Node != "node-b:7102" || r.Error() != "partition 4 refused" {
					t.Errorf("refusal %+v, want partition 4, after %v, node-b:7102, the refusal's text", r, c.after)
				}
				return
			}
			var e *Error
			if !errors.As(got, &e) || e.Node != "node-b:7102" || e.Partition != 4 || e.Message != c.err.Error() {
				t.Errorf("%#v: want an *Error from node-b:7102 on partition 4 saying %q", got, c.err)
			}
		})
	}
}

// TestDecodeRejectsCorruptPayloads: a payload from another node that claims more than its bytes
// hold is a bad request, and decoding it allocates a bounded amount (msgpack v5.4.1 would allocate
// a claimed array length up front; it reads a claimed byte string in steps of 1 MB).
func TestDecodeRejectsCorruptPayloads(t *testing.T) {
	good, err := encode("invocation", &command.Invocation{Input: []byte("v"), Headers: []command.Header{{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{
		{0x81, 0xa1, 'h', 0xdd, 0x00, 0x10, 0x00, 0x00},         // headers: an array claiming 2^20 elements
		{0x81, 0xa2, 'i', 'n', 0xc6, 0x04, 0x00, 0x00, 0x00, 1}, // input: 64 MB claimed, one byte
		{0xdf, 0xff, 0xff, 0xff, 0xff},                          // a map claiming 2^32-1 entries
		good[:len(good)-1],                                      // truncated
		{},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var inv command.Invocation
		err := decode("invocation", data, &inv)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("decode %x: %v, want a bad request", data, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 { // bytes are read in 1 MB steps
			t.Errorf("decode %x allocated %d bytes", data, n)
		}
	}
	var inv command.Invocation
	if err := decode("invocation", good, &inv); err != nil || string(inv.Input) != "v" || len(inv.Headers) != 1 {
		t.Errorf("decode %x: %+v %v", good, inv, err)
	}
}
